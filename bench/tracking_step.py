"""Benchmark data of progress tracking: daily updates (about 10 per task under way, i.e.
2,000,000 at 200,000 tasks), delay warnings (~4 % of open tasks, some pending) and the stored
forecast of every task with updates — computed with the real `tracking.forecast.compute`.

Register in bench/generate.py after the "tasks and subtasks" step:

    from bench.tracking_step import tracking_data
    step("tracking: updates, warnings, forecasts")(tracking_data)

`measure_sweep(now)` times the reminder + forecast sweep (the issue's ≤ 5 s target).
"""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

UPDATES_PER_TASK = 10
WORKING = ("in_progress", "blocked", "rework")
REASONS = ["requirements", "resources", "dependency", "priority", "other"]


def tracking_data(ctx: Any) -> None:
    from bench.generate import save
    from closeloop.tracking.forecast import compute
    from closeloop.tracking.models import DelayWarning, ProgressUpdate, TaskForecast

    rng = ctx.rng
    parents = {pid for pid, kids in ctx.children.items() if kids}
    updates: list[dict] = []
    forecasts: list[dict] = []
    warnings: list[dict] = []
    n_updates = 0

    def flush() -> None:
        nonlocal updates, n_updates
        save(ctx, ProgressUpdate, updates)
        n_updates += len(updates)
        updates = []

    for t in ctx.tasks:
        if t.id in parents or t.status not in (*WORKING, "submitted", "done"):
            continue
        start = t.start_date or t.due_date - timedelta(days=14)
        last = min(ctx.today, t.due_date + timedelta(days=3))
        span = max((last - start).days, 1)
        n = min(UPDATES_PER_TASK, span)
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
                dict(
                    task_id=t.id,
                    author_id=t.owner_id,
                    day=day,
                    percent=pct,
                    state="blocked" if blocked else "in_progress",
                    blocker="等待接口支持" if blocked else "",
                    note="",
                    late=False,
                    created_at=at,
                    updated_at=at,
                )
            )
        if len(updates) >= 50_000:
            flush()
        if t.status in WORKING and history:
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
    save(ctx, DelayWarning, warnings)
    ctx.rows["tracking.ProgressUpdate"] = n_updates
    ctx.rows["tracking.TaskForecast"] = len(forecasts)
    ctx.rows["tracking.DelayWarning"] = len(warnings)


def measure_sweep(now: datetime | None = None) -> dict[str, float]:
    """Seconds of one reminder run and one forecast sweep over the whole database (slots are
    claimed with a unique bench scope so the run is real every time)."""
    from django.utils import timezone

    from closeloop.core.models import JobRun
    from closeloop.tracking.jobs import forecast_sweep, send_update_reminders

    now = now or timezone.now()
    JobRun.objects.filter(job__startswith="tracking.").delete()
    out: dict[str, float] = {}
    for name, fn in (("reminders", send_update_reminders), ("forecast_sweep", forecast_sweep)):
        t0 = time.perf_counter()
        fn(now)
        out[name] = round(time.perf_counter() - t0, 3)
    return out
