"""Reads of the 日历 calendar: a month of due dates and milestones."""

import calendar as pycalendar
from datetime import date, timedelta
from functools import reduce
from operator import or_

from django.core.exceptions import EmptyResultSet
from django.db import connection
from django.db.models import Case, Count, F, Q, Sum, When, Window
from django.db.models.functions import RowNumber

from closeloop.core.dates import CALENDAR_MIN, DATE_MAX
from closeloop.orgs.calendar import is_workday
from closeloop.orgs.models import Department
from closeloop.tasks.models import (
    Milestone,
    Task,
    subtree_q,
)
from closeloop.tasks.selectors import local_today, my_work_rows, visibility
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

    Ranked in disjoint parts (`_milestone_parts`), each by day in SQL over the milestones' own
    columns — the department part from the `milestone_shown_dept_date` index alone, no task
    looked up — and merged: a day's first milestones overall are among each part's first
    ones, and its count is the sum of the parts'. Then the shown ones (at most `per_day` a
    day) read whole with their task's code. Two to three queries (bench s5, a specialist of
    two departments: each of ~2,400 milestones had its task looked up, twice on PostgreSQL;
    issue 16)."""
    firsts: dict[date, list[int]] = {}
    per_day_n: dict[date, int] = {}
    for part in _milestone_parts(user, department_id, start, end):
        for pk, day, rank, day_n in (
            part.annotate(
                rank=Window(RowNumber(), partition_by=[F("date")], order_by=[F("id")]),
                day_n=Window(Count("id"), partition_by=[F("date")]),
            )
            .filter(rank__lte=per_day)
            .order_by()
            .values_list("id", "date", "rank", "day_n")
        ):
            firsts.setdefault(day, []).append(pk)
            if rank == 1:
                per_day_n[day] = per_day_n.get(day, 0) + day_n
    shown = [pk for day in firsts.values() for pk in sorted(day)[:per_day]]
    if not shown:
        return [], per_day_n
    ranked = list(
        Milestone.objects.filter(id__in=shown)
        .select_related("task_department")
        .annotate(task_code=F("task__code"))
        .only("id", "title", "date", "reached_at", "task_id", "task_department__code")
        .order_by("date", "id")
    )
    return ranked, per_day_n


def _milestone_parts(user, department_id: int | None, start: date, end: date) -> list:
    """The milestones of `_milestones` as disjoint querysets: those of the departments `user`
    sees whole (by the milestone's copy of its task's department), then those elsewhere whose
    task they see by name (own, review, help, subtrees, links: `tasks.visibility`) — none
    when there are none; a superuser's every department. Each without cancelled tasks' milestones,
    by the milestone's copy of that (`Milestone.task_cancelled`, the condition of the
    `milestone_shown_dept_date` index)."""
    window = Milestone.objects.filter(date__range=(start, end), task_cancelled=False)
    if department_id:
        window = window.filter(task_department_id=department_id)
    if user.is_superuser:
        # Every department, as ranges of the index (a superuser sees them all).
        whole = [department_id] if department_id else sorted(Department.objects.values_list("id", flat=True))
        v = None
    else:
        v = visibility(user)
        whole = sorted(v.departments if not department_id else v.departments & {department_id})
    # One (department, date) range of `milestone_shown_dept_date` per department, OR'd, the
    # index's condition inside each (SQLite matches a partial index to each OR term alone):
    # SQLite walks each range, where `department IN (a, b)` made it take a date index through
    # every department's milestones of those weeks (bench s5, a specialist of two departments:
    # ~2,700 rows for ~900).
    by_department = Q()
    for dept in whole:
        by_department |= Q(task_department_id=dept, date__range=(start, end), task_cancelled=False)
    parts = [Milestone.objects.filter(by_department)] if whole else []
    if v is None:
        return parts
    # The tasks seen by name as one subquery of tasks (their ids, their subtrees by path):
    # an OR of an id list and a subquery per subtree kept PostgreSQL off the milestones'
    # task index — it walked every milestone of the company in those weeks by date
    # (bench M, a head: ~9,000 rows, 21 ms) to keep 3.
    named = Q(id__in=sorted(v.ids)) if v.ids else Q()
    for prefix in v.subtrees:
        named |= subtree_q(prefix)
    if v.ids or v.subtrees:
        seen = Task.objects.filter(named).values("id")
        parts.append(window.filter(task_id__in=seen).exclude(task_department_id__in=sorted(v.departments)))
    return parts


def _due_parts(user, department_id: int | None, start: date, end: date) -> list[Q]:
    """Tasks `user` sees (of `department_id` if given) due from `start` to `end`, not
    cancelled, as disjoint filters: the departments they see whole, then the tasks they see by
    name elsewhere (own, review, help, subtrees) — one filter for a superuser. The dates and
    statuses sit inside each filter: SQLite then reads the (department, status, due) index for
    the person's departments instead of the due-date index through every department's tasks
    (4x the rows at 100,000 tasks), and PostgreSQL reads that part from the index alone."""
    window = Q(due_date__range=(start, end))
    if user.is_superuser:
        q = Q(status__in=_SHOWN) & window
        return [q & Q(department_id=department_id) if department_id else q]
    v = visibility(user)
    departments = v.departments if not department_id else v.departments & {department_id}
    other = Q(id__in=v.ids)
    for path in v.subtrees:
        other |= subtree_q(path)
    other &= window & ~Q(status=Status.CANCELLED)
    if department_id:
        other &= Q(department_id=department_id)
    if not departments:
        return [other]
    whole = Q(department_id__in=departments, status__in=_SHOWN) & window
    return [whole, other & ~Q(department_id__in=departments)]


def _days_and_first_tasks(
    parts: list[Q], limit: int | None = None
) -> tuple[dict[date, tuple[int, int]], list[int]]:
    """Only what 日历's days show of the tasks matching any of `parts` (`_due_parts`): each
    day's task count and open count ({date: (n, open)}, days with none left out) and the ids
    of each day's first `limit` tasks (DAY_TASKS unless given: the day page asks for
    DAY_PAGE), priority then id, ranked by a window — never every
    task of the month loaded (that read ~1,000 rows, and past 1,000 left the month's last days
    empty).

    PostgreSQL reads the rows once — the parts as a UNION ALL, the departments' from the
    (department, status, due) index alone (it INCLUDEs the id), the counts on the ranking's
    windows: the parts OR'd made it read every row from the table (a bitmap heap scan), and
    counted in a statement of their own it read them twice (bench s5, a specialist of two
    departments: ~10,000 rows; two statements of 35 and ~20 ms under EXPLAIN ANALYZE became
    one of 31, 0 heap fetches). SQLite counts in a pass of its own over the
    index, which covers it; the counts as windows cost its ranking's sort more than that pass
    (measured: 33 against 37 ms for a head)."""
    limit = limit or DAY_TASKS
    if connection.vendor == "postgresql":
        return _days_and_first_tasks_pg(parts, limit)
    tasks = Task.objects.filter(reduce(or_, parts))
    is_open = Case(When(status__in=_OPEN, then=1), default=0)
    per_day = {
        r["due_date"]: (r["n"], r["still_open"])
        for r in tasks.values("due_date").annotate(n=Count("id"), still_open=Sum(is_open)).order_by()
    }
    if not per_day:
        return per_day, []
    first_ids = list(
        tasks.annotate(
            rank=Window(RowNumber(), partition_by=[F("due_date")], order_by=[F("priority"), F("id")])
        )
        .filter(rank__lte=limit)
        .values_list("id", flat=True)
    )
    return per_day, first_ids


def _days_and_first_tasks_pg(parts: list[Q], limit: int) -> tuple[dict[date, tuple[int, int]], list[int]]:
    """`_days_and_first_tasks` on PostgreSQL: one statement over the parts' UNION ALL."""
    selects, params = [], []
    for part in parts:
        try:
            sql, part_params = (
                Task.objects.filter(part)
                .order_by()
                .values_list("id", "due_date", "priority", "status")
                .query.sql_with_params()
            )
        except EmptyResultSet:  # a part that matches nothing (no tasks seen by name)
            continue
        selects.append(f"({sql})")
        params.extend(part_params)
    if not selects:
        return {}, []
    is_open = ", ".join(["%s"] * len(_OPEN))
    statement = (
        "SELECT id, due_date, rn, n, n_open FROM ("  # noqa: S608 - compiled querysets, placeholders
        " SELECT id, due_date, ROW_NUMBER() OVER by_rank AS rn, COUNT(*) OVER by_day AS n,"
        f" COUNT(*) FILTER (WHERE status IN ({is_open})) OVER by_day AS n_open"
        f" FROM ({' UNION ALL '.join(selects)}) AS due"
        " WINDOW by_day AS (PARTITION BY due_date), by_rank AS (by_day ORDER BY priority, id)"
        ") AS ranked WHERE rn <= %s"
    )
    with connection.cursor() as cursor:
        cursor.execute(statement, [*_OPEN, *params, limit])
        rows = cursor.fetchall()
    per_day = {day: (n, n_open) for _pk, day, rn, n, n_open in rows if rn == 1}
    return per_day, [row[0] for row in rows]


# -- calendar --------------------------------------------------------------------------------

# A day's cell lists its first three milestones, its first four tasks (most urgent first)
# and "+n more".
DAY_MILESTONES = 3
DAY_TASKS = 4
# The years the calendar shows (`?year=`, inclusive); a month beyond them is offered no link.
# The same range bounds a milestone's date (`core.dates.CALENDAR_MIN`).
YEARS = (CALENDAR_MIN.year, DATE_MAX.year)


def calendar_month(
    user, *, year: int, month: int, department_id: int | None = None, today: date | None = None
) -> dict:
    """日历: the month's grid (Monday first) with, each day, its first `DAY_TASKS` tasks due
    (priority, then id) and first `DAY_MILESTONES` milestones (by id; `more` counts the tasks
    and milestones behind them), and whether an open task due
    that day is overdue (`overdue`, a bool; each shown task has `late`); non-working days
    marked from the work calendar. Four to six queries (`_days_and_first_tasks`, the shown
    tasks, `_milestones`; plus the calendar's cached year and the person's visibility), each
    bounded by the grid's days. `prev` / `next` are the months
    before and after as {"year", "month"}, or None past the first or last month of YEARS
    (2000-01, 2100-12): the page offers no link to a month it would refuse."""
    today = today or local_today()
    first = date(year, month, 1)
    last = date(year, month, pycalendar.monthrange(year, month)[1])
    grid_start = first - timedelta(days=first.weekday())
    grid_end = last + timedelta(days=6 - last.weekday())
    per_day, first_ids = _days_and_first_tasks(_due_parts(user, department_id, grid_start, grid_end))
    tasks = (
        list(
            Task.objects.filter(id__in=first_ids)
            .select_related("department")
            .only("id", "code", "title", "status", "priority", "due_date", "department__code")
            .order_by("due_date", "priority", "id")
        )
        if first_ids
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


# -- a day -------------------------------------------------------------------------------------

# 日历's day page lists at most this many milestones, and as many tasks: far more than a day
# of a department holds (bench s5: 1,240 milestones in six weeks of its busiest department,
# ~30 a day), a bound for a superuser's whole company. Past it the page says how many there are and offers the department picker
# (and, for the tasks, the task list of the day, which pages).
DAY_PAGE = 300


def calendar_day(user, *, day: date, department_id: int | None = None, today: date | None = None) -> dict:
    """日历's day page (`tasks:calendar_day`, what a day's "+n more" leads to): every milestone
    dated `day` and every task due on it that `user` sees, not cancelled (of `department_id`
    if given) — through the month grid's own reads (`_milestones`, `_due_parts` and
    `_days_and_first_tasks` for the one day), so the page lists exactly what the cell counts,
    scoped by the same rule. `milestones` by id (the grid's order: the cell's first ones come
    first), each with `task_code` and `task_department`; `tasks` by priority then id (the
    same), each with `late` (open and past `today`), read as 我的工作's rows are
    (`tasks.selectors.my_work_rows`: department and owner joined). Each list holds at most
    DAY_PAGE; `milestone_count` and `task_count` are the day's full numbers; `prev` / `next`
    the days around it within YEARS, else None. At most seven queries whatever the day holds
    (asserted in `planning/tests/test_calendar_day.py`): the person's visibility, one per
    part and one read for the milestones, the tasks' ranking (two on SQLite, one on
    PostgreSQL) and the shown tasks."""
    today = today or local_today()
    milestones, milestone_counts = _milestones(user, department_id, day, day, DAY_PAGE)
    per_day, first_ids = _days_and_first_tasks(_due_parts(user, department_id, day, day), DAY_PAGE)
    tasks = (
        sorted(
            my_work_rows(Task.objects.filter(id__in=first_ids)).order_by(),
            key=lambda t: (t.priority, t.pk),
        )
        if first_ids
        else []
    )
    for t in tasks:
        t.late = t.status not in CLOSED_STATUSES and t.due_date < today
    task_count, _open = per_day.get(day, (0, 0))
    return {
        "day": day,
        "milestones": milestones,
        "milestone_count": milestone_counts.get(day, 0),
        "tasks": tasks,
        "task_count": task_count,
        "prev": day - timedelta(days=1) if day > date(YEARS[0], 1, 1) else None,
        "next": day + timedelta(days=1) if day < date(YEARS[1], 12, 31) else None,
    }
