"""Measurements of the escalation sweep for the benchmark (bench/ calls these; nothing here
runs in production). They write issues of their own on existing tasks and delete them after.

- `measure_sweep(n)`: `n` open issues raised over the last three days, their ladder recorded
  up to the previous run (the steady state of a worker that runs the job every two
  minutes); times one run of the job — it reads only the issues that came due since.
- `measure_backlog(n)`: `n` issues all due at once (a worker back after downtime); times the
  run that records their rungs, and gives rungs per second.
"""

import time
import uuid
from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from closeloop.collab.jobs import escalate_issues
from closeloop.collab.models import Escalation, Issue
from closeloop.tasks.models import Task

RUN_EVERY = timedelta(minutes=2)


def _issues(n: int, *, tag: str, spread: timedelta, now) -> list[int]:
    tasks = list(
        Task.objects.exclude(status__in=["done", "cancelled"])
        .order_by("id")
        .values_list("id", "owner_id", "department_id")[:2000]
    )
    if not tasks:
        raise RuntimeError("the benchmark database has no open task")
    rows = []
    for i in range(n):
        task_id, owner_id, department_id = tasks[i % len(tasks)]
        raised = now - spread * (i / max(n - 1, 1))
        if raised == now:
            raised -= timedelta(seconds=1)
        level = (
            2
            if raised <= now - RUN_EVERY - timedelta(hours=48)
            else 1
            if raised <= now - RUN_EVERY - timedelta(hours=24)
            else 0
        )
        nxt = {0: raised + timedelta(hours=24), 1: raised + timedelta(hours=48), 2: None}[level]
        rows.append(
            Issue(
                task_id=task_id,
                task_department_id=department_id,
                problem=f"bench-{tag}-{i}",
                raised_by_id=owner_id,
                raised_at=raised,
                resolver_id=owner_id,
                deadline=raised + timedelta(hours=24),
                level=level,
                next_escalation_at=nxt,
            )
        )
    with transaction.atomic():
        made = Issue.objects.bulk_create(rows, batch_size=2000)
    return [i.pk for i in made]


def _cleanup(tag: str) -> None:
    with transaction.atomic():
        Issue.objects.filter(problem__startswith=f"bench-{tag}-").delete()


def measure_sweep(n: int = 100_000) -> dict:
    now = timezone.now()
    tag = uuid.uuid4().hex[:6]
    _issues(n, tag=tag, spread=timedelta(hours=72), now=now)
    try:
        start = time.perf_counter()
        recorded = escalate_issues(now)
        elapsed = time.perf_counter() - start
    finally:
        _cleanup(tag)
    return {"open_issues": n, "rungs": recorded, "seconds": elapsed}


def measure_backlog(n: int = 1000) -> dict:
    now = timezone.now()
    tag = uuid.uuid4().hex[:6]
    ids = _issues(n, tag=tag, spread=timedelta(minutes=30), now=now - timedelta(hours=24, minutes=5))
    Issue.objects.filter(pk__in=ids).update(level=0, next_escalation_at=now - timedelta(minutes=1))
    try:
        start = time.perf_counter()
        recorded = escalate_issues(now)
        elapsed = time.perf_counter() - start
        assert Escalation.objects.filter(issue_id__in=ids).count() == recorded
    finally:
        _cleanup(tag)
    return {"rungs": recorded, "seconds": elapsed, "per_second": recorded / elapsed if elapsed else 0.0}
