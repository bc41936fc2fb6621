import datetime as dt

import pytest
from django.db import connection

from closeloop.notify.models import Notification
from closeloop.orgs.calendar import clear_cache, seed_from_package
from closeloop.tasks.models import Priority, Task
from closeloop.tasks.services import task_transition
from closeloop.testing.concurrency import run_in_threads
from closeloop.testing.factories import make_task
from closeloop.tracking.jobs import forecast_sweep, send_due_soon, send_update_reminders
from closeloop.tracking.models import TaskForecast
from closeloop.tracking.services import update_post
from closeloop.tracking.tests.conftest import at


@pytest.fixture
def holiday_2023(db):
    seed_from_package(years=[2023])
    yield
    clear_cache()


def _t002(head, member, sales, priority=Priority.HIGH, title="月度销售报表"):
    # The handbook's T002 is due on 2023-10-08, a make-up Sunday.
    t = make_task(
        actor=head,
        department=sales,
        owner=member,
        title=title,
        priority=priority,
        start_date=dt.date(2023, 9, 20),
        due=dt.date(2023, 10, 8),
    )
    return task_transition(actor=member, task=t, to="in_progress")


def reminders(member):
    return Notification.objects.filter(recipient=member, kind="update_reminder")


@pytest.mark.django_db
def test_it_reminds_at_end_of_day_on_working_days_only_across_a_holiday_week(
    holiday_2023, head, member, sales
):
    _t002(head, member, sales)
    assert send_update_reminders(at(2023, 9, 28, 17, 44)) == 0  # before 18:00 − 15 min
    assert send_update_reminders(at(2023, 9, 28, 17, 45)) == 1
    assert send_update_reminders(at(2023, 9, 29, 17, 50)) == 0  # 中秋节
    assert send_update_reminders(at(2023, 10, 2, 17, 50)) == 0  # 国庆节 holiday
    assert send_update_reminders(at(2023, 10, 7, 17, 50)) == 1  # make-up Saturday
    assert send_update_reminders(at(2023, 10, 8, 17, 50)) == 1  # make-up Sunday
    assert send_update_reminders(at(2023, 10, 8, 18, 30)) == 0  # run twice: once
    assert reminders(member).count() == 3
    assert reminders(member).first().data["tasks"][0]["code"] == "SALES-T001"


@pytest.mark.django_db
def test_it_does_not_remind_someone_who_posted_today(holiday_2023, head, member, sales):
    t = _t002(head, member, sales)
    update_post(actor=member, task=t, percent=50, now=at(2023, 10, 8, 17, 0))
    assert send_update_reminders(at(2023, 10, 8, 17, 50)) == 0
    assert not reminders(member).exists()


@pytest.mark.django_db
def test_weekly_cadence_is_owed_on_the_weeks_last_working_day(holiday_2023, head, member, sales):
    _t002(head, member, sales, priority=Priority.MEDIUM)
    assert send_update_reminders(at(2023, 10, 7, 17, 50)) == 0  # make-up Saturday is not the review day
    assert send_update_reminders(at(2023, 10, 8, 17, 50)) == 1  # the holiday week's last working day
    assert send_update_reminders(at(2023, 10, 11, 17, 50)) == 0  # Wednesday
    assert send_update_reminders(at(2023, 10, 13, 17, 50)) == 1  # Friday


@pytest.mark.django_db
def test_one_digest_per_person_lists_all_their_owed_updates(head, member, sales):
    for i in range(3):
        _t002(head, member, sales, title=f"任务{i}")
    assert send_update_reminders(at(2023, 9, 28, 17, 50)) == 1
    note = reminders(member).get()
    assert note.data["count"] == 3


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_remind_once(head, member, sales):
    for i in range(3):
        _t002(head, member, sales, title=f"任务{i}")
    run_in_threads(lambda _i: send_update_reminders(at(2023, 9, 28, 17, 50)))
    assert reminders(member).count() == 1


@pytest.mark.django_db
def test_it_warns_the_owner_the_morning_before_the_due_date_and_prompts_a_delay_warning(
    holiday_2023, head, member, sales
):
    t = _t002(head, member, sales)  # due make-up Sunday 10-08; the working day before is Saturday 10-07
    assert send_due_soon(at(2023, 10, 6, 9, 30)) == 0  # holiday
    assert send_due_soon(at(2023, 10, 7, 8, 59)) == 0  # before the working day starts
    assert send_due_soon(at(2023, 10, 7, 9, 0)) == 1
    assert send_due_soon(at(2023, 10, 7, 9, 5)) == 0
    note = Notification.objects.get(recipient=member, kind="due_soon")
    assert note.data["prompt_warning"] is True and f"/tasks/{t.pk}/delay-warnings/new/" in note.link


@pytest.mark.django_db
def test_the_sweep_marks_a_task_that_stopped_reporting(started, member):
    for day, pct in [(9, 30), (10, 35), (11, 40)]:
        update_post(actor=member, task=Task.objects.get(pk=started.pk), percent=pct, now=at(2026, 3, day))
    assert not TaskForecast.objects.get(task=started).at_risk
    forecast_sweep(at(2026, 3, 20))
    fc = TaskForecast.objects.get(task=started)
    assert fc.at_risk and fc.reason == "stalled"
    assert forecast_sweep(at(2026, 3, 20, 12)) == 0  # once a day


@pytest.mark.django_db
def test_the_tasks_copy_of_the_flag_says_what_the_forecast_says_after_every_writer(started, member, head):
    """仪表盘 counts and lists the tasks at risk by `Task.at_risk`: after an update, the sweep
    and the task's closing, it is the forecast's flag."""

    def flags():
        return Task.objects.get(pk=started.pk).at_risk, TaskForecast.objects.get(task=started).at_risk

    for day, pct in [(9, 30), (10, 35), (11, 40)]:
        update_post(actor=member, task=Task.objects.get(pk=started.pk), percent=pct, now=at(2026, 3, day))
    assert flags() == (False, False)
    forecast_sweep(at(2026, 3, 20))  # stopped reporting: stalled
    assert flags() == (True, True)
    # Behind: 10 % in three weeks of a month-long task, recomputed by the update itself.
    update_post(actor=member, task=Task.objects.get(pk=started.pk), percent=45, now=at(2026, 3, 21))
    assert flags() == (True, True)
    # Closed: the task is no longer at risk and has no forecast at all (closing drops it), and
    # the sweep brings neither back.
    t = task_transition(actor=member, task=Task.objects.get(pk=started.pk), to="submitted", note="完成")
    task_transition(actor=head, task=t, to="done", note="通过")
    assert not Task.objects.get(pk=started.pk).at_risk
    assert not TaskForecast.objects.filter(task=started).exists()
    forecast_sweep(at(2026, 3, 23))
    assert not Task.objects.get(pk=started.pk).at_risk
    assert not TaskForecast.objects.filter(task=started).exists()


@pytest.mark.django_db
def test_the_department_group_gets_one_reminder_mentioning_everyone_who_owes(
    holiday_2023, head, member, sales
):
    from closeloop.notify.models import Channel, Delivery

    robot = Channel.objects.create(
        name="销售部群",
        kind="wecom_robot",
        department=sales,
        url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    )
    _t002(head, member, sales)
    _t002(head, head, sales, title="区域销售数据复核")
    send_update_reminders(at(2023, 9, 28, 17, 50))
    send_update_reminders(at(2023, 9, 28, 17, 55))  # run twice: still one group message
    group = Delivery.objects.filter(channel=robot, kind="update_reminder")
    assert group.count() == 1
    assert set(group.get().mentions) == {member.pk, head.pk}
    assert group.get().recipient_id is None
    assert len(group.get().data["tasks"]) == 2
    # Each person still gets their own digest in the app, and no second in-app copy from the group post.
    assert reminders(member).count() == 1


@pytest.mark.django_db
def test_a_reminder_run_that_crashed_half_way_is_done_by_the_next_run_once(
    holiday_2023, head, member, sales, monkeypatch
):
    """Issue 11, item 8: the claim of (job, department, day) commits with the work, so a crash
    after the person's reminder was queued but before the group message neither loses the
    day's reminders nor sends the person's twice."""
    from closeloop.core.models import JobRun
    from closeloop.notify import services as notify_services
    from closeloop.notify.models import Channel, Delivery

    robot = Channel.objects.create(
        name="销售部群",
        kind="wecom_robot",
        department=sales,
        url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    )
    _t002(head, member, sales)
    real = notify_services.notify_group

    def crash(**kwargs):
        raise RuntimeError("worker died here")

    monkeypatch.setattr(notify_services, "notify_group", crash)
    assert send_update_reminders(at(2023, 9, 28, 17, 50)) == 0
    assert not reminders(member).exists()
    assert not JobRun.objects.filter(job="tracking.update_reminder", scope=str(sales.pk)).exists()

    monkeypatch.setattr(notify_services, "notify_group", real)
    assert send_update_reminders(at(2023, 9, 28, 17, 51)) == 1
    assert send_update_reminders(at(2023, 9, 28, 17, 52)) == 0
    assert reminders(member).count() == 1
    assert Delivery.objects.filter(channel=robot, kind="update_reminder").count() == 1
    run = JobRun.objects.get(job="tracking.update_reminder", scope=str(sales.pk))
    assert run.finished_at is not None


@pytest.mark.django_db
def test_a_crashed_due_soon_and_sweep_run_is_retried(holiday_2023, head, member, sales, monkeypatch):
    from closeloop.tracking import jobs

    t = _t002(head, member, sales)
    Task.objects.filter(pk=t.pk).update(due_date=dt.date(2023, 9, 29), original_due_date=dt.date(2023, 9, 29))

    def crash(*args, **kwargs):
        raise RuntimeError("worker died here")

    monkeypatch.setattr(jobs.notify_services, "notify_batch", crash)
    assert send_due_soon(at(2023, 9, 28, 10, 0)) == 0
    monkeypatch.undo()
    assert send_due_soon(at(2023, 9, 28, 10, 5)) == 1
    assert send_due_soon(at(2023, 9, 28, 10, 10)) == 0
    assert Notification.objects.filter(recipient=member, kind="due_soon").count() == 1


def test_claiming_a_slot_outside_the_works_transaction_is_refused(transactional_db):
    from closeloop.core.jobs import claim_slot

    with pytest.raises(RuntimeError):
        claim_slot(job="x", scope=1, slot="2023-09-28")


def _owing(head, sales, people):
    """One started high-priority task (daily updates) per person."""
    for p in people:
        t = make_task(
            actor=head,
            department=sales,
            owner=p,
            title=f"{p.name}的任务",
            priority=Priority.HIGH,
            start_date=dt.date(2026, 3, 2),
            due=dt.date(2026, 3, 31),
        )
        task_transition(actor=p, task=t, to="in_progress")


def _reminder_queries(now):
    from django.test.utils import CaptureQueriesContext

    with CaptureQueriesContext(connection) as ctx:
        reminded = send_update_reminders(now)
    return reminded, len(ctx.captured_queries)


@pytest.mark.django_db
def test_a_reminder_run_costs_the_same_queries_for_5_and_50_people(head, sales, marketing):
    """Issue 16, item 5: one claim statement and one batch of messages per department, not
    three queries and a notify() per person."""
    from closeloop.notify.models import Channel, Delivery, Preference
    from closeloop.testing.factories import add_people

    Channel.objects.create(name="mail", kind="email")
    Channel.objects.create(
        name="销售部群", kind="wecom_robot", department=sales, url="https://qyapi.weixin.qq.com/x?key=k"
    )
    people = add_people(sales, 50)
    Preference.objects.create(user=people[0], digest_minutes=30)
    _owing(head, sales, people[:5])
    five = _reminder_queries(at(2026, 3, 3, 17, 50))
    _owing(head, sales, people[5:])
    fifty = _reminder_queries(at(2026, 3, 4, 17, 50))
    assert five[0] == 5 and fifty[0] == 50
    # SQLite splits a bulk insert by its parameter limit: a few statements more at 50.
    assert fifty[1] - five[1] <= (4 if connection.vendor == "sqlite" else 0), (five, fifty)
    assert five[1] <= 28, five  # 3 departments: ~4 each, ~8 for the one that reminds, ~5 reads
    assert Notification.objects.filter(kind="update_reminder").count() == 55
    assert Delivery.objects.filter(channel__name="mail", kind="update_reminder").count() == 55
    group = Delivery.objects.filter(channel__name="销售部群").order_by("id").last()
    assert len(group.mentions) == 50 and group.data["count"] == 50
    assert _reminder_queries(at(2026, 3, 4, 17, 55)) == (0, 3)  # run twice: the day's slot is read once


@pytest.mark.django_db
def test_someone_owing_in_two_departments_gets_one_digest_listing_both(head, member, sales, marketing):
    from closeloop.testing.factories import add_member

    _t002(head, member, sales)
    add_member(member, marketing)  # and works in marketing too
    make = make_task(
        actor=member,
        department=marketing,
        owner=member,
        title="市场活动复盘",
        priority=Priority.HIGH,
        start_date=dt.date(2023, 9, 20),
        due=dt.date(2023, 10, 8),
    )
    task_transition(actor=member, task=make, to="in_progress")
    assert send_update_reminders(at(2023, 9, 28, 17, 50)) == 1
    note = reminders(member).get()
    assert note.data["count"] == 2


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_remind_many_people_once_each(head, sales):
    from closeloop.testing.factories import add_people

    people = add_people(sales, 12)
    _owing(head, sales, people)
    counts = run_in_threads(lambda _i: send_update_reminders(at(2026, 3, 3, 17, 50)))
    assert sorted(counts) == [0, 12]
    assert Notification.objects.filter(kind="update_reminder").count() == 12
