"""Issue 10 item 9: the update form opens filled in, a second save the same day keeps what it
does not change, an empty submit is refused, and dates that are probably wrong get a warning."""

import datetime as dt

import pytest
from django.utils import timezone

from closeloop.core.errors import ValidationFailed
from closeloop.orgs.calendar import next_workday
from closeloop.tasks.models import Task
from closeloop.testing.clients import english_client
from closeloop.tracking.models import ProgressUpdate
from closeloop.tracking.services import update_post
from closeloop.tracking.tests.conftest import at, fresh
from closeloop.tracking.tests.test_web_api import auth, live  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db


def test_saving_again_the_same_day_keeps_the_blocker_and_the_note(started, member):
    update_post(
        actor=member, task=started, state="blocked", blocker="等财务数据", note="已催", now=at(2026, 3, 10, 9)
    )
    update_post(actor=member, task=fresh(started), percent=45, now=at(2026, 3, 10, 17))
    u = ProgressUpdate.objects.get(task=started)
    assert (u.percent, u.state, u.blocker, u.note) == (45, "blocked", "等财务数据", "已催")
    assert fresh(started).status == "blocked"
    # Changing them on purpose still works: unblocking drops the old blocker, a new note replaces.
    update_post(
        actor=member, task=fresh(started), state="in_progress", note="数据到了", now=at(2026, 3, 10, 18)
    )
    u.refresh_from_db()
    assert (u.percent, u.state, u.blocker, u.note) == (45, "in_progress", "", "数据到了")


def test_an_empty_update_is_refused_not_stored_as_zero(started, member):
    for kwargs in ({}, {"note": "  "}, {"state": "in_progress", "blocker": "", "note": ""}):
        with pytest.raises(ValidationFailed) as exc:
            update_post(actor=member, task=started, now=at(2026, 3, 10), **kwargs)
        assert "percent" in exc.value.fields
    assert not ProgressUpdate.objects.exists()
    # A note alone is an update (the percent carries over).
    u = update_post(actor=member, task=started, note="约了客户", now=at(2026, 3, 10))
    assert u.percent == 0 and u.note == "约了客户"


def test_the_form_opens_with_todays_entry_or_the_last_values(client, member, live):  # noqa: F811
    t = live[0]
    c = english_client(member)
    form = c.get(f"/tasks/{t.pk}/updates/").context["form"]
    assert form.initial["percent"] == 0 and form.initial["note"] == ""
    yesterday = timezone.localdate() - dt.timedelta(days=1)
    update_post(actor=member, task=fresh(t), percent=30, note="昨天的", day=yesterday)
    form = c.get(f"/tasks/{t.pk}/updates/").context["form"]
    assert form.initial["percent"] == 30 and form.initial["note"] == ""
    update_post(actor=member, task=fresh(t), state="blocked", blocker="等法务", note="今天的", percent=35)
    html = c.get(f"/tasks/{t.pk}/updates/").content.decode()
    assert 'value="35"' in html and 'value="等法务"' in html and "今天的" in html
    # An empty web submit is refused with the reason, nothing stored.
    r = c.post(f"/tasks/{t.pk}/updates/", {"state": "in_progress", "percent": "", "blocker": "", "note": ""})
    assert r.status_code == 302  # clearing today's blocker and note is a change
    r = c.post(
        f"/tasks/{live[1].pk}/updates/", {"state": "in_progress", "percent": "", "blocker": "", "note": ""}
    )
    assert r.status_code == 422 and "Give the progress" in r.content.decode()
    assert not ProgressUpdate.objects.filter(task=live[1]).exists()


def test_the_api_keeps_what_it_is_not_sent_and_refuses_an_empty_update(client, member, live):  # noqa: F811
    t = live[0]
    url = f"/api/v1/tasks/{t.pk}/updates"
    r = client.post(url, {}, content_type="application/json", **auth(member))
    assert r.status_code in (400, 422) and "percent" in r.json()["fields"]
    client.post(
        url,
        {"state": "blocked", "blocker": "等IT", "note": "n"},
        content_type="application/json",
        **auth(member),
    )
    r = client.post(url, {"percent": 20}, content_type="application/json", **auth(member))
    assert r.status_code == 201
    assert (r.json()["blocker"], r.json()["note"], r.json()["state"]) == ("等IT", "n", "blocked")


def test_an_update_on_a_task_past_its_due_date_gets_a_warning(client, member, live):  # noqa: F811
    t = live[0]
    Task.objects.filter(pk=t.pk).update(due_date=timezone.localdate() - dt.timedelta(days=2))
    r = client.post(
        f"/api/v1/tasks/{t.pk}/updates", {"percent": 50}, content_type="application/json", **auth(member)
    )
    assert r.status_code == 201 and "overdue" in r.json()["warnings"][0]
    page = english_client(member).post(
        f"/tasks/{t.pk}/updates/", {"state": "in_progress", "percent": "60"}, follow=True
    )
    assert "raise a delay warning" in page.content.decode()
    on_time = client.post(
        f"/api/v1/tasks/{live[1].pk}/updates", {"percent": 5}, content_type="application/json", **auth(member)
    )
    assert on_time.json()["warnings"] == []


def test_a_delay_warnings_new_date_on_a_day_off_gets_a_warning(client, member, live):  # noqa: F811
    t = live[0]
    day = t.due_date + dt.timedelta(days=1)
    while day.weekday() != 5:
        day += dt.timedelta(days=1)
    r = client.post(
        f"/api/v1/tasks/{t.pk}/delay-warnings",
        {"reason": "dependency", "explanation": "等接口", "new_due_date": day.isoformat()},
        content_type="application/json",
        **auth(member),
    )
    assert r.status_code == 201 and day.isoformat() in r.json()["warnings"][0]
    workday = next_workday(day)
    page = english_client(member).post(
        f"/tasks/{live[1].pk}/delay-warnings/new/",
        {"reason": "dependency", "explanation": "等接口", "new_due_date": workday.isoformat()},
        follow=True,
    )
    html = page.content.decode()
    assert "Delay warning sent" in html and "day off" not in html and "weekend" not in html


def test_new_years_day_is_named_as_a_day_off(db):
    from closeloop.tracking.services import day_off_warnings

    assert "元旦" in day_off_warnings(dt.date(2027, 1, 1))[0]
    assert day_off_warnings(dt.date(2027, 1, 4)) == []


def test_a_day_or_new_due_date_that_is_no_date_is_named_with_the_format(started, member):
    """2026-13-45 in the update's day or the warning's new due date: the page and the API say
    which date is not a date and how to write it; nothing is stored."""
    c = english_client(member)
    body = c.post(
        f"/tasks/{started.pk}/updates/", {"percent": 10, "state": "in_progress", "day": "2026-13-45"}
    )
    assert body.status_code == 422
    assert "Day: “2026-13-45” is not a valid date; write it as YYYY-MM-DD." in body.content.decode()
    body = c.post(
        f"/tasks/{started.pk}/delay-warnings/new/",
        {"reason": "other", "explanation": "客户延期", "new_due_date": "2026-13-45"},
    )
    assert body.status_code == 422
    assert "New due date: “2026-13-45” is not a valid date; write it as YYYY-MM-DD." in body.content.decode()
    r = c.post(
        f"/api/v1/tasks/{started.pk}/delay-warnings",
        {"reason": "other", "explanation": "客户延期", "new_due_date": "2026-13-45"},
        content_type="application/json",
    )
    assert r.status_code == 422
    assert r.json()["fields"] == {"new_due_date": ["Not a valid date; write it as YYYY-MM-DD."]}
    assert not ProgressUpdate.objects.exists() and not started.delay_warnings.exists()
