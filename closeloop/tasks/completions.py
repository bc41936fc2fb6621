"""The completion tally (`CompletionDay`): each owner's completions per day of their
department, with how many were on time against the approved and the original due date — kept
as tasks become done, so the on-time rates of 仪表盘 and 周复盘 never read the window's
completions one by one (issue 16 item 4).

A completion's day is the date of `completed_at` in its department's time zone at the time
(`Department.tzinfo`), compared with the due dates as `insights.localday` does: on time when
the day is on or before the due date (DESIGN.md: due dates are the department's dates)."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from closeloop.tasks.models import CompletionDay, Task
from closeloop.tasks.states import Status

Key = tuple[int, date, int]  # (department id, local day, owner id)


def tally_tasks(rows: Iterable[tuple], zones: dict) -> dict[Key, list[int]]:
    """Count done tasks given as (department id, owner id, completed_at, due date, original
    due date) rows; `zones` maps department id → tzinfo. Returns (department id, local day,
    owner id) → [done, on time, on time against the original due date]."""
    out: dict[Key, list[int]] = {}
    for department_id, owner_id, completed_at, due, original in rows:
        day = timezone.localtime(completed_at, zones[department_id]).date()
        counts = out.setdefault((department_id, day, owner_id), [0, 0, 0])
        counts[0] += 1
        counts[1] += day <= due
        counts[2] += day <= original
    return out


def record(task: Task, completed_at: datetime) -> None:
    """Count `task` (its `department` loaded or loadable, `owner_id`, `due_date`,
    `original_due_date`) as completed at `completed_at` (aware). Call inside the transaction
    that marks it done, once (the status compare-and-set guarantees once). Two completions of
    the same (department, day, owner) at once: the second INSERT fails on the unique
    constraint and adds to the row the first made."""
    zones = {task.department_id: task.department.tzinfo}
    rows = [(task.department_id, task.owner_id, completed_at, task.due_date, task.original_due_date)]
    for (department_id, day, owner_id), (done, on_time, on_time_original) in tally_tasks(rows, zones).items():
        key = {"department_id": department_id, "day": day, "owner_id": owner_id}
        change = {
            "done": F("done") + done,
            "on_time": F("on_time") + on_time,
            "on_time_original": F("on_time_original") + on_time_original,
        }
        if CompletionDay.objects.filter(**key).update(**change):
            continue
        try:
            with transaction.atomic():
                CompletionDay.objects.create(
                    **key, done=done, on_time=on_time, on_time_original=on_time_original
                )
        except IntegrityError:
            CompletionDay.objects.filter(**key).update(**change)


def rebuild(department_ids: Iterable[int] | None = None, *, batch_size: int = 2000) -> int:
    """Recount the tally of these departments (all when None) from their done tasks, replacing
    what was there; for data written around the services (the benchmark's generator, demo
    data back-dating completions, a restore). Returns the number of rows written."""
    from closeloop.orgs.models import Department

    departments = Department.objects.all()
    if department_ids is not None:
        departments = departments.filter(pk__in=list(department_ids))
    zones = {d.pk: d.tzinfo for d in departments}
    done = Task.objects.filter(status=Status.DONE, department_id__in=list(zones), completed_at__isnull=False)
    tally = tally_tasks(
        done.values_list("department_id", "owner_id", "completed_at", "due_date", "original_due_date")
        .order_by()
        .iterator(chunk_size=batch_size),
        zones,
    )
    rows = [
        CompletionDay(
            department_id=department_id,
            day=day,
            owner_id=owner_id,
            done=n,
            on_time=on_time,
            on_time_original=original,
        )
        for (department_id, day, owner_id), (n, on_time, original) in tally.items()
    ]
    with transaction.atomic():
        CompletionDay.objects.filter(department_id__in=list(zones)).delete()
        CompletionDay.objects.bulk_create(rows, batch_size=batch_size)
    return len(rows)
