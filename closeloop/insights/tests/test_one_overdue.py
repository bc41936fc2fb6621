"""Issue 10 item 6: overdue is one answer for everyone — decided on the task's department
calendar date, not the viewer's time zone."""

import datetime as dt

import pytest
from django.utils import timezone

from closeloop.insights import selectors
from closeloop.orgs.models import User
from closeloop.orgs.services import api_token_create
from closeloop.tasks.models import Task
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

# 18:00 UTC on Dec 1: already Dec 2 in Shanghai (the department), still Dec 1 in Los Angeles.
NOW = dt.datetime(2026, 12, 1, 18, 0, tzinfo=dt.UTC)


@pytest.fixture
def due_yesterday_in_shanghai(head, member, sales, monkeypatch):
    task = make_task(
        actor=head, department=sales, owner=member, title="编写销售周报", due=dt.date(2026, 12, 20)
    )
    Task.objects.filter(pk=task.pk).update(due_date=dt.date(2026, 12, 1))
    User.objects.filter(pk=member.pk).update(time_zone="America/Los_Angeles")
    User.objects.filter(pk=head.pk).update(time_zone="Asia/Shanghai")
    monkeypatch.setattr(timezone, "now", lambda: NOW)
    return task


def api_get(user, url):
    from django.test import Client

    _token, raw = api_token_create(actor=user, name="tests")
    return Client(HTTP_ACCEPT_LANGUAGE="en").get(url, HTTP_AUTHORIZATION=f"Bearer {raw}")


def test_the_owner_in_los_angeles_and_the_head_in_shanghai_get_the_same_overdue_in_the_api(
    due_yesterday_in_shanghai, head, member
):
    task = due_yesterday_in_shanghai
    for who in (member, head):
        assert api_get(who, f"/api/v1/tasks/{task.pk}").json()["overdue"] is True
        items = api_get(who, "/api/v1/tasks").json()["items"]
        assert [i["overdue"] for i in items if i["id"] == task.pk] == [True]
        overdue_only = api_get(who, "/api/v1/tasks?overdue=true").json()["items"]
        assert task.pk in [i["id"] for i in overdue_only], who


def test_the_owner_in_los_angeles_sees_it_overdue_not_due_today_on_the_pages(
    due_yesterday_in_shanghai, head, member
):
    task = due_yesterday_in_shanghai
    for who in (member, head):
        c = english_client(who)
        page = c.get(f"/tasks/{task.pk}/").content.decode()
        assert 'class="flag-overdue"' in page, who
        home = c.get("/").context["work"]
        if who == member:
            assert [t.pk for t in home.overdue] == [task.pk] and home.today == []


def test_the_dashboard_counts_overdue_on_the_departments_date(due_yesterday_in_shanghai, head, sales):
    from django.utils import timezone as tz

    with tz.override("America/Los_Angeles"):
        d = selectors.dashboard(head, now=NOW)
    assert d.today == dt.date(2026, 12, 2)
    assert d.counts["overdue"] == 1
