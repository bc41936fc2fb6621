"""Benchmark data of progress tracking: daily updates (one per task and day, from the day a
task is taken in until today or its completion, on tasks under way or finished — parents
too, with a note and no percent — a budget of UPDATES_PER_TASK per task of the dataset, of
which the tasks' spans leave about 10: ~200,000 at 20,000 tasks, ~2 million at 200,000),
delay warnings (~4 % of open tasks, some pending) and the stored forecast of every task with
updates — computed with the real `tracking.forecast.compute`.

Register in bench/generate.py after the "tasks and subtasks" step:

    from bench.tracking_step import tracking_data
    step("tracking: updates, warnings, forecasts")(tracking_data)

`measure_sweep(now)` times the reminder + forecast sweep (the issue's ≤ 5 s target).
"""

from __future__ import annotations

import math
import time
from collections import defaultdict
from datetime import datetime, timedelta
from typing import Any

UPDATES_PER_TASK = 11
WORKING = ("in_progress", "blocked", "rework")
UPDATE_COLUMNS = (
    "task_id",
    "author_id",
    "day",
    "percent",
    "state",
    "blocker",
    "note",
    "late",
    "created_at",
    "updated_at",
)
REASONS = ["requirements", "resources", "dependency", "priority", "other"]


def tracking_data(ctx: Any) -> None:
    from bench.generate import save
    from closeloop.tasks.models import Task
    from closeloop.tracking.forecast import compute
    from closeloop.tracking.models import DelayWarning, ProgressUpdate, TaskForecast

    rng = ctx.rng
    parents = {pid for pid, kids in ctx.children.items() if kids}
    updates: list[dict] = []
    forecasts: list[dict] = []
    warnings: list[dict] = []
    n_updates = 0
    # Each task's latest update's day, copied onto the task as tracking keeps it
    # (`Task.last_update_day`): tasks by that day.
    last_day: dict = defaultdict(list)

    def flush() -> None:
        nonlocal updates, n_updates
        save(ctx, ProgressUpdate, updates, columns=UPDATE_COLUMNS)
        n_updates += len(updates)
        updates = []

    # Owners of parent tasks post too (state and note; the percent is their subtasks' roll-up).
    reporting = [t for t in ctx.tasks if t.status in (*WORKING, "submitted", "done")]
    # Spread UPDATES_PER_TASK × all tasks over the tasks that report progress; a task whose
    # span has fewer days than its share leaves the rest to the tasks after it (so the total
    # falls a little short when the spans are short).
    budget = UPDATES_PER_TASK * len(ctx.tasks)
    for i_task, t in enumerate(reporting):
        # From the day it was taken in (preparation counts) to today while it is under way, or
        # to the day it was finished.
        start = min(t.start_date or t.due_date, t.created_at.date())
        last = ctx.today if t.status in WORKING else min(ctx.today, t.due_date + timedelta(days=3))
        if t.completed_at is not None:
            last = min(last, t.completed_at.date())
        span = max((last - start).days, 1)
        share = math.ceil(max(budget, 0) / (len(reporting) - i_task))
        n = max(1, min(share, span))
        budget -= n
        days = sorted(rng.sample(range(span), n)) if span >= n else list(range(span))
        target = t.progress or rng.randint(5, 95)
        history = []
        for i, off in enumerate(days):
            day = start + timedelta(days=off)
            pct = min(100, round(target * (i + 1) / len(days)))
            blocked = t.status == "blocked" and i == len(days) - 1
            history.append((day, pct))
            at = ctx.moment(day, hour_from=16, hour_to=19)
            updates.append(
                (
                    t.id,
                    t.owner_id,
                    day,
                    None if t.id in parents else pct,
                    "blocked" if blocked else "in_progress",
                    "等待接口支持" if blocked else "",
                    "子任务推进中" if t.id in parents else "",
                    False,
                    at,
                    at,
                )
            )
        if days:
            last_day[start + timedelta(days=days[-1])].append(t.id)
        if len(updates) >= 50_000:
            flush()
        if t.status in WORKING and history and t.id not in parents:
            fc = compute(
                history=history[-4:] if len(history) > 1 else history,
                start=start,
                due=t.due_date,
                today=ctx.today,
            )
            forecasts.append(
                dict(
                    task_id=t.id,
                    forecast_date=fc.forecast_date,
                    slope=fc.slope,
                    last_day=fc.last_day,
                    last_percent=fc.last_percent,
                    points=len(history),
                    due_date=t.due_date,
                    judge_from=fc.judge_from,
                    at_risk=fc.at_risk,
                    reason=fc.reason,
                    computed_at=ctx.now,
                )
            )
            if rng.random() < 0.04:
                raised = ctx.moment(
                    max(start, min(ctx.today, t.due_date) - timedelta(days=rng.randint(0, 3)))
                )
                pending = rng.random() < 0.3
                warnings.append(
                    dict(
                        task_id=t.id,
                        raised_by_id=t.owner_id,
                        reason=rng.choice(REASONS),
                        explanation="资源不足,需顺延",
                        old_due_date=t.original_due_date,
                        new_due_date=t.original_due_date + timedelta(days=rng.randint(2, 10)),
                        on_time=rng.random() < 0.7,
                        status="pending" if pending else "approved",
                        raised_at=raised,
                        decide_by=raised + timedelta(days=1),
                        decided_by_id=None if pending else t.owner_id,
                        decided_at=None if pending else raised + timedelta(hours=4),
                        decision_comment="",
                        escalated_at=None,
                        escalated_to_id=None,
                    )
                )
    flush()
    save(ctx, TaskForecast, forecasts)
    # The tasks' copy of their forecast's flag (`Task.at_risk`), as tracking keeps it.
    at_risk = [f["task_id"] for f in forecasts if f["at_risk"]]
    for i in range(0, len(at_risk), 500):
        Task.objects.filter(pk__in=at_risk[i : i + 500]).update(at_risk=True)
    for day, ids in last_day.items():
        for i in range(0, len(ids), 500):
            Task.objects.filter(pk__in=ids[i : i + 500]).update(last_update_day=day)
    save(ctx, DelayWarning, warnings)
    ctx.rows["tracking.ProgressUpdate"] = n_updates
    ctx.rows["tracking.TaskForecast"] = len(forecasts)
    ctx.rows["tracking.DelayWarning"] = len(warnings)


def reminder_moment() -> datetime:
    """A moment at which every department's reminder fires: just after the latest reminder
    time of the last working day up to today (on a weekend or holiday, none would fire and
    the measurement would time nothing)."""
    from django.utils import timezone

    from closeloop.orgs.calendar import is_workday
    from closeloop.orgs.models import Department
    from closeloop.tracking import cadence

    departments = list(Department.objects.all())
    day = timezone.localdate()
    while not is_workday(day):
        day -= timedelta(days=1)
    return max(cadence.reminder_time(d, day) for d in departments) + timedelta(minutes=1)


def measure_sweep(now: datetime | None = None) -> dict[str, float]:
    """Seconds of one reminder run and one forecast sweep over the whole database, at a moment
    the reminders fire (the job slots of earlier runs are deleted so the run is real every
    time)."""

    from closeloop.core.models import JobRun
    from closeloop.tracking.jobs import forecast_sweep, send_update_reminders

    now = now or reminder_moment()
    JobRun.objects.filter(job__startswith="tracking.").delete()
    out: dict[str, float] = {}
    for name, fn in (("reminders", send_update_reminders), ("forecast_sweep", forecast_sweep)):
        t0 = time.perf_counter()
        fn(now)
        out[name] = round(time.perf_counter() - t0, 3)
    return out
