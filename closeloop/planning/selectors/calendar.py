"""Reads of the 日历 calendar: a month of due dates and milestones."""

import calendar as pycalendar
from datetime import date, timedelta

from django.db.models import Q

from closeloop.orgs.calendar import is_workday
from closeloop.tasks.models import (
    Milestone,
    Task,
    subtree_q,
)
from closeloop.tasks.selectors import local_today, visibility
from closeloop.tasks.states import CLOSED_STATUSES, Status


def _visible_task_q(user) -> Q:
    """ "Its task is visible to `user`" on a row joined to its task (`task__…`): the rule of
    `Task.objects.visible_to` (`tasks.visibility`) on the joined columns."""
    if user.is_superuser:
        return Q()
    v = visibility(user)
    q = Q(task__department_id__in=v.departments) | Q(task__id__in=v.ids)
    for path in v.subtrees:
        q |= subtree_q(path, field="task__path")
    return q


# -- calendar --------------------------------------------------------------------------------


def calendar_month(
    user, *, year: int, month: int, department_id: int | None = None, today: date | None = None
) -> dict:
    """日历: the month's grid (Monday first) with tasks due and milestones each day; non-working
    days marked from the work calendar. Two queries (plus the calendar's cached year)."""
    today = today or local_today()
    first = date(year, month, 1)
    last = date(year, month, pycalendar.monthrange(year, month)[1])
    grid_start = first - timedelta(days=first.weekday())
    grid_end = last + timedelta(days=6 - last.weekday())
    visible = Task.objects.visible_to(user).exclude(status=Status.CANCELLED)
    if department_id:
        visible = visible.filter(department_id=department_id)
    tasks = list(
        visible.filter(due_date__range=(grid_start, grid_end))
        .select_related("department")
        .only("id", "code", "title", "status", "priority", "due_date", "department__code")
        .order_by("due_date", "priority", "id")[:1000]
    )
    # The month's milestones (date index) whose task the user sees, checked on the joined task:
    # `task IN (visible tasks)` listed every task the user may see to find a few milestones
    # (issue 16).
    shown = _visible_task_q(user) & ~Q(task__status=Status.CANCELLED)
    if department_id:
        shown &= Q(task__department_id=department_id)
    milestones = list(
        Milestone.objects.filter(shown, date__range=(grid_start, grid_end))
        .select_related("task__department")
        .only("id", "title", "date", "reached_at", "task__id", "task__code", "task__department__code")
        .order_by("date", "id")[:500]
    )
    by_day: dict[date, dict] = {}
    for t in tasks:
        by_day.setdefault(t.due_date, {"tasks": [], "milestones": []})["tasks"].append(t)
    for m in milestones:
        by_day.setdefault(m.date, {"tasks": [], "milestones": []})["milestones"].append(m)
    weeks = []
    d = grid_start
    while d <= grid_end:
        week = []
        for _i in range(7):
            items = by_day.get(d, {"tasks": [], "milestones": []})
            week.append(
                {
                    "date": d,
                    "in_month": d.month == month,
                    "workday": is_workday(d),
                    "today": d == today,
                    "tasks": items["tasks"],
                    "milestones": items["milestones"],
                    "overdue": [
                        t for t in items["tasks"] if t.status not in CLOSED_STATUSES and t.due_date < today
                    ],
                }
            )
            d += timedelta(days=1)
        weeks.append(week)
    prev_y, prev_m = (year, month - 1) if month > 1 else (year - 1, 12)
    next_y, next_m = (year, month + 1) if month < 12 else (year + 1, 1)
    return {
        "weeks": weeks,
        "first": first,
        "prev": {"year": prev_y, "month": prev_m},
        "next": {"year": next_y, "month": next_m},
        "count": len(tasks),
    }
