import datetime as dt

import pytest

from closeloop.core.errors import Conflict, NotAllowed, ValidationFailed
from closeloop.notify.models import Notification
from closeloop.tasks.models import TaskEvent
from closeloop.testing.factories import make_task
from closeloop.tracking.models import ProgressUpdate, TaskForecast
from closeloop.tracking.services import update_post
from closeloop.tracking.tests.conftest import at, fresh

pytestmark = pytest.mark.django_db


def test_it_records_todays_update_and_moves_the_task(started, member):
    update_post(actor=member, task=started, percent=30, note="名单已导出", now=at(2026, 3, 10))
    task = fresh(started)
    assert task.progress == 30
    u = ProgressUpdate.objects.get(task=task)
    assert (u.day, u.percent, u.late) == (dt.date(2026, 3, 10), 30, False)
    assert TaskEvent.objects.filter(task=task, verb="progress_update").count() == 1


def test_it_replaces_the_same_days_update(started, member):
    update_post(actor=member, task=started, percent=30, now=at(2026, 3, 10, 9))
    update_post(actor=member, task=fresh(started), percent=35, note="改", now=at(2026, 3, 10, 17))
    assert list(ProgressUpdate.objects.filter(task=started).values_list("percent", "note")) == [(35, "改")]
    assert fresh(started).progress == 35


def test_it_fills_in_a_missed_day_late_and_keeps_earlier_days_immutable(started, member):
    update_post(actor=member, task=started, percent=30, now=at(2026, 3, 9))
    update_post(actor=member, task=fresh(started), percent=50, now=at(2026, 3, 11))
    late = update_post(
        actor=member, task=fresh(started), percent=40, day=dt.date(2026, 3, 10), now=at(2026, 3, 11)
    )
    assert late.late
    assert fresh(started).progress == 50  # a late entry does not override the newer one
    with pytest.raises(Conflict):
        update_post(
            actor=member, task=fresh(started), percent=99, day=dt.date(2026, 3, 9), now=at(2026, 3, 11)
        )
    assert ProgressUpdate.objects.get(task=started, day=dt.date(2026, 3, 9)).percent == 30


def test_it_blocks_the_task_with_the_blocker_and_unblocks_it(started, member, head):
    update_post(actor=member, task=started, state="blocked", blocker="等市场部的名单", now=at(2026, 3, 10))
    assert fresh(started).status == "blocked"
    assert Notification.objects.filter(recipient=head, kind="task.blocked").exists()
    update_post(actor=member, task=fresh(started), state="in_progress", percent=40, now=at(2026, 3, 11))
    assert fresh(started).status == "in_progress"


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"percent": 101}, "percent"),
        ({"percent": -1}, "percent"),
        ({"state": "blocked", "blocker": "  "}, "blocker"),
        ({"percent": 10, "day": dt.date(2026, 3, 12)}, "day"),
    ],
)
def test_it_refuses_bad_input_and_changes_nothing(started, member, kwargs, field):
    with pytest.raises(ValidationFailed) as exc:
        update_post(actor=member, task=started, now=at(2026, 3, 10), **kwargs)
    assert field in exc.value.fields
    assert not ProgressUpdate.objects.exists()
    assert fresh(started).progress == 0 and fresh(started).status == "in_progress"


def test_it_refuses_a_percent_on_a_task_with_subtasks_and_rolls_up_from_them(started, member, head, sales):
    sub = make_task(
        actor=member,
        department=sales,
        owner=member,
        title="导出名单",
        parent=started,
        start_date=dt.date(2026, 3, 2),
        due=dt.date(2026, 3, 20),
    )
    with pytest.raises(ValidationFailed) as exc:
        update_post(actor=member, task=fresh(started), percent=50, now=at(2026, 3, 10))
    assert "percent" in exc.value.fields
    from closeloop.tasks.services import task_transition

    sub = task_transition(actor=member, task=sub, to="in_progress")
    update_post(actor=member, task=sub, percent=60, now=at(2026, 3, 10))
    assert fresh(started).progress == 60
    assert TaskEvent.objects.filter(task=started, verb="progress_rolled_up").exists()


def test_it_refuses_an_update_from_someone_who_does_not_own_the_task(started, head, outsider):
    for who in (head, outsider):
        with pytest.raises(NotAllowed):
            update_post(actor=who, task=started, percent=10, now=at(2026, 3, 10))
    assert not ProgressUpdate.objects.exists()


def test_it_keeps_the_forecast_current_as_updates_arrive(started, member):
    for day, pct in [(9, 10), (10, 12), (11, 14), (12, 16)]:
        update_post(actor=member, task=fresh(started), percent=pct, now=at(2026, 3, day))
    fc = TaskForecast.objects.get(task=started)
    assert fc.at_risk and fc.reason == "behind" and fc.forecast_date > dt.date(2026, 3, 31)
    for day, pct in [(13, 50), (14, 70), (15, 85), (16, 95)]:
        update_post(actor=member, task=fresh(started), percent=pct, now=at(2026, 3, day))
    fc.refresh_from_db()
    assert not fc.at_risk and fc.forecast_date < dt.date(2026, 3, 31)


def test_a_parents_update_reads_without_a_percent_in_the_activity(started, member, sales):
    from closeloop.tasks.history import describe_event

    make_task(
        actor=member,
        department=sales,
        owner=member,
        title="导出名单",
        parent=started,
        due=dt.date(2026, 3, 20),
    )
    update_post(actor=member, task=fresh(started), note="等待市场部确认名单", now=at(2026, 3, 10))
    event = TaskEvent.objects.get(task=started, verb="progress_update")
    (sentence,) = describe_event(event, {})
    assert "None" not in sentence and "%" not in sentence
    assert "2026-03-10" in sentence


def test_who_owes_todays_update_follows_the_latest_update_day(started, member, head, sales):
    """The owed list reads the task's copy of its latest update's day: a late fill-in of an
    earlier day leaves it at the newest, today's update takes the task off the list, and a
    task with a subtask never owes a percent of its own."""
    from closeloop.tracking.selectors import owed_tasks

    def owed(now):
        return [t.pk for t in owed_tasks(departments=[sales], now=now)]

    # Tuesday 2026-03-10: the high-priority task owes today's update.
    assert owed(at(2026, 3, 10)) == [started.pk]
    update_post(actor=member, task=started, percent=30, now=at(2026, 3, 10))
    assert fresh(started).last_update_day == dt.date(2026, 3, 10)
    assert owed(at(2026, 3, 10, 18)) == []
    # The next day it owes again; filling in a missed earlier day does not pay today's.
    update_post(actor=member, task=fresh(started), percent=50, now=at(2026, 3, 12))
    update_post(actor=member, task=fresh(started), percent=40, day=dt.date(2026, 3, 11), now=at(2026, 3, 12))
    assert fresh(started).last_update_day == dt.date(2026, 3, 12)
    assert owed(at(2026, 3, 13)) == [started.pk]
    # Given a subtask (not started yet), the parent owes nothing.
    make_task(
        actor=head, department=sales, owner=member, title="导出名单", parent=started, due=dt.date(2026, 3, 20)
    )
    assert owed(at(2026, 3, 13)) == []
