"""`closeloop create_token USERNAME` prints a token a script can use straight away."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from closeloop.orgs.models import ApiToken, User

pytestmark = pytest.mark.django_db


@pytest.fixture
def client():
    # Messages are asserted in English; without the header a token user gets their saved language.
    return Client(HTTP_ACCEPT_LANGUAGE="en")


def run(*args: str) -> str:
    out = StringIO()
    call_command("create_token", *args, stdout=out)
    return out.getvalue()


def test_it_prints_only_a_token_that_authenticates(client, member):
    out = run("sales_specialist", "--name", "nightly export")
    token = out.strip()
    assert out == token + "\n"  # nothing else on stdout, so $(closeloop create_token …) works
    assert " " not in token
    response = client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {token}")
    assert response.status_code == 200
    assert response.json()["username"] == "sales_specialist"
    stored = ApiToken.objects.get(user=member)
    assert stored.name == "nightly export"
    assert token not in (stored.key_hash, stored.prefix)  # only the hash is kept


def test_it_names_the_token_by_default(member):
    run("sales_specialist")
    assert ApiToken.objects.get(user=member).name == "command line"


def test_it_refuses_an_unknown_person(db):
    with pytest.raises(CommandError, match="nobody"):
        run("nobody")
    assert not ApiToken.objects.exists()


def test_it_refuses_a_deactivated_person(member):
    User.objects.filter(pk=member.pk).update(is_active=False)
    with pytest.raises(CommandError, match="deactivated"):
        run("sales_specialist")
    assert not ApiToken.objects.exists()


def console(monkeypatch, *args: str) -> int:
    """Run `closeloop …` as the console script does (argv, exit code), in this process so it
    uses the test database."""
    from closeloop.manage import main

    monkeypatch.setattr("sys.argv", ["closeloop", *args])
    # The console closes its connections when done; the test's transaction must stay open.
    monkeypatch.setattr("django.db.connections.close_all", lambda: None)
    try:
        main()
    except SystemExit as exc:
        return int(exc.code or 0)
    return 0


def test_it_exits_non_zero_from_the_console_for_an_unknown_person(db, monkeypatch, capsys):
    assert console(monkeypatch, "create_token", "nobody") != 0
    captured = capsys.readouterr()
    assert "nobody" in captured.err
    assert captured.out == ""


def test_it_prints_just_the_token_from_the_console(client, member, monkeypatch, capsys):
    assert console(monkeypatch, "create_token", "sales_specialist") == 0
    out = capsys.readouterr().out
    assert len(out.splitlines()) == 1
    assert client.get("/api/v1/me", HTTP_AUTHORIZATION=f"Bearer {out.strip()}").status_code == 200
