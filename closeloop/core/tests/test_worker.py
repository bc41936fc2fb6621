import datetime as dt
import threading
import zoneinfo

import pytest
from django.db import connection

from closeloop.core.jobs import claim_slot
from closeloop.core.models import JobRun, WorkerHeartbeat
from closeloop.core.worker import Worker, run_jobs_once
from closeloop.notify.models import Notification
from closeloop.tasks.jobs import mark_overdue
from closeloop.tasks.models import Task, TaskEvent
from closeloop.testing.concurrency import run_in_threads

SH = zoneinfo.ZoneInfo("Asia/Shanghai")


def _due(task, day):
    Task.objects.filter(pk=task.pk).update(due_date=day, original_due_date=day)


def test_a_periodic_slot_is_claimed_once(db):
    assert claim_slot(job="reminders", scope=3, slot="2026-11-27") is not None
    assert claim_slot(job="reminders", scope=3, slot="2026-11-27") is None
    assert claim_slot(job="reminders", scope=4, slot="2026-11-27") is not None
    assert JobRun.objects.count() == 2


def test_a_task_becomes_overdue_at_the_departments_midnight_once(task, member):
    _due(task, dt.date(2026, 11, 27))
    before_midnight = dt.datetime(2026, 11, 27, 23, 59, tzinfo=SH)
    after_midnight = dt.datetime(2026, 11, 28, 0, 1, tzinfo=SH)
    assert mark_overdue(before_midnight) == 0
    assert mark_overdue(after_midnight) == 1
    assert mark_overdue(after_midnight) == 0  # run twice: still one event
    assert run_jobs_once(after_midnight, worker_id="w2") == 0
    events = TaskEvent.objects.filter(task=task, verb="became_overdue")
    assert events.count() == 1 and events.get().after == {"due_date": "2026-11-27"}
    assert Notification.objects.filter(recipient=member, kind="task.overdue").count() == 1


def test_a_department_in_another_time_zone_uses_its_own_midnight(task, sales):
    sales.time_zone = "Europe/London"
    sales.save(update_fields=["time_zone"])
    _due(task, dt.date(2026, 11, 27))
    # 07:30 on the 28th in Shanghai is still the 27th in London.
    assert mark_overdue(dt.datetime(2026, 11, 28, 7, 30, tzinfo=SH)) == 0
    assert mark_overdue(dt.datetime(2026, 11, 28, 8, 30, tzinfo=SH)) == 1


def test_a_moved_due_date_that_is_missed_again_is_marked_again(task):
    _due(task, dt.date(2026, 11, 20))
    assert mark_overdue(dt.datetime(2026, 11, 21, 9, tzinfo=SH)) == 1
    _due(task, dt.date(2026, 11, 25))
    assert mark_overdue(dt.datetime(2026, 11, 26, 9, tzinfo=SH)) == 1
    assert TaskEvent.objects.filter(task=task, verb="became_overdue").count() == 2


def test_done_and_cancelled_tasks_are_never_overdue(task):
    _due(task, dt.date(2026, 11, 20))
    Task.objects.filter(pk=task.pk).update(status="done")
    assert mark_overdue(dt.datetime(2026, 11, 28, 9, tzinfo=SH)) == 0


@pytest.mark.django_db(transaction=True)
def test_two_workers_at_once_write_one_overdue_event_per_task(head, member, sales):
    from closeloop.testing.factories import make_task

    tasks = [make_task(actor=head, department=sales, owner=member, title=f"任务{i}") for i in range(8)]
    for t in tasks:
        _due(t, dt.date(2026, 11, 20))
    now = dt.datetime(2026, 11, 28, 9, tzinfo=SH)
    results = run_in_threads(lambda _i: mark_overdue(now))
    assert sum(results) == 8
    assert TaskEvent.objects.filter(verb="became_overdue").count() == 8
    assert Notification.objects.filter(kind="task.overdue").count() == 8


def test_the_worker_reports_a_heartbeat_and_stops_when_asked(transactional_db, settings):
    settings.WORKER_POLL_SECONDS = 0.01
    worker = Worker(worker_id="test-host:1")
    thread = threading.Thread(target=worker.run_forever)
    thread.start()
    try:
        for _ in range(200):
            if WorkerHeartbeat.objects.filter(worker_id="test-host:1").exists():
                break
            threading.Event().wait(0.01)
    finally:
        worker.stop_event.set()
        thread.join(timeout=10)
    assert not thread.is_alive()
    beat = WorkerHeartbeat.objects.get(worker_id="test-host:1")
    assert beat.stopped_at is not None


def test_the_status_page_shows_workers_and_warns_when_none_is_alive(admin_client, db):
    WorkerHeartbeat.objects.create(
        worker_id="old",
        hostname="h",
        pid=1,
        started_at=dt.datetime(2026, 1, 1, tzinfo=SH),
        last_seen=dt.datetime(2026, 1, 1, tzinfo=SH),
    )
    response = admin_client.get("/admin/status/")
    assert response.status_code == 200
    assert "No worker is running" in response.content.decode() or "没有" in response.content.decode()


def test_many_slots_are_claimed_at_once_each_once(db):
    from django.db import transaction

    from closeloop.core.jobs import claim_slots

    with transaction.atomic():
        assert claim_slot(job="remind", scope=2, slot="2026-11-27") is not None
        claimed = claim_slots(job="remind", slot="2026-11-27", scopes=[1, 2, 3, "3"])
    assert claimed == {"1", "3"}
    with transaction.atomic():
        assert claim_slots(job="remind", slot="2026-11-27", scopes=[1, 2, 3, 4]) == {"4"}
        assert claim_slots(job="remind", slot="2026-11-28", scopes=[1]) == {"1"}
        assert claim_slots(job="remind", slot="2026-11-28", scopes=[]) == set()
    assert JobRun.objects.filter(job="remind").count() == 5
    assert all(r.finished_at is not None for r in JobRun.objects.filter(job="remind"))


def test_claiming_300_slots_costs_three_statements(db, django_assert_num_queries):
    from django.db import transaction

    from closeloop.core.jobs import CLAIM_BATCH, claim_slots

    with transaction.atomic():
        with django_assert_num_queries(-(-300 // CLAIM_BATCH)):
            assert len(claim_slots(job="remind", slot="d", scopes=range(300))) == 300


def test_claiming_many_slots_outside_the_works_transaction_is_refused(transactional_db):
    from closeloop.core.jobs import claim_slots

    with pytest.raises(RuntimeError):
        claim_slots(job="x", slot="d", scopes=[1])


def test_without_insert_returning_slots_are_claimed_one_by_one(db, monkeypatch):
    from django.db import transaction

    from closeloop.core.jobs import claim_slots

    monkeypatch.setattr(type(connection.features), "can_return_rows_from_bulk_insert", False)
    with transaction.atomic():
        claim_slot(job="remind", scope=2, slot="d")
        assert claim_slots(job="remind", slot="d", scopes=[1, 2, 3]) == {"1", "3"}


def test_two_workers_claiming_overlapping_slots_at_once_get_each_once(transactional_db):
    """Each of 4 threads claims 200 scopes (in another order each, overlapping) and holds its
    transaction a moment: every scope is claimed by exactly one of them, none deadlocks."""
    import random

    from django.db import transaction

    from closeloop.core.jobs import claim_slots

    orders = []
    for seed in range(4):
        scopes = list(range(seed * 50, seed * 50 + 200))
        random.Random(seed).shuffle(scopes)
        orders.append(scopes)

    def run(seed):
        with transaction.atomic():
            return claim_slots(job="remind", slot="d", scopes=orders[seed])

    results = run_in_threads(run, 4)
    everyone = [s for r in results for s in r]
    assert len(everyone) == len(set(everyone)) == 350
    assert JobRun.objects.filter(job="remind").count() == 350
