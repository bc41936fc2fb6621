"""Reads of the 日历 calendar: a month of due dates and milestones."""

import calendar as pycalendar
from datetime import date, timedelta

from django.db import connection
from django.db.models import Case, Count, F, OuterRef, Q, Subquery, Sum, When, Window
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


def _milestones(
    user, department_id: int | None, start: date, end: date, per_day: int = 3
) -> tuple[list, dict[date, int]]:
    """The milestones dated from `start` to `end` whose task `user` sees and is not cancelled
    (of `department_id` if given): each day's first `per_day` by id, in date then id order,
    each with its task's id (`task_id`, what the grid links to) and code (`task_code`, and
    `task_department.code`: the label names the task, SALES-T001); and how many each day
    holds in all ({date: count}, days with none left out), for the day's "+n more". A cap on
    the whole grid (500) left the last days of a busy department's month empty (1,240
    milestones in six weeks of the benchmark's department).

    Read in disjoint parts (`_milestone_parts`), each ranked by day in SQL, and merged: a
    day's first milestones overall are among each part's first ones, and its count is the sum
    of the parts'. The department part is a range of the milestones' own (department, date)
    index, never every milestone of the company in those weeks (bench s5: ~1,100 of 6,612,
    each with its task looked up; issue 16). Two to three queries."""
    firsts: dict[date, list] = {}
    per_day_n: dict[date, int] = {}
    for part in _milestone_parts(user, department_id, start, end):
        for m in (
            part.select_related("task_department")
            .annotate(
                rank=Window(RowNumber(), partition_by=[F("date")], order_by=[F("id")]),
                day_n=Window(Count("id"), partition_by=[F("date")]),
            )
            .filter(rank__lte=per_day)
            .only("id", "title", "date", "reached_at", "task_id", "task_department__code")
            .order_by("date", "id")
        ):
            firsts.setdefault(m.date, []).append(m)
            if m.rank == 1:
                per_day_n[m.date] = per_day_n.get(m.date, 0) + m.day_n
    ranked = [m for day in sorted(firsts) for m in sorted(firsts[day], key=lambda m: m.id)[:per_day]]
    return ranked, per_day_n


def _milestone_parts(user, department_id: int | None, start: date, end: date) -> list:
    """The milestones of `_milestones` as disjoint querysets: those of the departments `user`
    sees whole (by the milestone's copy of its task's department), then those elsewhere whose
    task they see by name (own, review, help, subtrees, links: `tasks.visibility`) — none
    when there are none; a superuser's all in one. Each without cancelled tasks' milestones,
    the task checked by primary key: on PostgreSQL in a scalar subquery per milestone —
    joined, it hashed every task not cancelled, a sequential scan of the table (74 ms at
    100,000 tasks); SQLite probes the joined task by primary key itself, and through the
    subquery took 60,284 VM steps instead of 37,173."""
    window = Milestone.objects.filter(date__range=(start, end))
    if department_id:
        window = window.filter(task_department_id=department_id)
    if user.is_superuser:
        parts = [window]
    else:
        v = visibility(user)
        whole = sorted(v.departments if not department_id else v.departments & {department_id})
        # One (department, date) range per department, OR'd: SQLite then walks each range of
        # `milestone_dept_date`, where `department IN (a, b)` made it take the date index
        # through every department's milestones of those weeks (bench s5, a specialist of
        # two departments: ~2,700 rows for ~900).
        by_department = Q()
        for dept in whole:
            by_department |= Q(task_department_id=dept, date__range=(start, end))
        parts = [Milestone.objects.filter(by_department)] if whole else []
        # The tasks seen by name as one subquery of tasks (their ids, their subtrees by path):
        # an OR of an id list and a subquery per subtree kept PostgreSQL off the milestones'
        # task index — it walked every milestone of the company in those weeks by date
        # (bench M, a head: ~9,000 rows, 21 ms) to keep 3.
        named = Q(id__in=sorted(v.ids)) if v.ids else Q()
        for prefix in v.subtrees:
            named |= subtree_q(prefix)
        if v.ids or v.subtrees:
            seen = Task.objects.filter(named).values("id")
            parts.append(
                window.filter(task_id__in=seen).exclude(task_department_id__in=sorted(v.departments))
            )
    if connection.vendor == "postgresql":
        # The subquery that checks the task gives its code too (`task_code`), for the label.
        shown = Task.objects.filter(pk=OuterRef("task_id")).exclude(status=Status.CANCELLED)
        return [
            part.annotate(task_code=Subquery(shown.order_by().values("code")[:1])).filter(
                task_code__isnull=False
            )
            for part in parts
        ]
    return [part.exclude(task__status=Status.CANCELLED).annotate(task_code=F("task__code")) for part in parts]


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

# A day's cell lists its first three milestones, its first four tasks (most urgent first)
# and "+n more".
DAY_MILESTONES = 3
DAY_TASKS = 4
# The years the calendar shows (`?year=`, inclusive); a month beyond them is offered no link.
YEARS = (2000, 2100)


def calendar_month(
    user, *, year: int, month: int, department_id: int | None = None, today: date | None = None
) -> dict:
    """日历: the month's grid (Monday first) with, each day, its first `DAY_TASKS` tasks due
    (priority, then id) and first `DAY_MILESTONES` milestones (by id; `more` counts the tasks
    and milestones behind them), and whether an open task due
    that day is overdue (`overdue`, a bool; each shown task has `late`); non-working days
    marked from the work calendar. Four queries (plus the calendar's cached year and the
    person's visibility), each bounded by the grid's days. `prev` / `next` are the months
    before and after as {"year", "month"}, or None past the first or last month of YEARS
    (2000-01, 2100-12): the page offers no link to a month it would refuse."""
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
    milestones, milestones_per_day = _milestones(user, department_id, grid_start, grid_end, DAY_MILESTONES)
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
                    # Tasks and milestones behind the day's first ones.
                    "more": n - len(items["tasks"]) + milestones_per_day.get(d, 0) - len(items["milestones"]),
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
        "prev": {"year": prev_y, "month": prev_m} if prev_y >= YEARS[0] else None,
        "next": {"year": next_y, "month": next_m} if next_y <= YEARS[1] else None,
        # Tasks due in the grid's days (shown or behind a day's "+n more").
        "count": sum(n for n, _open in per_day.values()),
    }
