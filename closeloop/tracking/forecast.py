"""The risk forecast (有风险), a pure function of a task's update history.

Method:
1. Points: each day's reported percent (one update per day), plus the task's start as
   (start date — or the day it was created — at 0 %) when fewer than two updates exist, so a
   single update still gives a rate: "from nothing at the start to this much now".
2. Fit: ordinary least squares of percent on calendar day over the last `WINDOW` (4) points,
   so the rate follows recent work (an accelerating task is judged by its recent speed) while
   one slow day among four does not swing it.
3. Forecast finish = last reported day + (100 − last percent) / rate, rounded up to a day.
   A rate ≤ 0 means no finish in sight: *stalled*. No update for `STALE_DAYS` (7) days also
   counts as stalled. No updates at all: no forecast, no alarm (the missing-update reminder
   deals with that).
4. Judge only once a third of the task's time (start → due) has passed (`judge_from`);
   before that a task is "too early to judge" and never at risk.
5. Hysteresis: a task becomes at risk when the forecast is *after* the due date (or it is
   stalled); it stops being at risk only when the forecast is *before* the due date. A
   forecast exactly on the due date keeps the previous state, so a task hovering at the line
   does not flap.
"""

import math
from dataclasses import dataclass
from datetime import date, timedelta

WINDOW = 4
STALE_DAYS = 7


@dataclass(frozen=True)
class Forecast:
    forecast_date: date | None
    slope: float | None
    last_day: date | None
    last_percent: int
    points: int
    judge_from: date
    at_risk: bool
    reason: str


def judge_from(start: date, due: date) -> date:
    span = max((due - start).days, 0)
    return start + timedelta(days=math.ceil(span / 3))


def fit(points: list[tuple[date, int]]) -> float | None:
    """Least-squares slope (percent per day) of the points; None with fewer than two days."""
    if len(points) < 2:
        return None
    origin = points[0][0]
    xs = [(d - origin).days for d, _ in points]
    ys = [float(p) for _, p in points]
    n = len(xs)
    mx, my = sum(xs) / n, sum(ys) / n
    sxx = sum((x - mx) ** 2 for x in xs)
    if sxx == 0:
        return None
    return sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True)) / sxx


def finish_date(last_day: date, last_percent: int, slope: float | None) -> date | None:
    if last_percent >= 100:
        return last_day
    if slope is None or slope <= 0:
        return None
    return last_day + timedelta(days=math.ceil((100 - last_percent) / slope - 1e-9))


def judge(
    *,
    forecast_date: date | None,
    last_day: date | None,
    last_percent: int,
    due: date,
    judge_from_day: date,
    today: date,
    was_at_risk: bool,
) -> tuple[bool, str]:
    """Apply rules 3–5 to a fitted forecast. Returns (at_risk, reason)."""
    if last_day is None:
        return False, "no_updates"
    if last_percent >= 100:
        return False, "done"
    stalled = forecast_date is None or (today - last_day).days >= STALE_DAYS
    if today < judge_from_day:
        return False, "too_early"
    if stalled:
        return True, "stalled"
    assert forecast_date is not None
    if forecast_date > due:
        return True, "behind"
    if forecast_date < due:
        return False, "on_track"
    return was_at_risk, ("behind" if was_at_risk else "on_track")


def compute(
    *,
    history: list[tuple[date, int]],
    start: date,
    due: date,
    today: date,
    was_at_risk: bool = False,
) -> Forecast:
    """Forecast from `history` (day, percent), oldest first, one entry per day."""
    history = sorted(history)
    jf = judge_from(start, due)
    if not history:
        at_risk, reason = judge(
            forecast_date=None,
            last_day=None,
            last_percent=0,
            due=due,
            judge_from_day=jf,
            today=today,
            was_at_risk=was_at_risk,
        )
        return Forecast(None, None, None, 0, 0, jf, at_risk, reason)
    points = history[-WINDOW:]
    if len(history) < 2 and start < history[0][0]:
        points = [(start, 0), *points]
    slope = fit(points)
    last_day, last_percent = history[-1]
    fdate = finish_date(last_day, last_percent, slope)
    at_risk, reason = judge(
        forecast_date=fdate,
        last_day=last_day,
        last_percent=last_percent,
        due=due,
        judge_from_day=jf,
        today=today,
        was_at_risk=was_at_risk,
    )
    return Forecast(fdate, slope, last_day, last_percent, len(history), jf, at_risk, reason)
