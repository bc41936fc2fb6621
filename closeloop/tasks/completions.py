"""The completion tally (`CompletionDay`): each owner's completions per day of their
department, with how many were on time against the approved and the original due date — kept
as tasks become done, so the on-time rates of 仪表盘 and 周复盘 never read the window's
completions one by one (issue 16 item 4).

A completion's day is the date of `completed_at` in its department's time zone at the time
(`Department.tzinfo`), compared with the due dates as `insights.localday` does: on time when
the day is on or before the due date (DESIGN.md: due dates are the department's dates)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, datetime

from django.db import IntegrityError, transaction
from django.db.models import F
from django.utils import timezone

from closeloop.tasks.models import CompletionDay, Task
from closeloop.tasks.states import Status

Key = tuple[int, date, int]  # (department id, local day, owner id)


def _counts(completed_at: datetime, tz, due: date, original: date) -> tuple[date, int, int]:
    day = timezone.localtime(completed_at, tz).date()
    return day, int(day <= due), int(day <= original)


def record(task: Task, completed_at: datetime) -> None:
    """Count `task` (its `department` loaded or loadable, `owner_id`, `due_date`,
    `original_due_date`) as completed at `completed_at` (aware). Call inside the transaction
    that marks it done, once (the status compare-and-set guarantees once). Two completions of
    the same (department, day, owner) at once: the second INSERT fails on the unique
    constraint and adds to the row the first made."""
    day, on_time, on_time_original = _counts(
        completed_at, task.department.tzinfo, task.due_date, task.original_due_date
    )
    _add({(task.department_id, day, task.owner_id): (1, on_time, on_time_original)})


def _add(tally: dict[Key, tuple[int, int, int]]) -> None:
    for (department_id, day, owner_id), (done, on_time, on_time_original) in tally.items():
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


def record_many(tasks: Iterable[Task], completed_at: datetime) -> None:
    """`record` for tasks completed together (a spreadsheet import taking over done tasks):
    one row change per (department, day, owner)."""
    tally: dict[Key, list[int]] = {}
    for t in tasks:
        day, on_time, on_time_original = _counts(
            completed_at, t.department.tzinfo, t.due_date, t.original_due_date
        )
        row = tally.setdefault((t.department_id, day, t.owner_id), [0, 0, 0])
        row[0] += 1
        row[1] += on_time
        row[2] += on_time_original
    _add({k: tuple(v) for k, v in tally.items()})


def tally_tasks(rows: Iterable[tuple], zones: dict) -> Counter:
    """Count done tasks given as (department id, owner id, completed_at, due date, original
    due date) rows; `zones` maps department id → tzinfo. Returns a Counter of
    (department id, day, owner id, field) → n, field one of done / on_time / on_time_original."""
    out: Counter = Counter()
    for department_id, owner_id, completed_at, due, original in rows:
        day, on_time, on_time_original = _counts(completed_at, zones[department_id], due, original)
        key = (department_id, day, owner_id)
        out[(*key, "done")] += 1
        out[(*key, "on_time")] += on_time
        out[(*key, "on_time_original")] += on_time_original
    return out


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
    counts = tally_tasks(
        done.values_list("department_id", "owner_id", "completed_at", "due_date", "original_due_date")
        .order_by()
        .iterator(chunk_size=batch_size),
        zones,
    )
    rows: dict[Key, CompletionDay] = {}
    for (department_id, day, owner_id, name), n in counts.items():
        row = rows.get((department_id, day, owner_id))
        if row is None:
            row = rows[(department_id, day, owner_id)] = CompletionDay(
                department_id=department_id, day=day, owner_id=owner_id
            )
        setattr(row, name, n)
    with transaction.atomic():
        CompletionDay.objects.filter(department_id__in=list(zones)).delete()
        CompletionDay.objects.bulk_create(rows.values(), batch_size=batch_size)
    return len(rows)
