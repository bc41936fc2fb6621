"""Log in, remember me, password change and reset, profile, API tokens, language."""

from django.conf import settings
from django.core import mail
from django.urls import reverse

from closeloop.orgs.models import ApiToken, User
from closeloop.orgs.services import api_token_create

PASSWORD = "pw-closeloop-1"


def test_it_sends_anonymous_visitors_from_home_to_login(client, db):
    response = client.get("/")
    assert response.status_code == 302
    assert response["Location"].startswith("/login/")


def test_it_logs_in_for_thirty_days_with_remember_me(client, member):
    response = client.post(
        "/login/", {"username": member.username, "password": PASSWORD, "remember_me": "on"}
    )
    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.session.get_expire_at_browser_close() is False
    assert client.session.get_expiry_age() == settings.REMEMBER_ME_AGE
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == settings.REMEMBER_ME_AGE


def test_it_ends_the_session_with_the_browser_without_remember_me(client, member):
    response = client.post("/login/", {"username": member.username, "password": PASSWORD})
    assert response.status_code == 302
    assert client.session.get_expire_at_browser_close() is True
    assert client.cookies[settings.SESSION_COOKIE_NAME]["max-age"] == ""


def test_it_refuses_a_wrong_password_and_keeps_the_username(client, member):
    response = client.post("/login/", {"username": member.username, "password": "nope"})
    assert response.status_code == 200
    assert "_auth_user_id" not in client.session
    assert member.username in response.content.decode()


def test_it_follows_next_after_login(client, member, task):
    response = client.post(
        f"/login/?next=/tasks/{task.pk}/",
        {"username": member.username, "password": PASSWORD, "next": f"/tasks/{task.pk}/"},
    )
    assert response["Location"] == f"/tasks/{task.pk}/"


def test_it_logs_out_on_post(client, member):
    client.force_login(member)
    response = client.post("/logout/")
    assert response.status_code == 302
    assert "_auth_user_id" not in client.session
    assert client.get("/").status_code == 302


def test_it_changes_the_password(client, member):
    client.force_login(member)
    assert client.get("/password/change/").status_code == 200
    response = client.post(
        "/password/change/",
        {
            "old_password": PASSWORD,
            "new_password1": "a-much-better-Secret-42",
            "new_password2": "a-much-better-Secret-42",
        },
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password("a-much-better-Secret-42")


def test_it_shows_password_change_errors_on_the_field(client, member):
    client.force_login(member)
    response = client.post(
        "/password/change/", {"old_password": "wrong", "new_password1": "x", "new_password2": "x"}
    )
    assert response.status_code == 200
    assert "field--error" in response.content.decode()
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_it_mails_a_password_reset_link_that_sets_a_new_password(client, member):
    response = client.post("/password/reset/", {"email": member.email})
    assert response.status_code == 302
    assert len(mail.outbox) == 1
    link = next(line for line in mail.outbox[0].body.splitlines() if "/password/reset/" in line)
    path = link.split("testserver", 1)[1].strip()
    response = client.get(path, follow=True)
    assert response.status_code == 200
    form_url = response.redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": "Reset-Secret-9876", "new_password2": "Reset-Secret-9876"}
    )
    assert response.status_code == 302
    member.refresh_from_db()
    assert member.check_password("Reset-Secret-9876")


def test_it_creates_a_token_and_shows_the_secret_once(client, member):
    client.force_login(member)
    response = client.post(reverse("profile_token_create"), {"name": "weekly export"})
    assert response.status_code == 200
    token = ApiToken.objects.get(user=member)
    body = response.content.decode()
    secret = body.split('id="new-secret">', 1)[1].split("<", 1)[0]
    assert secret.startswith(token.prefix)
    # The secret is not on the page again.
    again = client.get(reverse("profile")).content.decode()
    assert secret not in again
    assert "weekly export" in again and token.prefix in again


def test_it_asks_for_a_token_name(client, member):
    client.force_login(member)
    response = client.post(reverse("profile_token_create"), {"name": ""})
    assert response.status_code == 422
    assert not ApiToken.objects.filter(user=member).exists()


def test_it_revokes_my_token(client, member):
    token, _ = api_token_create(actor=member, name="nightly-sync")
    client.force_login(member)
    response = client.post(reverse("profile_token_revoke", args=[token.pk]))
    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None


def test_it_answers_404_when_revoking_someone_elses_token(client, member, outsider):
    token, _ = api_token_create(actor=member, name="nightly-sync")
    client.force_login(outsider)
    response = client.post(reverse("profile_token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None
    # And the outsider's profile does not list it.
    assert "nightly-sync" not in client.get(reverse("profile")).content.decode()


def test_it_saves_language_and_time_zone_on_the_profile(client, member):
    client.force_login(member)
    response = client.post(reverse("profile"), {"language": "en", "time_zone": "Europe/Berlin"})
    assert response.status_code == 302
    member.refresh_from_db()
    assert (member.language, member.time_zone) == ("en", "Europe/Berlin")


def test_it_rejects_an_unknown_time_zone(client, member):
    client.force_login(member)
    response = client.post(reverse("profile"), {"language": "en", "time_zone": "Mars/Olympus"})
    assert response.status_code == 422
    member.refresh_from_db()
    assert member.time_zone == "Asia/Shanghai"


def test_it_switches_language_and_saves_it_on_the_person(client, member):
    client.force_login(member)
    response = client.post(reverse("language_switch"), {"language": "en", "next": "/tasks/"})
    assert response.status_code == 302
    assert response["Location"] == "/tasks/"
    member.refresh_from_db()
    assert member.language == "en"
    page = client.get("/tasks/").content.decode()
    assert "My work" in page and "Knowledge base" in page
    client.post(reverse("language_switch"), {"language": "zh-hans", "next": "/"})
    assert User.objects.get(pk=member.pk).language == "zh-hans"


def test_it_switches_language_for_anonymous_visitors_by_cookie(client, db):
    response = client.post(reverse("language_switch"), {"language": "en", "next": "/login/"})
    assert response.status_code == 302
    assert client.cookies[settings.LANGUAGE_COOKIE_NAME].value == "en"
    assert "Log in" in client.get("/login/").content.decode()


def test_the_profile_lists_only_my_tokens_newest_first(client, member, head):
    import datetime as dt

    from django.utils import timezone

    from closeloop.orgs.services import api_token_revoke

    made = {}
    for i, name in enumerate(["旧脚本", "报表同步", "新脚本"]):
        token, _secret = api_token_create(actor=member, name=name)
        ApiToken.objects.filter(pk=token.pk).update(created_at=timezone.now() - dt.timedelta(days=10 - i))
        made[name] = token
    api_token_revoke(actor=member, token_id=made["报表同步"].pk)
    api_token_create(actor=head, name="别人的令牌")
    client.force_login(member)
    html = client.get(reverse("profile")).content.decode()
    assert [n for n in ("新脚本", "旧脚本", "报表同步", "别人的令牌") if n in html] == [
        "新脚本",
        "旧脚本",
        "报表同步",
    ]
    # Live ones newest first. (Where the revoked one goes differs: ORDER BY revoked_at puts
    # NULL first on SQLite, last on PostgreSQL.)
    assert html.index("新脚本") < html.index("旧脚本")
