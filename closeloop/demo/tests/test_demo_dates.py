"""Issue 10 item 12: the demo's dates agree with each other whatever day it is loaded on, and
every demo login is listed."""

import datetime as dt
import re
import zoneinfo
from pathlib import Path

import pytest
from django.utils import timezone

from closeloop.demo.loader import PEOPLE, load
from closeloop.demo_info import DEMO_USERS
from closeloop.insights import selectors as insights
from closeloop.insights.models import WeeklyReview
from closeloop.notify.models import Delivery, Notification
from closeloop.orgs.models import Department, User
from closeloop.tasks.models import Task
from closeloop.tracking import cadence

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2026, 11, 30, 9, 30, tzinfo=SH),  # Monday morning
        dt.datetime(2026, 11, 27, 18, 0, tzinfo=SH),  # Friday, after the review was posted
        dt.datetime(2026, 11, 26, 11, 0, tzinfo=SH),  # Thursday
        dt.datetime(2026, 11, 29, 20, 0, tzinfo=SH),  # Sunday evening
    ],
    ids=["monday", "friday-evening", "thursday", "sunday"],
)
def test_the_demos_dates_agree_with_each_other(db, monkeypatch, now):
    monkeypatch.setattr(timezone, "now", lambda: now.astimezone(dt.UTC))
    load()
    sales = Department.objects.get(code="SALES")
    head = User.objects.get(username="sales_head")
    today = now.date()

    # A task done last week is not in this week's 已完成.
    week = insights.weekly_review(head, sales, today, now=now)
    for t in week.completed:
        assert cadence.week_start(timezone.localtime(t.completed_at, SH).date()) == week.week_start, t.title
    done = Task.objects.filter(department=sales, status="done")
    assert done.exists()
    for t in done:
        day = timezone.localtime(t.completed_at, SH).date()
        assert day <= today and t.submitted_at <= t.completed_at <= now
        in_this_week = cadence.week_start(day) == week.week_start
        assert in_this_week == (t.pk in {x.pk for x in week.completed}), t.title

    # The weekly review was sent after its review day began, and not in the future; the
    # notifications about it say the same time.
    review = WeeklyReview.objects.get(department=sales, posted_at__isnull=False)
    review_day = cadence.review_day(review.week_start)
    assert timezone.localtime(review.posted_at, SH).date() >= review_day
    assert review.posted_at <= now
    for n in Notification.objects.filter(kind="weekly_review.ready"):
        assert n.created_at == review.posted_at
        assert n.read_at is None or n.read_at >= n.created_at
    for d in Delivery.objects.filter(kind="weekly_review.ready", sent_at__isnull=False):
        assert d.sent_at == review.posted_at

    # Tasks done on time count as on time.
    rates = {r.name: r for r in insights.dashboard(head, now=now).rates}
    assert rates, "the demo has completed tasks"
    for r in rates.values():
        assert r.on_time == r.done and r.on_time_original == r.done, r


def test_every_demo_login_is_listed_in_the_banner_and_the_readme():
    usernames = {p[0] for p in PEOPLE}
    assert usernames == {u for u, _label in DEMO_USERS}
    readme = (Path(__file__).resolve().parents[3] / "README.md").read_text(encoding="utf-8")
    listed = set(
        re.findall(r"`([a-z_]+)`", readme.split("Demo logins", 1)[1].split("`make test` runs", 1)[0])
    )
    assert usernames <= listed, usernames - listed
