"""Two people writing one week's meeting notes (周复盘 会议纪要): a later save from a page
loaded earlier no longer silently overwrites notes saved meanwhile. The form carries the
version it showed; a stale one is refused with a message saying someone else saved, the typed
notes kept and the stored ones shown — as the task forms do."""

import re
from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.insights.models import WeeklyReview
from closeloop.insights.services import weekly_review_ready
from closeloop.orgs.models import User
from closeloop.orgs.services import api_token_create
from closeloop.testing.clients import english_client

pytestmark = pytest.mark.django_db


def client_for(user) -> Client:
    User.objects.filter(pk=user.pk).update(language="zh-hans")
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


def _form(page: str) -> dict:
    form = page.split('action="/weekly-review/notes/"')[1].split("</form>")[0]
    data = dict(re.findall(r'<input type="hidden" name="(\w+)" value="([^"]*)"', form))
    data["notes"] = re.search(r"<textarea name=\"notes\"[^>]*>([^<]*)</textarea>", form).group(1)
    return data


@pytest.mark.parametrize("made_ready", [False, True], ids=["no-row", "row-made-ready"])
def test_the_later_save_from_an_older_page_is_refused_and_the_first_kept(head, member, sales, made_ready):
    url = f"/weekly-review/?department={sales.pk}"
    as_head, as_member = client_for(head), client_for(member)
    head_form = _form(as_head.get(url).content.decode())
    member_form = _form(as_member.get(url).content.decode())
    if made_ready:  # the job making the review ready in between is nobody's save
        today = sales.local_today()
        monday = today - timedelta(days=today.weekday())
        weekly_review_ready(department=sales, week_start=monday, now=timezone.now())
        assert WeeklyReview.objects.get(department=sales).ready_at is not None
    assert head_form["version"] == member_form["version"] == "1"

    r = as_head.post("/weekly-review/notes/", {**head_form, "notes": "A"})
    assert r.status_code == 302
    r = as_member.post("/weekly-review/notes/", {**member_form, "notes": "B"})

    assert r.status_code == 409
    page = r.content.decode()
    assert "已有其他人保存了会议纪要" in page and "会议纪要已保存" not in page
    again = _form(page)
    assert again["notes"] == "B" and again["version"] == "2"
    saved = page.split('id="notes-saved-now"')[1].split("<form")[0]
    assert ">A</div>" in saved and head.display_name in saved and "重新加载" in saved
    assert WeeklyReview.objects.get(department=sales).notes == "A"

    # Saving against the current version works.
    r = as_member.post("/weekly-review/notes/", {**again, "notes": "A\nB"})
    assert r.status_code == 302
    review = WeeklyReview.objects.get(department=sales)
    assert review.notes == "A\nB" and review.notes_by == member and review.version == 3


def test_the_message_reads_in_english_and_too_long_notes_are_kept(head, member, sales):
    week = timezone.localdate().isoformat()
    c = english_client(head)
    c.post("/weekly-review/notes/", {"department": sales.pk, "week": week, "notes": "x", "version": "1"})
    r = c.post(
        "/weekly-review/notes/", {"department": sales.pk, "week": week, "notes": "mine", "version": "1"}
    )
    assert r.status_code == 409
    page = r.content.decode()
    assert "Someone else saved these meeting notes after you opened the page" in page
    assert "Saved now (by someone else)" in page and ">mine</textarea>" in page
    r = c.post(
        "/weekly-review/notes/", {"department": sales.pk, "week": week, "notes": "y" * 20001, "version": "2"}
    )
    assert r.status_code == 422 and "y" * 20001 in r.content.decode()
    assert WeeklyReview.objects.get(department=sales).notes == "x"


def test_the_api_requires_and_checks_the_version(client, head, member, sales):
    User.objects.filter(pk=head.pk).update(language="en")
    _t, raw = api_token_create(actor=head, name="t")
    h = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "content_type": "application/json"}
    week = timezone.localdate().isoformat()
    body = {"department": sales.pk, "week": week, "notes": "A"}
    got = client.get("/api/v1/weekly-reviews", {"department": sales.pk}, HTTP_AUTHORIZATION=f"Bearer {raw}")
    assert got.json()["notes_version"] == 1

    r = client.put("/api/v1/weekly-reviews/notes", body, **h)
    assert r.status_code == 428 and r.json()["code"] == "version_required"
    r = client.put("/api/v1/weekly-reviews/notes", {**body, "version": 1}, **h)
    assert r.status_code == 200 and r.json()["notes_version"] == 2

    r = client.put("/api/v1/weekly-reviews/notes", {**body, "notes": "B", "version": 1}, **h)
    assert r.status_code == 409 and r.json()["code"] == "version_conflict"
    assert "Someone else saved" in r.json()["message"]
    assert WeeklyReview.objects.get(department=sales).notes == "A"
    r = client.put("/api/v1/weekly-reviews/notes", {**body, "notes": "B"}, HTTP_IF_MATCH='"2"', **h)
    assert r.status_code == 200 and r.json()["notes"] == "B"
