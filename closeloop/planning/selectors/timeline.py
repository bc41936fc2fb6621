"""Reads of the 时间线 timeline: bars, milestones and dependency arrows laid out in pixels."""

from dataclasses import dataclass
from datetime import date, timedelta

from django.utils.translation import gettext as _

from closeloop.core.dates import clamp, in_range
from closeloop.orgs.calendar import is_workday
from closeloop.tasks.models import (
    Milestone,
    Task,
    TaskDependency,
    subtree_q,
)
from closeloop.tasks.selectors import local_today
from closeloop.tasks.states import CLOSED_STATUSES, Status

# -- timeline --------------------------------------------------------------------------------

ZOOM_DAY_WIDTH = {"week": 26, "month": 7}
ROW_H = 30
LABEL_W = 200
HEADER_H = 40


@dataclass
class Timeline:
    width: int
    height: int
    label_w: int
    rows: list[dict]
    days: list[dict]
    ticks: list[dict]
    milestones: list[dict]
    arrows: list[dict]
    today_x: float | None
    start: date
    end: date
    zoom: str
    empty: bool = False


def timeline(
    user,
    *,
    root: Task | None = None,
    department_id: int | None = None,
    zoom: str = "week",
    today: date | None = None,
    limit: int = 300,
) -> Timeline:
    """时间线: bars from start to due (a task without a start date is a one-day bar), milestones
    as diamonds, finish-to-start arrows, non-working days shaded, a today line, overdue bars
    red. For one task and its subtree, or a department's open top-level tasks. Three queries
    plus the work calendar's (cached) years."""
    today = today or local_today()
    zoom = zoom if zoom in ZOOM_DAY_WIDTH else "week"
    dw = ZOOM_DAY_WIDTH[zoom]
    qs = (
        Task.objects.visible_to(user)
        .select_related("owner")
        .only(
            "id",
            "code",
            "title",
            "status",
            "start_date",
            "due_date",
            "progress",
            "depth",
            "path",
            "parent_id",
            "owner__name",
            "owner__username",
            "department_id",
        )
    )
    if root is not None:
        qs = qs.filter(subtree_q(root.path)).exclude(status=Status.CANCELLED).order_by("path")
    else:
        qs = qs.filter(parent__isnull=True).exclude(status__in=CLOSED_STATUSES)
        if department_id:
            qs = qs.filter(department_id=department_id)
        qs = qs.order_by("due_date", "id")
    tasks = list(qs[:limit])
    ids = [t.pk for t in tasks]
    milestones = list(Milestone.objects.filter(task_id__in=ids).order_by("date")) if ids else []
    deps = (
        list(
            TaskDependency.objects.filter(successor_id__in=ids, predecessor_id__in=ids).values_list(
                "predecessor_id", "successor_id"
            )
        )
        if ids
        else []
    )
    # Rows stored before dates were limited (a milestone on 9999-12-31) are drawn clamped to
    # the span of the others and flagged, rather than stretching it over millennia.
    sane = [d for t in tasks for d in (t.start_date, t.due_date) if d and in_range(d)]
    sane += [m.date for m in milestones if in_range(m.date)]
    first, last = min([*sane, today]), max([*sane, today])
    start = first - timedelta(days=first.weekday() + 1)  # the Sunday before: a margin
    end = last + timedelta(days=7 - last.weekday() + 6)
    n_days = (end - start).days + 1
    width = LABEL_W + n_days * dw
    base_depth = root.depth if root is not None else 0
    rows = []
    index = {}
    odd_milestones = {m.task_id for m in milestones if not in_range(m.date)}
    for i, t in enumerate(tasks):
        out_of_range = not (in_range(t.start_date) and in_range(t.due_date)) or t.pk in odd_milestones
        due = clamp(t.due_date, start, end)
        s = clamp(t.start_date or t.due_date, start, due)
        x = LABEL_W + (s - start).days * dw
        w = max(dw, ((due - s).days + 1) * dw)
        y = HEADER_H + i * ROW_H
        overdue = t.status not in CLOSED_STATUSES and t.due_date < today
        index[t.pk] = {"x": x, "w": w, "y": y}
        rows.append(
            {
                "task": t,
                "x": x,
                "w": w,
                "y": y,
                "bar_y": y + 7,
                "text_y": y + 19,
                "progress_w": round(w * t.progress / 100, 1),
                "overdue": overdue,
                "indent": 8 + min(6, max(0, t.depth - base_depth)) * 10,
                "label": f"{t.code} {t.title}" + (f" ⚠ {_('date out of range')}" if out_of_range else ""),
                "out_of_range": out_of_range,
            }
        )
    height = HEADER_H + max(1, len(rows)) * ROW_H + 10
    days = []
    ticks = []
    for i in range(n_days):
        d = start + timedelta(days=i)
        x = LABEL_W + i * dw
        if not is_workday(d):
            days.append({"x": x, "w": dw, "date": d})
        if zoom == "week" and d.weekday() == 0 or zoom == "month" and d.day == 1:
            ticks.append(
                {"x": x, "label": d.strftime("%m-%d") if zoom == "week" else d.strftime("%Y-%m"), "date": d}
            )
    marks = []
    for m in milestones:
        row = index.get(m.task_id)
        if row is None:
            continue
        cx = LABEL_W + (clamp(m.date, start, end) - start).days * dw + dw / 2
        cy = row["y"] + ROW_H / 2
        marks.append(
            {
                "m": m,
                "points": f"{cx},{cy - 8} {cx + 8},{cy} {cx},{cy + 8} {cx - 8},{cy}",
                "center": (cx, cy),
                "reached": m.reached_at is not None,
                "out_of_range": not in_range(m.date),
            }
        )
    arrows = []
    for pred, succ in deps:
        a, b = index[pred], index[succ]
        x1, y1 = a["x"] + a["w"], a["y"] + ROW_H / 2
        x2, y2 = b["x"], b["y"] + ROW_H / 2
        mid = max(x1 + 6, min(x2 - 6, x1 + 12))
        arrows.append({"d": f"M{x1},{y1} H{mid} V{y2} H{x2 - 2}", "late": x2 < x1})
    today_x = LABEL_W + (today - start).days * dw + dw / 2 if start <= today <= end else None
    return Timeline(
        width=width,
        height=height,
        label_w=LABEL_W,
        rows=rows,
        days=days,
        ticks=ticks,
        milestones=marks,
        arrows=arrows,
        today_x=today_x,
        start=start,
        end=end,
        zoom=zoom,
        empty=not rows,
    )
