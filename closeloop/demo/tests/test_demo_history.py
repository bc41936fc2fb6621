"""The demo's activity logs read like real work, whatever day it is loaded on: a task is
created on or before its start date and before anything else happens to it, nothing is
logged in the future, an update is logged on (or after) the day it reports, and progress
never goes back without a word of why (a tester read SALES-T004 "李娜创建了任务 11-24" with a
start date of 11-22, and its progress "0% → 70%", then "70% → 29%")."""

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone, translation

from closeloop.demo.loader import load
from closeloop.tasks.history import _event_names, describe_event
from closeloop.tasks.models import Task, TaskEvent

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def _day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment, SH).date()


@pytest.mark.parametrize(
    "now",
    [
        dt.datetime(2026, 11, 30, 9, 30, tzinfo=SH),  # Monday morning
        dt.datetime(2026, 12, 2, 9, 21, tzinfo=SH),  # the Wednesday the tester loaded it
    ],
    ids=["monday", "wednesday"],
)
def test_the_demos_history_reads_in_order(db, monkeypatch, tmp_path, settings, now):
    settings.MEDIA_ROOT = str(tmp_path)
    monkeypatch.setattr(timezone, "now", lambda: now.astimezone(dt.UTC))
    load()
    tasks = list(Task.objects.select_related("department"))
    assert tasks
    for task in tasks:
        events = list(TaskEvent.objects.filter(task=task).order_by("created_at", "id"))
        assert events and events[0].verb == "created", (task.full_code, [e.verb for e in events[:3]])
        created = events[0].created_at
        assert task.created_at <= created + dt.timedelta(seconds=1), task.full_code
        if task.start_date:
            assert _day(created) <= task.start_date, (task.full_code, _day(created), task.start_date)
        for e in events:
            assert e.created_at <= now, (task.full_code, e.verb, e.created_at)
            if e.verb == "progress_update":
                # Logged on the day it reports (or later, when filled in late).
                assert _day(e.created_at) >= dt.date.fromisoformat(e.after["day"]), (task.full_code, e.after)
        # Progress only goes up, or the log says why.
        for e in events:
            before, after = (e.before or {}).get("progress"), (e.after or {}).get("progress")
            if e.verb in ("updated", "progress_rolled_up") and before is not None and after is not None:
                assert after >= before or e.note, (task.full_code, e.verb, before, after)
        # Started after it was created, and not before its start date.
        for e in events:
            if e.verb == "status_changed" and e.after.get("status") == "in_progress" and task.start_date:
                if e.before.get("status") == "not_started":
                    assert _day(e.created_at) >= min(task.start_date, _day(now)), task.full_code

    # The tester's task, as the log reads it.
    t004 = Task.objects.get(department__code="SALES", code="T004")
    events = list(TaskEvent.objects.filter(task=t004).select_related("actor").order_by("created_at", "id"))
    names = _event_names(events)
    with translation.override("zh-hans"):
        lines = [(e.created_at, line) for e in events for line in describe_event(e, names)]
    assert lines[0][1] == "李娜创建了任务" and _day(lines[0][0]) <= t004.start_date
    percents = [e.after["progress"] for e in events if e.verb == "updated" and "progress" in e.after]
    assert percents == sorted(percents) and percents, percents
