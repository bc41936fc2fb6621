"""Reads of the 日历 calendar: a month of due dates and milestones."""

import calendar as pycalendar
from datetime import date, timedelta

from django.db.models import Case, Count, F, Q, Sum, When, Window
from django.db.models.functions import RowNumber

from closeloop.orgs.calendar import is_workday
from closeloop.tasks.models import (
    Milestone,
    Task,
    subtree_q,
)
from closeloop.tasks.selectors import local_today, visibility
from closeloop.tasks.states import CLOSED_STATUSES, OPEN_STATUSES, Status

# Statuses named, not "all but cancelled": ranges of the (department, status, due) index.
_SHOWN = sorted(s.value for s in Status if s != Status.CANCELLED)
_OPEN = sorted(OPEN_STATUSES)


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


def _due_q(user, department_id: int | None, start: date, end: date) -> Q:
    """Tasks `user` sees (of `department_id` if given) due from `start` to `end`, not
    cancelled, with the dates and statuses inside each branch of the visibility rule: SQLite
    then reads the (department, status, due) index for the person's departments instead of the
    due-date index through every department's tasks (4x the rows at 100,000 tasks)."""
    window = Q(due_date__range=(start, end))
    if user.is_superuser:
        q = Q(status__in=_SHOWN) & window
        return q & Q(department_id=department_id) if department_id else q
    v = visibility(user)
    departments = v.departments if not department_id else v.departments & {department_id}
    q = Q(department_id__in=departments, status__in=_SHOWN) & window
    other = Q(id__in=v.ids)
    for path in v.subtrees:
        other |= subtree_q(path)
    other &= window & ~Q(status=Status.CANCELLED)
    if department_id:
        other &= Q(department_id=department_id)
    return q | other if departments else other


# -- calendar --------------------------------------------------------------------------------

# A day's cell lists its first four tasks (most urgent first) and "+n more".
DAY_TASKS = 4


def calendar_month(
    user, *, year: int, month: int, department_id: int | None = None, today: date | None = None
) -> dict:
    """日历: the month's grid (Monday first) with, each day, its first `DAY_TASKS` tasks due
    (priority, then id; `more` counts the rest), its milestones and whether an open task due
    that day is overdue (`overdue`, a bool; each shown task has `late`); non-working days
    marked from the work calendar. Four queries (plus the calendar's cached year and the
    person's visibility), each bounded by the grid's days."""
    today = today or local_today()
    first = date(year, month, 1)
    last = date(year, month, pycalendar.monthrange(year, month)[1])
    grid_start = first - timedelta(days=first.weekday())
    grid_end = last + timedelta(days=6 - last.weekday())
    due = _due_q(user, department_id, grid_start, grid_end)
    # Only what a day shows: how many tasks it holds and whether one is open (one pass over the
    # (department, status, due) index, no row read), then its first DAY_TASKS tasks ranked by
    # a window over the same rows, then those rows by key. Loading every task of the month to
    # show four a day read ~1,000 rows, and past 1,000 left the month's last days empty.
    is_open = Case(When(status__in=_OPEN, then=1), default=0)
    per_day = {
        r["due_date"]: (r["n"], r["still_open"])
        for r in Task.objects.filter(due)
        .values("due_date")
        .annotate(n=Count("id"), still_open=Sum(is_open))
        .order_by()
    }
    first_ids = (
        Task.objects.filter(due)
        .annotate(rank=Window(RowNumber(), partition_by=[F("due_date")], order_by=[F("priority"), F("id")]))
        .filter(rank__lte=DAY_TASKS)
        .values_list("id", flat=True)
    )
    tasks = (
        list(
            Task.objects.filter(id__in=list(first_ids))
            .select_related("department")
            .only("id", "code", "title", "status", "priority", "due_date", "department__code")
            .order_by("due_date", "priority", "id")
        )
        if per_day
        else []
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
    empty = {"tasks": [], "milestones": []}
    for t in tasks:
        by_day.setdefault(t.due_date, {"tasks": [], "milestones": []})["tasks"].append(t)
        t.late = t.status not in CLOSED_STATUSES and t.due_date < today
    for m in milestones:
        by_day.setdefault(m.date, {"tasks": [], "milestones": []})["milestones"].append(m)
    weeks = []
    d = grid_start
    while d <= grid_end:
        week = []
        for _i in range(7):
            items = by_day.get(d, empty)
            n, still_open = per_day.get(d, (0, 0))
            week.append(
                {
                    "date": d,
                    "in_month": d.month == month,
                    "workday": is_workday(d),
                    "today": d == today,
                    "tasks": items["tasks"],
                    "more": n - len(items["tasks"]),
                    "milestones": items["milestones"],
                    # An open task due this day, which has passed.
                    "overdue": d < today and still_open > 0,
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
        # Tasks due in the grid's days (shown or behind a day's "+n more").
        "count": sum(n for n, _open in per_day.values()),
    }
