"""Two people editing one retrospective: a later save from a form opened earlier no longer
silently overwrites the first save (a tester's finding: the head saved 做得好的 = "A", the
specialist then saved 待改进 = "B" on the form opened before, both read 复盘已保存 and "A" was
lost). The form carries the version it showed; a stale one is refused with a message saying
someone else saved meanwhile, the typed text kept and what is stored shown — as tasks do."""

import re

import pytest
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext

from closeloop.orgs.models import User
from closeloop.orgs.services import api_token_create
from closeloop.review.models import Retrospective
from closeloop.review.services import CheckIn, retrospective_write, submission_create, submission_review
from closeloop.review.tests.conftest import fresh
from closeloop.testing.clients import english_client

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    User.objects.filter(pk=user.pk).update(language="zh-hans")
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


@pytest.fixture
def done(measurable, member, head):
    sub = submission_create(actor=member, task=fresh(measurable), key_results="完成", confirm=True)
    submission_review(
        actor=head,
        submission=sub,
        checks=[CheckIn(c.pk, measured="99" if c.metric else None, passed=True) for c in sub.checks.all()],
    )
    return fresh(measurable)


def _form(page: str) -> dict:
    """The fields the retrospective form would post as shown (textareas and inputs)."""
    data = dict(re.findall(r'<textarea id="\w+" name="(\w+)"[^>]*>([^<]*)</textarea>', page))
    for name in ("tags", "minutes_link", "version"):
        m = re.search(rf'name="{name}"[^>]*value="([^"]*)"', page)
        data[name] = m.group(1) if m else ""
    return data


@pytest.mark.parametrize("existing", [False, True], ids=["first-write", "rewrite"])
def test_the_later_save_from_an_older_form_is_refused_and_the_first_kept(done, head, member, existing):
    if existing:
        retrospective_write(actor=member, task=done, what_worked="", to_improve="旧的")
    url = f"/tasks/{done.pk}/retrospective/"
    as_head, as_member = client_for(head), client_for(member)
    head_form = _form(as_head.get(url).content.decode())
    member_form = _form(as_member.get(url).content.decode())
    assert head_form["version"] == member_form["version"] == ("1" if existing else "0")

    r = as_head.post(url, {**head_form, "what_worked": "A"})
    assert r.status_code == 302
    r = as_member.post(url, {**member_form, "to_improve": "B"})

    assert r.status_code == 409
    page = r.content.decode()
    assert "已有其他人保存了修改" in page and "你输入的内容保留在下方" in page
    assert "复盘已保存" not in page
    # What the member typed is still in the form, now against the stored version; what the
    # head saved is shown above it, with a way to reload.
    again = _form(page)
    assert again["to_improve"] == "B" and again["version"] == ("2" if existing else "1")
    saved = page.split('id="saved-now"')[1].split("</section>")[0]
    assert "A" in saved and "张总" in saved or head.display_name in saved
    assert "重新加载" in saved and url in saved
    retro = Retrospective.objects.get(task=done)
    assert retro.what_worked == "A" and retro.to_improve == ("旧的" if existing else "")

    # Saving the merged text against the current version works.
    r = as_member.post(url, {**again, "what_worked": "A"})
    assert r.status_code == 302
    retro.refresh_from_db()
    assert (retro.what_worked, retro.to_improve) == ("A", "B")
    assert retro.version == (3 if existing else 2)


def test_the_message_reads_in_english(done, head, member):
    retrospective_write(actor=member, task=done, what_worked="x", to_improve="")
    r = english_client(head).post(
        f"/tasks/{done.pk}/retrospective/", {"what_worked": "mine", "to_improve": "", "version": "0"}
    )
    assert r.status_code == 409
    page = r.content.decode()
    assert "Someone else saved this retrospective after you opened it" in page
    assert "Saved now (by someone else)" in page and ">mine</textarea>" in page


def test_a_form_without_a_version_never_overwrites(done, head, member):
    retrospective_write(actor=member, task=done, what_worked="x", to_improve="")
    r = client_for(head).post(f"/tasks/{done.pk}/retrospective/", {"what_worked": "旧表单", "to_improve": ""})
    assert r.status_code == 409 and "旧表单" in r.content.decode()
    assert Retrospective.objects.get(task=done).what_worked == "x"


def test_the_page_queries_do_not_grow_with_the_conflict(done, head, member):
    url = f"/tasks/{done.pk}/retrospective/"
    retrospective_write(actor=member, task=done, what_worked="x", to_improve="")
    c = client_for(head)
    with CaptureQueriesContext(connection) as shown:
        assert c.get(url).status_code == 200
    retrospective_write(actor=member, task=done, what_worked="y", to_improve="", expected_version=1)
    with CaptureQueriesContext(connection) as refused:
        assert c.post(url, {"what_worked": "z", "to_improve": "", "version": "1"}).status_code == 409
    # The refused write reads the task and the row under lock, then the page shows the row.
    assert len(refused) <= len(shown) + 10


def test_the_api_requires_and_checks_the_version(client, done, head, member):
    url = f"/api/v1/tasks/{done.pk}/retrospective"
    User.objects.filter(pk=head.pk).update(language="en")
    _t, raw = api_token_create(actor=head, name="t")
    h = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "content_type": "application/json"}

    r = client.put(url, {"what_worked": "A"}, **h)
    assert r.status_code == 428 and r.json()["code"] == "version_required"
    assert not Retrospective.objects.exists()

    r = client.put(url, {"what_worked": "A", "version": 0}, **h)
    assert r.status_code == 200 and r.json()["version"] == 1
    assert client.get(url, HTTP_AUTHORIZATION=f"Bearer {raw}").json()["version"] == 1

    # Someone who read before that save (version 0) is refused; A stays.
    r = client.put(url, {"to_improve": "B", "version": 0}, **h)
    assert r.status_code == 409
    body = r.json()
    assert body["code"] == "version_conflict" and "Someone else saved" in body["message"]
    assert body["fields"]["version"] == ["It is at version 1; you sent 0."]
    assert Retrospective.objects.get(task=done).what_worked == "A"

    # If-Match works as for tasks; the current version saves.
    r = client.put(url, {"what_worked": "A", "to_improve": "B"}, HTTP_IF_MATCH='"1"', **h)
    assert r.status_code == 200 and r.json()["version"] == 2
    r = client.put(url, {"what_worked": "A", "version": 1}, HTTP_IF_MATCH='"2"', **h)
    assert r.status_code == 422
    (item,) = client.get("/api/v1/knowledge", HTTP_AUTHORIZATION=f"Bearer {raw}").json()["items"]
    assert item["version"] == 2
