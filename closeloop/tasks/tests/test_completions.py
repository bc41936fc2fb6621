"""The completion tally (`CompletionDay`, issue 16): kept as tasks become done, one row per
department, local day and owner, the same as recounting the tasks (`completions.rebuild`),
and right when two completions of the same owner and day commit at once."""

import datetime as dt

import pytest

from closeloop.tasks import completions
from closeloop.tasks.models import CompletionDay, Task
from closeloop.tasks.services import task_transition
from closeloop.testing.factories import make_task


def _finish(task, owner, reviewer):
    for step, who in (("in_progress", owner), ("submitted", owner), ("done", reviewer)):
        task = task_transition(actor=who, task=task, to=step, note="完成")
    return task


def _rows():
    return sorted(
        CompletionDay.objects.values_list(
            "department_id", "day", "owner_id", "done", "on_time", "on_time_original"
        )
    )


@pytest.mark.django_db
def test_completing_tasks_counts_them_on_the_owners_day(head, member, sales):
    today = sales.local_today()
    on_time = make_task(actor=head, department=sales, owner=member, title="按时", due=today)
    late = make_task(actor=head, department=sales, owner=member, title="逾期", due=today)
    # Late against the approved date, on time against the original one (a pulled-in date).
    Task.objects.filter(pk=late.pk).update(due_date=today - dt.timedelta(days=1))
    cancelled = make_task(actor=head, department=sales, owner=member, title="取消")
    task_transition(actor=head, task=cancelled, to="cancelled", note="不做了")
    assert _rows() == []
    _finish(on_time, member, head)
    _finish(Task.objects.get(pk=late.pk), member, head)
    assert _rows() == [(sales.pk, today, member.pk, 2, 1, 2)]
    # The same as counting the done tasks again.
    completions.rebuild()
    assert _rows() == [(sales.pk, today, member.pk, 2, 1, 2)]


@pytest.mark.django_db
def test_a_task_sent_back_counts_once_when_finally_accepted(head, member, sales):
    t = make_task(actor=head, department=sales, owner=member, title="返工")
    for step, who in (("in_progress", member), ("submitted", member), ("rework", head)):
        t = task_transition(actor=who, task=t, to=step, note="补充数据")
    assert _rows() == []
    for step, who in (("submitted", member), ("done", head)):
        t = task_transition(actor=who, task=t, to=step, note="补充数据")
    assert [r[3] for r in _rows()] == [1]


@pytest.mark.django_db
def test_rebuild_dates_completions_in_the_departments_zone(head, member, sales):
    """23:30 UTC is the next morning in Shanghai: counted on the department's day."""
    sales.time_zone = "Asia/Shanghai"
    sales.save(update_fields=["time_zone"])
    t = make_task(actor=head, department=sales, owner=member, due=dt.date(2026, 11, 20))
    moment = dt.datetime(2026, 11, 20, 23, 30, tzinfo=dt.UTC)
    Task.objects.filter(pk=t.pk).update(status="done", completed_at=moment)
    completions.rebuild([sales.pk])
    assert _rows() == [(sales.pk, dt.date(2026, 11, 21), member.pk, 1, 0, 0)]


@pytest.mark.django_db(transaction=True)
def test_two_completions_of_one_owner_and_day_at_once_both_count(head, member, sales):
    """Both find no row and insert: the second waits for the first, fails on the unique
    constraint and adds to the row the first made — 2, not 1 and not an error."""
    from closeloop.testing.concurrency import run_in_threads

    tasks = []
    for i in range(2):
        t = make_task(actor=head, department=sales, owner=member, title=f"并发{i}")
        for step in ("in_progress", "submitted"):
            t = task_transition(actor=member, task=t, to=step, note="")
        tasks.append(t)
    run_in_threads(lambda i: task_transition(actor=head, task=Task.objects.get(pk=tasks[i].pk), to="done"))
    assert _rows() == [(sales.pk, sales.local_today(), member.pk, 2, 2, 2)]
