"""Reads of planning views: the decomposition on the task page, 看板 board, 时间线 timeline,
工作量 workload and 日历 calendar. Every one starts from `Task.objects.visible_to(user)` and
runs a fixed number of queries whatever the number of tasks (pinned in tests).
"""

import calendar as pycalendar
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta

from django.db.models import Count, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.orgs.calendar import is_workday
from closeloop.orgs.models import Department, User
from closeloop.tasks.models import (
    Comment,
    DecompositionTemplate,
    Milestone,
    Priority,
    RecurrenceRule,
    Task,
    TaskDependency,
    subtree_q,
)
from closeloop.tasks.selectors import allowed_transitions, attach_people_and_criteria, local_today
from closeloop.tasks.services import department_policy
from closeloop.tasks.states import CLOSED_STATUSES, Status

# -- the decomposition on the task page ------------------------------------------------------


@dataclass
class Plan:
    subtasks: list[Task]
    dependencies: list[TaskDependency]
    milestones: list[Milestone]
    warnings: list[str]
    templates: list[DecompositionTemplate]
    recurrence: RecurrenceRule | None
    comments: list[Comment]
    tree: list[Task] = field(default_factory=list)


def plan_warnings(tree: list[Task], dependencies: list[TaskDependency]) -> list[str]:
    """Dates that contradict the plan: a subtask due after its parent, or due before a task it
    depends on (finish-to-start). Warnings only: the plan may be being reworked."""
    by_id = {t.pk: t for t in tree}
    out = []
    for t in tree:
        parent = by_id.get(t.parent_id) if t.parent_id else None
        if parent is not None and t.due_date > parent.due_date:
            out.append(
                _("%(code)s is due %(due)s, after its parent %(parent)s (due %(parent_due)s).")
                % {"code": t.code, "due": t.due_date, "parent": parent.code, "parent_due": parent.due_date}
            )
    for dep in dependencies:
        pred, succ = (
            by_id.get(dep.predecessor_id) or dep.predecessor,
            by_id.get(dep.successor_id) or dep.successor,
        )
        if succ.due_date < pred.due_date and succ.status not in CLOSED_STATUSES:
            out.append(
                _("%(code)s is due %(due)s, before %(pred)s it depends on (due %(pred_due)s).")
                % {"code": succ.code, "due": succ.due_date, "pred": pred.code, "pred_due": pred.due_date}
            )
    return out


def task_plan(user, task: Task, *, subtasks: list[Task] | None = None) -> Plan:
    """Subtasks with owners, collaborators and criteria counts; dependencies, milestones,
    warnings; the department's templates; the recurrence rule; comments. Nine queries.
    `subtasks`, when given, come from `selectors.task_detail` with their people and criteria
    attached already."""
    if subtasks is None:
        subtasks = list(
            Task.objects.filter(subtree_q(task.path))
            .exclude(pk=task.pk)
            .select_related("owner")
            .order_by("path")
        )
        attach_people_and_criteria(subtasks)
    tree = [task, *subtasks]
    ids = [t.pk for t in tree]
    for s in subtasks:
        s.indent = max(0, s.depth - task.depth - 1)
        s.is_leaf = s.next_child_number == 1 or not any(x.parent_id == s.pk for x in subtasks)
    deps = list(
        # By id, not by a path range across two joins, so each side uses its FK index.
        TaskDependency.objects.filter(Q(successor_id__in=ids) | Q(predecessor_id__in=ids))
        .select_related("predecessor", "successor")
        .order_by("id")
    )
    milestones = list(Milestone.objects.filter(task_id__in=ids).order_by("date", "id"))
    by_pred: dict[int, list[str]] = {}
    for d in deps:
        by_pred.setdefault(d.successor_id, []).append(d.predecessor.code)
    for s in subtasks:
        s.after_codes = by_pred.get(s.pk, [])
    templates = list(DecompositionTemplate.objects.filter(department_id=task.department_id).order_by("name"))
    recurrence = RecurrenceRule.objects.filter(prototype=task).first()
    comments = list(
        Comment.objects.filter(task=task).select_related("author").order_by("created_at", "id")[:200]
    )
    return Plan(
        subtasks=subtasks,
        dependencies=deps,
        milestones=milestones,
        warnings=plan_warnings(tree, deps),
        templates=templates,
        recurrence=recurrence,
        comments=comments,
        tree=tree,
    )


# -- board -----------------------------------------------------------------------------------

BOARD_STATUSES = [
    Status.NOT_STARTED,
    Status.IN_PROGRESS,
    Status.BLOCKED,
    Status.REWORK,
    Status.SUBMITTED,
    Status.DONE,
]
DONE_DAYS = 14
PER_COLUMN = 12


@dataclass
class Column:
    status: Status
    cards: list[Task]
    count: int

    @property
    def more(self) -> int:
        return max(0, self.count - len(self.cards))


def _board_base(user, *, department_id: int | None, owner_id: int | None, today: date):
    if department_id:
        qs = Task.objects.visible_in_department(user, department_id)
    else:
        qs = Task.objects.visible_to(user)
    if owner_id:
        qs = qs.filter(owner_id=owner_id)
    # Done cards stay on the board for two weeks; cancelled ones leave it. The cut-off is an
    # aware moment (local midnight), not `completed_at__date`: that casts every row in SQL.
    cutoff = datetime.combine(
        today - timedelta(days=DONE_DAYS), time.min, tzinfo=timezone.get_current_timezone()
    )
    return qs.exclude(status=Status.CANCELLED).exclude(status=Status.DONE, completed_at__lt=cutoff)


def board(
    user,
    *,
    department_id: int | None = None,
    owner_id: int | None = None,
    per_column: int = PER_COLUMN,
    today: date | None = None,
) -> list[Column]:
    """看板: one column per status with its first `per_column` cards (highest priority, then
    soonest due) and the column's total. 1 + len(columns) queries."""
    today = today or local_today()
    base = _board_base(user, department_id=department_id, owner_id=owner_id, today=today)
    totals = base.aggregate(**{s.value: Count("id", filter=Q(status=s)) for s in BOARD_STATUSES})
    columns = []
    for s in BOARD_STATUSES:
        cards = []
        if totals[s.value]:
            cards = list(board_cards(base, status=s, offset=0, limit=per_column))
            for c in cards:
                c.moves = allowed_transitions(user, c)
                c.overdue = c.is_overdue(today)
        columns.append(Column(status=s, cards=cards, count=totals[s.value]))
    return columns


def board_cards(base, *, status: str, offset: int, limit: int):
    return (
        base.filter(status=status)
        .select_related("owner", "department")
        .only(
            "id",
            "code",
            "title",
            "status",
            "priority",
            "due_date",
            "progress",
            "version",
            "owner_id",
            "initiator_id",
            "reviewer_id",
            "department_id",
            "respond_by",
            "source",
            "parent_id",
            "owner__name",
            "owner__username",
            "department__code",
            "department__name",
        )
        .order_by("priority", "due_date", "id")[offset : offset + limit]
    )


def board_more(
    user,
    *,
    status: str,
    department_id: int | None,
    owner_id: int | None,
    offset: int,
    limit: int = PER_COLUMN,
) -> list[Task]:
    today = local_today()
    base = _board_base(user, department_id=department_id, owner_id=owner_id, today=today)
    cards = list(board_cards(base, status=status, offset=offset, limit=limit))
    for c in cards:
        c.moves = allowed_transitions(user, c)
        c.overdue = c.is_overdue(today)
    return cards


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
    if tasks:
        first = min([t.start_date or t.due_date for t in tasks] + [m.date for m in milestones] + [today])
        last = max([t.due_date for t in tasks] + [m.date for m in milestones] + [today])
    else:
        first = last = today
    start = first - timedelta(days=first.weekday() + 1)  # the Sunday before: a margin
    end = last + timedelta(days=7 - last.weekday() + 6)
    n_days = (end - start).days + 1
    width = LABEL_W + n_days * dw
    base_depth = root.depth if root is not None else 0
    rows = []
    index = {}
    for i, t in enumerate(tasks):
        s = t.start_date or t.due_date
        x = LABEL_W + (s - start).days * dw
        w = max(dw, ((t.due_date - s).days + 1) * dw)
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
                "label": f"{t.code} {t.title}",
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
        cx = LABEL_W + (m.date - start).days * dw + dw / 2
        cy = row["y"] + ROW_H / 2
        marks.append(
            {
                "m": m,
                "points": f"{cx},{cy - 8} {cx + 8},{cy} {cx},{cy + 8} {cx - 8},{cy}",
                "reached": m.reached_at is not None,
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


# -- workload --------------------------------------------------------------------------------


@dataclass
class PersonLoad:
    person: User
    weeks: list[dict]
    overdue: int
    later: int
    by_priority: dict[int, int]
    total: int
    overloaded: bool


def workload(user, *, department: Department, weeks: int = 6, today: date | None = None) -> dict:
    """工作量: per member of `department`, their open tasks the viewer may see, by priority and
    by due week (overdue, this week, the next weeks, later), flagged when a week holds more
    than the department's threshold. Four queries whatever the number of tasks."""
    today = today or local_today()
    monday = today - timedelta(days=today.weekday())
    policy = department_policy(department)
    people = list(
        User.objects.filter(memberships__department=department, is_active=True)
        .order_by("name", "username")
        .distinct()
    )
    rows = (
        Task.objects.visible_to(user)
        .exclude(status__in=CLOSED_STATUSES)
        .filter(owner__in=people)
        .values("owner_id", "priority", "due_date")
        .annotate(n=Count("id"))
        .order_by()
    )
    week_starts = [monday + timedelta(weeks=i) for i in range(weeks)]
    loads: dict[int, dict] = {
        p.pk: {
            "weeks": [{"n": 0, "high": 0} for _ in range(weeks)],
            "overdue": 0,
            "later": 0,
            "prio": {1: 0, 2: 0, 3: 0},
        }
        for p in people
    }
    for r in rows:
        load = loads[r["owner_id"]]
        n = r["n"]
        load["prio"][r["priority"]] = load["prio"].get(r["priority"], 0) + n
        due = r["due_date"]
        if due < today:
            load["overdue"] += n
            slot = 0  # still to be done: it weighs on this week
        else:
            slot = (due - monday).days // 7
        if slot >= weeks:
            load["later"] += n
        else:
            load["weeks"][slot]["n"] += n
            if r["priority"] == Priority.HIGH:
                load["weeks"][slot]["high"] += n
    out = []
    for p in people:
        load = loads[p.pk]
        for w in load["weeks"]:
            w["over"] = w["n"] > policy.overload_per_week
        out.append(
            PersonLoad(
                person=p,
                weeks=load["weeks"],
                overdue=load["overdue"],
                later=load["later"],
                by_priority=load["prio"],
                total=sum(load["prio"].values()),
                overloaded=any(w["over"] for w in load["weeks"]),
            )
        )
    return {
        "people": out,
        "week_starts": week_starts,
        "policy": policy,
        "threshold": policy.overload_per_week,
    }


def person_open_tasks(user, *, person: User, limit: int = 100) -> list[Task]:
    return list(
        Task.objects.visible_to(user)
        .exclude(status__in=CLOSED_STATUSES)
        .filter(owner=person)
        .select_related("department")
        .order_by("due_date", "priority", "id")[:limit]
    )


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
    milestones = list(
        Milestone.objects.filter(date__range=(grid_start, grid_end), task__in=visible.values("id"))
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
