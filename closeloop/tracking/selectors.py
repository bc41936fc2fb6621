"""Reads of progress tracking. Every list a person sees starts from `Task.objects.visible_to`."""

from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import NotFound
from closeloop.orgs.models import Department, User
from closeloop.orgs.selectors import acceptance_routes
from closeloop.tasks.models import Priority, Task
from closeloop.tasks.selectors import access_task, routes_key, routes_q
from closeloop.tasks.states import Status
from closeloop.tasks.validation import parse_int
from closeloop.tracking import cadence
from closeloop.tracking.models import DelayWarning, ProgressUpdate, TaskForecast, UpdateState, WarningStatus

# Statuses whose owner owes updates: the work is under way.
WORKING_STATUSES = (Status.IN_PROGRESS, Status.BLOCKED, Status.REWORK)


def _leaf() -> Q:
    """Tasks that never had a subtask: a subtask takes the next of its parent's numbers, and
    tasks are never deleted nor moved, so `next_child_number` is 1 exactly on the leaves —
    read from the owed-update index, not probed against the subtasks."""
    return Q(next_child_number=1)


def _not_updated_since(day: date) -> Q:
    """No daily update on `day` or after it, from the task's copy of its latest update's day
    (`Task.last_update_day`, kept by `services.update_post`). For the department's today this
    is "none today": no update is ever for a later day."""
    return Q(last_update_day__isnull=True) | Q(last_update_day__lt=day)


def owed_q(department: Department, day: date) -> Q | None:
    """The tasks of `department` whose owner owes an update on `day`, as a WHERE clause, or
    None when nothing is owed that day (not a working day)."""
    return _owed_clause([department.pk], day, cadence.settings_for(department).review_weekday)


def _owed_clause(department_ids: list[int], day: date, review_weekday: int) -> Q | None:
    """`owed_q` for departments sharing `day` (their calendar date) and `review_weekday`
    (0 = Monday): high priority every working day, medium and low once a week (handbook
    (三): 优先级高的任务每日跟踪，中低优先级任务每周跟踪)."""
    if not cadence.owes_on(Priority.HIGH, day, review_weekday):
        return None
    q = Q(priority=Priority.HIGH) & _not_updated_since(day)
    if cadence.owes_on(Priority.MEDIUM, day, review_weekday):
        q |= Q(priority__in=[Priority.MEDIUM, Priority.LOW]) & _not_updated_since(cadence.week_start(day))
    if len(department_ids) == 1:
        return Q(department_id=department_ids[0]) & q
    return Q(department_id__in=sorted(department_ids)) & q


def owed_leaf_tasks(*, departments: list[Department], now: datetime) -> QuerySet[Task] | None:
    """The owed tasks of `owed_tasks` as a plain filter of the tasks (no relation, no order),
    or None when nothing is owed today in any of these departments. Not scoped to a viewer."""
    where = owed_leaf_q(departments=departments, now=now)
    return None if where is None else Task.objects.filter(where)


def owed_leaf_q(*, departments: list[Department], now: datetime) -> Q | None:
    """`owed_leaf_tasks` as a WHERE clause over the tasks (leaf tasks under way in these
    departments whose owner owes today's update), to AND with a viewer's own query (the task
    list's "owes today's update" filter); None when nothing is owed today in any of them.

    Departments with the same calendar date and review weekday (usually all of them) share
    one clause, `department_id IN (…)`: one clause per department OR'd, PostgreSQL read
    every candidate's row through a bitmap of each, where one clause is a range of the
    (department, priority, status, owner, due) index alone (issue 16)."""
    cadence.load_settings(departments)
    groups: dict[tuple[date, int], list[int]] = {}
    for d in departments:
        key = (cadence.local_today(d, now), cadence.settings_for(d).review_weekday)
        groups.setdefault(key, []).append(d.pk)
    where = [
        c for (day, weekday), ids in groups.items() if (c := _owed_clause(ids, day, weekday)) is not None
    ]
    if not where:
        return None
    combined = where[0]
    for c in where[1:]:
        combined |= c
    return combined & Q(status__in=WORKING_STATUSES) & _leaf()


def owed_list_q(*, department: int | None, owner: int | None, now: datetime) -> Q | None:
    """The task list's filter "owes today's update" (`?owed=1`, tasks' list condition "owed"):
    `owed_leaf_q` over the department asked for, else the departments where `owner` (when
    given) owns tasks under way, else every department. Not scoped to a viewer: the list ANDs
    it with what the person sees. Two queries (the departments, their tracking settings)
    whatever the number of tasks."""
    departments = Department.objects.order_by("pk")
    if department is not None:
        departments = departments.filter(pk=department)
    elif owner is not None:
        departments = departments.filter(
            pk__in=Task.objects.filter(owner_id=owner, status__in=WORKING_STATUSES).values("department_id")
        )
    found = list(departments)
    return owed_leaf_q(departments=found, now=now) if found else None


def owed_tasks(*, departments: list[Department], now: datetime, owner: User | None = None) -> QuerySet[Task]:
    """Leaf tasks under way in these departments whose owner owes today's update (each
    department's own today and cadence), with department and owner, by owner, due date, id.
    Not scoped to a viewer: callers scope. `now` is aware; `departments` model instances."""
    owed = owed_leaf_tasks(departments=departments, now=now)
    if owed is None:
        return Task.objects.none()
    if owner is not None:
        owed = owed.filter(owner=owner)
    # The owed tasks as a subquery, the department and owner joined around it: joined in one
    # query, SQLite walked the people and each one's (owner, department) tasks — every task
    # of the department — instead of the (department, status, due) range of the ~3,000 under
    # way (67 → 8 ms for a department of 20,000 tasks, issue 16).
    return (
        Task.objects.filter(pk__in=owed.values("pk"))
        .select_related("department", "owner")
        .order_by("owner_id", "due_date", "id")
    )


def my_owed(user: User, *, now: datetime | None = None) -> list[Task]:
    """Tasks I own that owe an update today."""
    now = now or timezone.now()
    dept_ids = Task.objects.filter(owner=user, status__in=WORKING_STATUSES).values("department_id").distinct()
    departments = list(Department.objects.filter(id__in=dept_ids))
    return list(owed_tasks(departments=departments, now=now, owner=user))


def my_open_tasks(user: User) -> QuerySet[Task]:
    """Every open leaf-or-parent task I own that could take an update, for the today form."""
    return (
        Task.objects.filter(owner=user, status__in=(*WORKING_STATUSES, Status.NOT_STARTED))
        .select_related("department", "forecast")
        .annotate(has_children=Exists(Task.objects.filter(parent_id=OuterRef("pk"))))
        .order_by("priority", "due_date", "id")
    )


def todays_updates(tasks: list[Task], day_by_dept: dict[int, date]) -> dict[int, ProgressUpdate]:
    """Today's update (if any) of each task, in one query."""
    if not tasks:
        return {}
    days = set(day_by_dept.values())
    rows = ProgressUpdate.objects.filter(task_id__in=[t.pk for t in tasks], day__in=days)
    out: dict[int, ProgressUpdate] = {}
    dept_of = {t.pk: t.department_id for t in tasks}
    for row in rows:
        if day_by_dept.get(dept_of[row.task_id]) == row.day:
            out[row.task_id] = row
    return out


def update_initial(task: Task, *, now: datetime | None = None) -> dict:
    """What the update form opens with: today's update when there is one (to correct it),
    else the last values — percent, and state and blocker while the task is still blocked —
    so the owner changes what moved instead of retyping. The note starts empty on a new day."""
    today = cadence.local_today(task.department, now or timezone.now())
    last = ProgressUpdate.objects.filter(task=task, day__lte=today).order_by("-day", "-id").first()
    if last is not None and last.day == today:
        return {"percent": last.percent, "state": last.state, "blocker": last.blocker, "note": last.note}
    blocked = task.status == Status.BLOCKED
    return {
        "percent": last.percent if last and last.percent is not None else task.progress,
        "state": UpdateState.BLOCKED if blocked else UpdateState.IN_PROGRESS,
        "blocker": last.blocker if last and blocked else "",
        "note": "",
    }


def task_updates(user: User, task_id: int | str, *, limit: int = 60) -> tuple[Task, list[ProgressUpdate]]:
    task = access_task(user, task_id)
    rows = list(
        ProgressUpdate.objects.filter(task=task).select_related("author").order_by("-day", "-id")[:limit]
    )
    return task, rows


def task_warnings(user: User, task_id: int | str) -> tuple[Task, list[DelayWarning]]:
    task = access_task(user, task_id)
    rows = list(
        DelayWarning.objects.filter(task=task)
        .select_related("raised_by", "decided_by", "escalated_to")
        .order_by("-raised_at", "-id")
    )
    return task, rows


def access_warning(user: User, pk: int | str) -> DelayWarning:
    """A delay warning on a task the user may see, or NotFound."""
    pk_int = parse_int(pk)
    if pk_int is None or pk_int < 1:
        raise NotFound(_("Delay warning not found."))
    warning = (
        DelayWarning.objects.filter(pk=pk_int, task__in=Task.objects.visible_to(user))
        .select_related("task", "task__department", "task__owner", "raised_by", "decided_by", "escalated_to")
        .first()
    )
    if warning is None:
        raise NotFound(_("Delay warning not found."))
    return warning


def warning_routes_q(user: User) -> Q:
    """The pending delay warnings that wait for `user`'s decision, as a WHERE clause on the
    warnings (a superuser decides all: no clause needed, check `is_superuser` first). Whom a
    warning asks (`services.warning_deciders`) is whom a submission asks (DESIGN "Who may do
    what": the head or deputy, never the raiser; a head's own for the superior; a
    department nobody leads climbs), so the person's acceptance routes
    (`orgs.selectors.acceptance_routes`) with the raiser for the owner — plus whatever was
    escalated to them. Leading a department above does not put its members' ordinary
    warnings in one's queue (the CEO saw every department's)."""
    mine = Q(escalated_to_id=user.pk)
    routes = routes_key(acceptance_routes(user))
    if routes:
        mine |= routes_q(routes, department="task__department_id", person="raised_by_id")
    return mine


def pending_warnings_for(user: User) -> QuerySet[DelayWarning]:
    """Warnings awaiting this person's decision: pending, not their own, of the
    departments whose warnings ask them (`warning_routes_q`) or escalated to them."""
    qs = DelayWarning.objects.filter(status=WarningStatus.PENDING).exclude(raised_by=user)
    if not user.is_superuser:
        qs = qs.filter(warning_routes_q(user))
    return qs.select_related("task", "task__department", "task__owner", "raised_by").order_by(
        "decide_by", "id"
    )


def forecast_of(task: Task) -> TaskForecast | None:
    try:
        return task.forecast
    except TaskForecast.DoesNotExist:
        return None


@dataclass
class Flags:
    overdue: bool
    at_risk: bool
    blocked: bool
    forecast: TaskForecast | None


def flags_for(task: Task, today: date) -> Flags:
    fc = forecast_of(task)
    return Flags(
        overdue=task.is_overdue(today),
        at_risk=bool(fc and fc.at_risk and task.is_open),
        blocked=task.status == Status.BLOCKED,
        forecast=fc,
    )


def owed_by_person(tasks: list[Task]) -> list[tuple[User, list[Task]]]:
    groups: dict[int, list[Task]] = defaultdict(list)
    people: dict[int, User] = {}
    for t in tasks:
        groups[t.owner_id].append(t)
        people[t.owner_id] = t.owner
    return sorted(((people[k], v) for k, v in groups.items()), key=lambda p: p[0].username)


def with_flags(qs: QuerySet[Task]) -> QuerySet[Task]:
    """Load what `{% tracking_flags %}` needs with the list's own query."""
    return qs.select_related("forecast")
