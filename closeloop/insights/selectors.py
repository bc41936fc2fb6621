"""Reads across the loop for 仪表盘 (dashboard) and 周复盘 (weekly review). Every task list
starts from what the person may see (`Task.objects.visible_in_departments`, the visibility
clause unless they see the departments whole); query counts do not grow with the data.

Cost does not grow with the history either (issue 16): every query is bounded by what the
page shows — open work through the (department, status, due) index with the open statuses
named (`status IN (…)`, not `NOT IN (done, cancelled)`, which reads every finished task of
the department too), completions through the partial (department, completed_at) index of
done tasks over the page's time window (four weeks, eight weeks), never the whole
department. The on-time rates are counted by the database on each completion's date in its
department's zone (`insights.localday`): a row per person, a row per day of the trend,
instead of every completion of the window converted in Python.

周复盘 of a past week shows what was overdue, blocked and due the week after at that week's
end, not today: each task's status and due date then, rebuilt from the event log
(`_open_lists_then`) by reading only the events since the week's end of the tasks that can
have changed (open now, or closed since)."""

from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from heapq import merge
from itertools import islice

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.fields.json import KT
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.collab import selectors as collab_selectors
from closeloop.core import compiled
from closeloop.core.errors import NotFound
from closeloop.insights.localday import LocalDate, offset_case, tally_on_time, tally_sql
from closeloop.insights.models import WeeklyReview
from closeloop.orgs.models import Department, User, display_name
from closeloop.orgs.selectors import acceptance_routes, led_department_ids, visible_department_ids
from closeloop.review import selectors as review_selectors
from closeloop.tasks.models import CompletionDay, Task, TaskEvent
from closeloop.tasks.selectors import routes_key, routes_q
from closeloop.tasks.states import OPEN_STATUSES, Status
from closeloop.tracking import cadence
from closeloop.tracking import selectors as tracking
from closeloop.tracking.models import DelayReason, DelayWarning

LIST_LIMIT = 20
# 仪表盘's missing updates: the first tasks each person owes (by due date), then "N more".
MISSING_PER_PERSON = 5
TREND_WEEKS = 8


def _scope_departments(user: User) -> list[Department]:
    """A head's own departments (and those below); otherwise every department they see."""
    if user.is_superuser:
        return list(Department.objects.order_by("code"))
    ids = led_department_ids(user) or visible_department_ids(user)
    return list(Department.objects.filter(id__in=ids).order_by("code"))


def _within(user: User, department_ids: list[int], base: QuerySet[Task], field: str = "task") -> Q:
    """Rows whose task (`field`) the user sees among these departments' tasks: the plain
    department filter when they see the departments whole (as `visible_in_departments`
    decides), so the related rows (warnings, owed updates) are found through their own
    indexes — `task IN (SELECT id … WHERE department_id = …)` lists every task the
    department ever had (issue 16); otherwise the visible tasks as a subquery."""
    if user.is_superuser or visible_department_ids(user).issuperset(department_ids):
        prefix = f"{field}__" if field != "pk" else ""
        return Q(**{f"{prefix}department_id__in": list(department_ids)})
    return Q(**{f"{field}__in": base.values("pk")})


def _tasks(user: User, departments: list[Department]) -> QuerySet[Task]:
    return Task.objects.visible_in_departments(user, [d.pk for d in departments]).select_related(
        "department", "owner", "forecast"
    )


@dataclass
class PersonRate:
    user_id: int
    name: str
    done: int
    on_time: int
    on_time_original: int
    # From review: accepted tasks, how many at the first attempt, attempts in all.
    accepted: int = 0
    first_pass: int = 0
    attempts: int = 0

    @property
    def first_pass_rate(self) -> int | None:
        return round(100 * self.first_pass / self.accepted) if self.accepted else None

    @property
    def average_attempts(self) -> float | None:
        return round(self.attempts / self.accepted, 1) if self.accepted else None

    @property
    def rate(self) -> int | None:
        return round(100 * self.on_time / self.done) if self.done else None

    @property
    def rate_original(self) -> int | None:
        return round(100 * self.on_time_original / self.done) if self.done else None


@dataclass
class Dashboard:
    # The departments shown, and all those the person may narrow the page to (`choices`);
    # `narrowed` is the one asked for, None when the page shows them all.
    departments: list[Department]
    today: date
    choices: list[Department] = field(default_factory=list)
    narrowed: Department | None = None
    # Heads and deputies (and superusers): they read the department's missing updates here.
    leads: bool = False
    counts: dict[str, int] = field(default_factory=dict)
    at_risk: list[Task] = field(default_factory=list)
    overdue: list[Task] = field(default_factory=list)
    blocked: list[Task] = field(default_factory=list)
    warnings: list[DelayWarning] = field(default_factory=list)
    acceptances: list[Task] = field(default_factory=list)
    # Open issues of these departments escalated to me (collab's ladder): decisions too.
    escalations: list = field(default_factory=list)
    # Who owes today's update: each person with how many tasks they owe and the first
    # MISSING_PER_PERSON of them (`OwedPerson`); `missing` those rows in the list's order.
    missing: list["OwedRow"] = field(default_factory=list)
    missing_by_person: list["OwedPerson"] = field(default_factory=list)
    rates: list[PersonRate] = field(default_factory=list)


def dashboard(user: User, *, department_id: int | None = None, now: datetime | None = None) -> Dashboard:
    """仪表盘: at risk, overdue, blocked, awaiting my decision, missing updates today — each a
    count and a list — and each person's on-time rate over the last four weeks, over the
    departments the person leads (else those they belong to); `department_id` narrows it to
    one of them, and is ignored (`narrowed` None) when it is none of them: nobody reads a
    department outside their own this way."""
    now = now or timezone.now()
    choices = _scope_departments(user)
    narrowed = (
        next((d for d in choices if d.pk == department_id), None) if department_id is not None else None
    )
    departments = [narrowed] if narrowed else choices
    today = departments[0].local_today(now) if departments else timezone.localdate(now)
    led = led_department_ids(user)
    out = Dashboard(
        departments=departments,
        today=today,
        choices=choices,
        narrowed=narrowed,
        leads=bool(led) or user.is_superuser,
    )
    if not departments:
        return out
    base = _tasks(user, departments)
    # The lists' rows load what they show (as the weekly review's, `_WEEK_ROW_FIELDS`).
    open_ = base.filter(status__in=_OPEN)
    days = _overdue_days(departments, now)
    overdue_q = _overdue_q(days)
    # At risk: the task's copy of its forecast's flag (`Task.at_risk`), a range of the partial
    # `task_at_risk` index (department, status, due) — no join to the forecasts.
    counts = _counts(
        at_risk=open_.filter(at_risk=True),
        overdue=open_.filter(overdue_q),
        blocked=open_.filter(status=Status.BLOCKED),
    )
    lists = _TaskLists(user, departments, base)
    out.at_risk = lists.rows("at_risk", lambda qs: qs.filter(status__in=_OPEN).filter(at_risk=True))
    if len(days) == 1:  # one time zone: the same statement every visit
        out.overdue = lists.rows(
            "overdue", lambda qs, day: qs.filter(status__in=_OPEN).filter(due_date__lt=day), next(iter(days))
        )
    else:
        out.overdue = lists.rows(
            "overdue", lambda qs: qs.filter(status__in=_OPEN).filter(overdue_q), by_orm=True
        )
    out.blocked = lists.rows("blocked", lambda qs: qs.filter(status__in=_OPEN).filter(status=Status.BLOCKED))
    dept_ids = [d.pk for d in departments]
    # What the list shows of each warning (`_WARNING_ROW_FIELDS`): built whole, each row was a
    # warning, its whole task, a department and two people (bench s5, a head's 20 rows:
    # 15,758 → 6,085 Python calls).
    out.warnings = list(
        tracking.pending_warnings_for(user)
        .filter(_within(user, dept_ids, base))
        .select_related(None)
        .select_related("task__department")
        .only(*_WARNING_ROW_FIELDS)[:LIST_LIMIT]
    )
    # Mine to accept: those I review, and those without a reviewer that are mine by the
    # departments (`acceptance_routes`, as 我的工作 and `can_review`: the head's or deputy's
    # department's, a head's own for the superior); never my own. The routes are constants
    # of the statement (part of its key: one per person who leads, few).
    routes = () if user.is_superuser else routes_key(acceptance_routes(user))

    def awaiting(qs, me, other):
        mine = Q(reviewer_id=me)
        if user.is_superuser:
            mine |= Q(reviewer__isnull=True)
        elif routes:
            mine |= Q(reviewer__isnull=True) & routes_q(routes)
        return qs.filter(mine, status=Status.SUBMITTED).exclude(owner_id=other)

    out.acceptances = lists.rows(
        ("acceptances", user.is_superuser, routes),
        awaiting,
        user.pk,
        user.pk,
        order=("submitted_at", "id"),
    )
    owed = tracking.owed_leaf_tasks(departments=departments, now=now)
    by_person = [] if owed is None else _owed_people(owed.filter(_within(user, dept_ids, base, "pk")))
    out.missing_by_person = by_person
    out.missing = [t for p in by_person for t in p.tasks]
    escalated, out.escalations = collab_selectors.escalated_to(
        user, department_ids=dept_ids, limit=LIST_LIMIT
    )
    counts["decisions"] = len(out.warnings) + len(out.acceptances) + escalated
    counts["missing_updates"] = sum(p.total for p in by_person)
    out.counts = counts
    out.rates = on_time_rates(user, departments, since=now - timedelta(days=28))
    return out


_WARNING_ROW_FIELDS = (
    "id",
    "task",
    "reason",
    "old_due_date",
    "new_due_date",
    "on_time",
    "task__code",
    "task__title",
    "task__department",
    "task__department__code",
)


class _TaskLists:
    """仪表盘's task lists (at risk, overdue, blocked, awaiting acceptance): the first
    LIST_LIMIT tasks of `departments` the person sees, with what the rows show
    (`_WEEK_ROW_FIELDS`). Who sees the departments whole reads them by statements compiled
    once per connection (`core.compiled.rows`, prepared on PostgreSQL): building and
    compiling the four querysets was ~16,000 of a page's ~120,000 Python calls (bench s5);
    anyone else through `base`, their visibility clause, by the ORM."""

    def __init__(self, user: User, departments: list[Department], base: QuerySet[Task]):
        self.ids = [d.pk for d in departments]
        self.whole = user.is_superuser or visible_department_ids(user).issuperset(self.ids)
        self.base = base

    def rows(
        self, key, build, *args, order: tuple[str, str] = ("due_date", "id"), by_orm: bool = False
    ) -> list[Task]:
        """`build(tasks, *args)` (a filter of the person's tasks) in `order`, cut at
        LIST_LIMIT. `key` names the statement (with the number of departments; `args` ints,
        strs and dates); `by_orm`: a rare shape, not kept compiled."""
        n = len(self.ids)

        def query(*values):
            tasks = Task.objects.filter(department_id__in=values[:n]).select_related(
                "department", "owner", "forecast"
            )
            return build(tasks.only(*_WEEK_ROW_FIELDS), *values[n:]).order_by(*order)[:LIST_LIMIT]

        if by_orm or not self.whole:
            return list(build(self.base.only(*_WEEK_ROW_FIELDS), *args).order_by(*order)[:LIST_LIMIT])
        return compiled.rows(("insights.dashboard", key, n, LIST_LIMIT), Task, query, [*self.ids, *args])


def _counts(**parts: QuerySet) -> dict[str, int]:
    """How many rows each queryset has, keyed as given: one query of scalar subqueries, each
    counted on its own index — overdue and blocked as ranges of the (department, status,
    due) index alone, at risk from the forecasts at risk. Counted with FILTERs over one scan
    of the open tasks, every open task was read and joined to its forecast (a department of
    20,000 tasks: PostgreSQL 9.4 → 6.6 ms, SQLite 4.0 → 2.6 ms, issue 16)."""
    names, selects, params = list(parts), [], []
    for i, qs in enumerate(parts.values()):
        sql, p = qs.order_by().values("pk").query.sql_with_params()
        selects.append(f"(SELECT COUNT(*) FROM ({sql}) c{i})")  # noqa: S608 - compiled querysets
        params.extend(p)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {', '.join(selects)}", params)  # noqa: S608 - compiled querysets
        return dict(zip(names, cursor.fetchone(), strict=True))


@dataclass(slots=True, frozen=True)
class _Code:
    code: str


@dataclass(slots=True, frozen=True)
class _Person:
    pk: int
    username: str
    display_name: str


@dataclass(slots=True, frozen=True)
class OwedRow:
    """A task of the missing-update list: what the list shows of it (code, title, link, due
    date, owner's name), read as plain columns — ~350 rows on a working day in a department
    of 20,000 tasks, each a task, a department and a person built whole cost ~1,500 model
    instances a page (issue 16). Attribute names as a Task's (`department.code`,
    `owner.display_name`), for the template tag."""

    pk: int
    code: str
    title: str
    due_date: date
    owner_id: int
    department_id: int
    department: _Code
    owner: _Person


@dataclass(slots=True, frozen=True)
class OwedPerson:
    """A person of the missing-update list: how many of the tasks they owe today's update on
    (`total`, all of them) and the first MISSING_PER_PERSON (`tasks`, by due date and id)."""

    person: _Person
    total: int
    tasks: list[OwedRow]

    @property
    def more(self) -> int:
        """How many owed tasks the list does not name."""
        return self.total - len(self.tasks)


_OWED_TASK_COLUMNS = ("id", "owner_id", "due_date", "department_id")


def _owed_people(owed: QuerySet[Task], per_person: int = MISSING_PER_PERSON) -> list[OwedPerson]:
    """Each owner of `owed` (a filter of the tasks, `tracking.owed_leaf_tasks`) by username,
    with how many tasks they owe and the first `per_person` by due date and id.

    One statement: the owed tasks' keys read from the (department, priority, status, owner,
    due) index alone, numbered and counted per owner by window functions, and only the rows
    shown joined to the task (code, title), its department and owner. It read every owed
    task's row and cut the list at 500: a specialist of two departments owing 1,256 saw 500
    in the count and lost the people past the cut (bench s5; PostgreSQL 1,846 rows fetched,
    ~10 ms of a ~15 ms statement)."""
    inner = owed.order_by().values_list(*_OWED_TASK_COLUMNS)
    sql, params = inner.query.sql_with_params()
    due = Task._meta.get_field("due_date").get_col(Task._meta.db_table)
    converters = [*connection.ops.get_db_converters(due), *due.get_db_converters(connection)]
    task, dept, person = Task._meta.db_table, Department._meta.db_table, User._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT o.id, t.code, t.title, o.due_date, o.owner_id, o.department_id, o.n, d.code, u.name,"  # noqa: S608 - a compiled queryset
            f" u.first_name, u.last_name, u.username FROM (SELECT w.* FROM (SELECT s.*,"
            f" ROW_NUMBER() OVER (PARTITION BY s.owner_id ORDER BY s.due_date, s.id) AS rn,"
            f" COUNT(*) OVER (PARTITION BY s.owner_id) AS n FROM ({sql}) s) w WHERE w.rn <= %s) o"
            f" INNER JOIN {task} t ON t.id = o.id INNER JOIN {dept} d ON d.id = o.department_id"
            f" INNER JOIN {person} u ON u.id = o.owner_id ORDER BY u.username, o.owner_id, o.due_date, o.id",
            [*params, per_person],
        )
        fetched = cursor.fetchall()
    codes: dict[int, _Code] = {}
    out: list[OwedPerson] = []
    for pk, code, title, day, owner_id, dept_id, total, dept_code, name, first, last, username in fetched:
        for convert in converters:
            day = convert(day, due, connection)
        department = codes.get(dept_id) or codes.setdefault(dept_id, _Code(dept_code))
        if not out or out[-1].person.pk != owner_id:
            owner = _Person(owner_id, username, display_name(name, first, last, username))
            out.append(OwedPerson(owner, total, []))
        out[-1].tasks.append(OwedRow(pk, code, title, day, owner_id, dept_id, department, out[-1].person))
    return out


# Named, in a fixed order: `status IN (open …)` is a range of the (department, status, due)
# index; `NOT IN (done, cancelled)` is not, and reads every finished task as well.
_OPEN = sorted(OPEN_STATUSES)


def _overdue_days(departments: list[Department], now: datetime) -> dict[date, list[int]]:
    """Each department's own calendar date `now` (aware): {date: [department id, …]}."""
    by_day: dict[date, list[int]] = {}
    for d in departments:
        by_day.setdefault(d.local_today(now), []).append(d.pk)
    return by_day


def _overdue_q(by_day: dict[date, list[int]]) -> Q:
    """Due before today, where today is each department's own calendar date (`_overdue_days`;
    one clause per time zone, usually just `due_date < today`), so every viewer counts the
    same tasks."""
    if len(by_day) == 1:
        return Q(due_date__lt=next(iter(by_day)))
    q = Q(pk__in=[])
    for day, ids in by_day.items():
        q |= Q(department_id__in=ids, due_date__lt=day)
    return q


def on_time_rates(user: User, departments: list[Department], *, since: datetime) -> list[PersonRate]:
    """Per owner, tasks completed since `since` (aware): how many, and how many by the
    approved and by the original due date, the completion day taken in the task's
    department's zone (as its due date is, not the viewer's). Sorted by name; with first-pass
    acceptance and attempts from review over the same window.

    Who sees the departments whole reads the completion tally (`CompletionDay`, kept as
    tasks complete): the days after `since`'s own, a row per owner and day, plus the
    completions of `since`'s day from `since` on, row by row (issue 16 item 4: a head's four
    weeks were ~4,600 completions read and dated one by one). Someone who sees only part of a
    department counts the tasks they see, through the partial (department, completed_at)
    index of done tasks, by the database (`localday`)."""
    ids = [d.pk for d in departments]
    if user.is_superuser or visible_department_ids(user).issuperset(ids):
        people = _rates_from_tally(user, departments, since)
    else:
        people = _rates_from_tasks(user, departments, since)
    # First-pass acceptance and attempts (review), over the same people and window.
    quality = review_selectors.quality_by(user, group="owner", since=since, department_ids=ids)
    for owner_id, q in quality.items():
        if owner_id in people:
            r = people[owner_id]
            r.accepted, r.first_pass, r.attempts = q.accepted, q.first_pass, q.attempts
    return sorted(people.values(), key=lambda r: r.name)


def _by_zone(departments: list[Department]) -> list[tuple]:
    """The departments' ids grouped by time zone, as [(tzinfo, [id, …])] in first-seen order."""
    zones: dict[str, tuple] = {}
    for d in departments:
        zones.setdefault(str(d.tzinfo), (d.tzinfo, []))[1].append(d.pk)
    return list(zones.values())


def _rates_from_tally(user: User, departments: list[Department], since: datetime) -> dict[int, PersonRate]:
    """The tally's days after `since`'s local day in each department, and `since`'s day itself
    from `since` on counted from the done tasks by the database (`localday`, through the
    partial (department, completed_at) index), summed per owner in one query; then the
    people's names."""
    # Departments by zone (usually one): `since`'s day and the midnight that ends it.
    zones = _by_zone(departments)
    after = Q(pk__in=[])
    first_day = Q(pk__in=[])
    end = since
    for tz, ids in zones:
        day = timezone.localtime(since, tz).date()
        after |= Q(department_id__in=ids, day__gt=day)
        next_midnight = datetime.combine(day + timedelta(days=1), datetime.min.time(), tz)
        first_day |= Q(department_id__in=ids, completed_at__lt=next_midnight)
        end = max(end, next_midnight)
    days_sql, days_params = (
        CompletionDay.objects.filter(after)
        .order_by()
        .values_list("owner_id", "done", "on_time", "on_time_original")
        .query.sql_with_params()
    )
    pairs = [(tz, None if len(zones) == 1 else ids) for tz, ids in zones]
    local = LocalDate("completed_at", offset_case(pairs, since, end, moment="completed_at"))
    first_sql, first_params = tally_sql(
        Task.objects.filter(first_day, status=Status.DONE, completed_at__gte=since), local, ["owner_id"]
    )
    sql = (
        "SELECT t.owner_id, SUM(t.done), SUM(t.on_time), SUM(t.on_time_original) FROM ("  # noqa: S608
        f"SELECT * FROM ({days_sql}) d UNION ALL SELECT s.k0, s.done, s.on_time, s.on_time_original "
        f"FROM ({first_sql}) s) t GROUP BY t.owner_id"
    )
    with connection.cursor() as cursor:
        cursor.execute(sql, [*days_params, *first_params])
        # int(): PostgreSQL sums bigint counts as numeric.
        tally = {row[0]: (int(row[1]), int(row[2]), int(row[3])) for row in cursor.fetchall()}
    names = User.objects.filter(pk__in=list(tally)).values_list("pk", "name", "username") if tally else []
    return {pk: PersonRate(pk, name or username, *tally[pk]) for pk, name, username in names if tally[pk][0]}


def _rates_from_tasks(user: User, departments: list[Department], since: datetime) -> dict[int, PersonRate]:
    """Counted by the database, a row per department and person (`localday`), through the
    partial (department, completed_at) index of done tasks, then the people's names;
    completions stamped more than a day from now (none are: tasks are completed at now) are
    counted from their rows by one more query."""
    ids = [d.pk for d in departments]
    cover_end = max(since, timezone.now()) + timedelta(days=1)
    zones = _by_zone(departments)
    pairs = [(tz, None if len(zones) == 1 else members) for tz, members in zones]
    day = LocalDate("completed_at", offset_case(pairs, since, cover_end, moment="completed_at"))
    # Grouped by department first and without the owner's row: grouped by owner (or joined
    # to the people), SQLite walks the (owner, status, due) index through every done task
    # each person ever had rather than the window's completions of the departments. `day` is
    # NULL from `cover_end` on: those completions are counted apart (`beyond`).
    rows = tally_on_time(
        Task.objects.visible_in_departments(user, ids).filter(status=Status.DONE, completed_at__gte=since),
        day,
        ["department_id", "owner_id"],
    )
    tally: dict[int, list[int]] = {}
    beyond = 0
    for _department_id, owner_id, done, on_time, on_time_original, later in rows:
        t = tally.setdefault(owner_id, [0, 0, 0])
        t[0] += done
        t[1] += on_time
        t[2] += on_time_original
        beyond += later
    names = User.objects.filter(pk__in=list(tally)).values_list("pk", "name", "username") if tally else []
    people = {
        pk: PersonRate(pk, name or username, *tally[pk]) for pk, name, username in names if tally[pk][0]
    }
    if beyond:
        _add_completions(user, departments, people, Q(completed_at__gte=cover_end))
    return people


def _add_completions(
    user: User, departments: list[Department], people: dict[int, PersonRate], where: Q
) -> None:
    """Count the done tasks matching `where` into `people` row by row (the completion day
    converted here): for the moments `offset_case` does not cover."""
    rows = (
        Task.objects.visible_in_departments(user, [d.pk for d in departments])
        .filter(where, status=Status.DONE)
        .values_list(
            "owner_id",
            "owner__name",
            "owner__username",
            "completed_at",
            "due_date",
            "original_due_date",
            "department_id",
        )
    )
    zones = {d.pk: d.tzinfo for d in departments}
    for owner_id, name, username, completed_at, due, original, department_id in rows:
        local = timezone.localtime(completed_at, zones.get(department_id) or departments[0].tzinfo).date()
        r = people.setdefault(owner_id, PersonRate(owner_id, name or username, 0, 0, 0))
        r.done += 1
        r.on_time += local <= due
        r.on_time_original += local <= original


# -- weekly review ----------------------------------------------------------------------------


def review_departments(user: User) -> list[Department]:
    """Departments whose weekly review the user may open: those they belong to or lead."""
    return (
        _scope_departments(user)
        if (user.is_superuser or led_department_ids(user))
        else list(Department.objects.filter(id__in=visible_department_ids(user)).order_by("code"))
    )


def access_department(user: User, department_id: int | str) -> Department:
    try:
        pk = int(department_id)
    except (TypeError, ValueError):
        raise NotFound(_("Department not found.")) from None
    if not user.is_superuser and pk not in visible_department_ids(user):
        raise NotFound(_("Department not found."))
    dept = Department.objects.select_related("head", "deputy").filter(pk=pk).first()
    if dept is None:
        raise NotFound(_("Department not found."))
    return dept


@dataclass
class WeekData:
    department: Department
    week_start: date
    week_end: date
    review_day: date | None
    review: WeeklyReview | None
    completed: list[Task]
    overdue: list[Task]
    blocked: list[Task]
    due_next_week: list[Task]
    slipped: list[DelayWarning]
    slipped_by_reason: list[tuple[str, int]]
    rate: int | None
    rate_original: int | None
    trend: list[tuple[date, int | None, int | None]]
    # Totals of each list; the lists hold at most `limit` rows. A past week's overdue,
    # blocked and due-next-week rows carry the status and due date they had at its end.
    totals: dict[str, int] = field(default_factory=dict)
    # From review: this week's accepted tasks of the department (first pass, attempts).
    quality: object = None


_WEEK_ROW_FIELDS = (
    "id",
    "department",
    "code",
    "title",
    "owner",
    "due_date",
    "original_due_date",
    "status",
    "priority",
    "progress",
    "owner__name",
    "owner__first_name",
    "owner__last_name",
    "owner__username",
    "forecast__task",
    "forecast__at_risk",
    "forecast__reason",
    "forecast__forecast_date",
)


# A slipped task's warning as 周复盘 loads it: the warning whole, its task's code and title.
_WARNING_FIELDS = (
    *(f.name for f in DelayWarning._meta.concrete_fields),
    "task__code",
    "task__title",
    "task__department",
)


def _week_bounds(department: Department, week_start: date) -> tuple[datetime, datetime]:
    start = cadence.at_local(department, week_start, datetime.min.time())
    return start, start + timedelta(days=7)


def _rate(done: int, on_time: int) -> int | None:
    return round(100 * on_time / done) if done else None


def weekly_review(
    user: User, department: Department, week_start: date, *, now: datetime | None = None, limit: int = 50
) -> WeekData:
    """周复盘 of one department and week: completed, overdue, slipped with reasons grouped,
    blocked, due next week, the on-time completion rate against the approved and the original
    due date, and its trend over the last eight weeks. A fixed number of queries.

    This week (or one to come) shows what is open now: overdue before today, blocked now.
    A past week shows the same lists as they stood at its end (the midnight after its Sunday
    in the department's zone): a task blocked then and unblocked since is blocked, one first
    blocked since is not, one overdue then and completed since is overdue, a task made since
    is not there — with its status and due date of then (`_open_lists_then`)."""
    now = now or timezone.now()
    week_start = cadence.week_start(week_start)
    week_end = week_start + timedelta(days=6)
    start_dt, end_dt = _week_bounds(department, week_start)
    today = cadence.local_today(department, now)
    # Every row is of `department`: it is shared (`_of_department`) rather than joined and
    # built again for each of the lists' ~200 rows.
    base = Task.objects.visible_in_department(user, department.pk).select_related("owner", "forecast")
    # The lists' rows carry what the page, the API and the export show of them (code, title,
    # owner's name, dates, status, priority, progress, the forecast's flag): built whole, the
    # page's 200 rows (each a task, a person and a forecast) cost 32,660 more Python calls
    # (229,108 → 196,448 for the page at 100,000 tasks, the same HTML).
    rows = base.only(*_WEEK_ROW_FIELDS)
    done_q = Q(status=Status.DONE, completed_at__gte=start_dt, completed_at__lt=end_dt)
    if week_end >= today:
        totals, overdue, blocked, due_next = _open_lists_now(base, rows, department, week_start, today, limit)
    else:
        totals, overdue, blocked, due_next = _open_lists_then(
            base, rows, department, week_start, end_dt, limit
        )
    completed = _of_department(rows.filter(done_q).order_by("-completed_at")[:limit], department)
    # The warnings whole, their tasks' code and title (what the page, the API and the export
    # show), not every column of the task, its owner and who raised it.
    slipped = _of_department(
        DelayWarning.objects.filter(
            _within(user, [department.pk], base), raised_at__gte=start_dt, raised_at__lt=end_dt
        )
        .select_related("task")
        .only(*_WARNING_FIELDS)
        .order_by("reason", "raised_at"),
        department,
    )
    counts: dict[str, int] = {}
    for w in slipped:
        counts[w.reason] = counts.get(w.reason, 0) + 1
    by_reason = [(str(label), counts[value]) for value, label in DelayReason.choices if counts.get(value)]

    trend, completed_this_week = _trend(user, base, department, week_start)
    totals["completed"] = completed_this_week
    _week, rate, rate_original = trend[-1]  # the trend ends with this week
    review = (
        WeeklyReview.objects.filter(department=department, week_start=week_start)
        .select_related("notes_by")
        .first()
    )
    return WeekData(
        department=department,
        week_start=week_start,
        week_end=week_end,
        review_day=cadence.review_day(week_start, cadence.settings_for(department).review_weekday),
        review=review,
        completed=completed,
        overdue=overdue,
        blocked=blocked,
        due_next_week=due_next,
        slipped=slipped,
        slipped_by_reason=by_reason,
        rate=rate,
        rate_original=rate_original,
        trend=trend,
        totals=totals,
        quality=review_selectors.quality_by(
            user, group="department", since=start_dt, until=end_dt, department_ids=[department.pk]
        ).get(department.pk),
    )


def _next_week_q(week_start: date) -> Q:
    """Due in the week after `week_start`'s."""
    first = week_start + timedelta(days=7)
    return Q(due_date__gte=first, due_date__lte=first + timedelta(days=6))


def _open_lists_now(
    base: QuerySet[Task],
    rows: QuerySet[Task],
    department: Department,
    week_start: date,
    today: date,
    limit: int,
) -> tuple[dict[str, int], list[Task], list[Task], list[Task]]:
    """This week (or one to come): the totals and first `limit` rows of what is open now —
    overdue (due before today), blocked, due next week."""
    open_q = Q(status__in=_OPEN)
    next_q = _next_week_q(week_start)
    # Over the open tasks only (the completed ones of the week are counted by the trend's
    # query): the department's history is never read. The rows are counted by their status
    # (never null), not their id: then all that is read is in the (department, status, due)
    # index, which PostgreSQL reads alone (bench s5, a department's 7,600 open tasks: 3.3 →
    # 0.7 ms, none of the table's 2,850 pages). Django refuses COUNT(*) with a filter.
    totals = base.filter(open_q).aggregate(
        overdue=Count("status", filter=Q(due_date__lt=today)),
        blocked=Count("status", filter=Q(status=Status.BLOCKED)),
        due_next_week=Count("status", filter=next_q),
    )
    overdue = _of_department(
        rows.filter(open_q, due_date__lt=today).order_by("due_date", "id")[:limit], department
    )
    blocked = _of_department(
        rows.filter(status=Status.BLOCKED).order_by("due_date", "id")[:limit], department
    )
    # The ids of next week's page first, then their rows: joined before the sort, PostgreSQL
    # hashed every task's forecast (11,000 at bench s5) for a week's ~1,000 open tasks
    # (3.0 → 1.8 ms).
    next_ids = base.filter(open_q, next_q).order_by("due_date", "id").values("pk")[:limit]
    due_next = _of_department(rows.filter(pk__in=next_ids).order_by("due_date", "id"), department)
    return totals, overdue, blocked, due_next


# The events that change what a past week's open lists are about (`_open_lists_then`), each
# with the value before it in `before`: a task's status (`tasks.services.task_transition`,
# and the ancestors a subtask starts — every status change of every app goes through them)
# and its due date (`task_update`; an approved delay warning, `tracking.services`).
_STATUS_VERB = "status_changed"
_DUE_VERBS = ("due_date_changed", "due_date_moved")
_STATE_VERBS = (_STATUS_VERB, *_DUE_VERBS)


@dataclass(slots=True)
class _Then:
    """A task's status and due date at a past week's end, and now."""

    status: str
    due: date
    status_now: str
    due_now: date


def _state_event_since(end: datetime) -> Subquery:
    """The id of one status or due-date event of the outer task from `end` on, else NULL: a
    correlated scalar subquery, a probe of the (task, time) index per task. As EXISTS,
    PostgreSQL may hash every such event of the company since `end` instead (bench s5 at four
    weeks: ~14,000 of them for ~400 open tasks)."""
    return Subquery(
        TaskEvent.objects.filter(task_id=OuterRef("pk"), created_at__gte=end, verb__in=_STATE_VERBS)
        .order_by()
        .values("id")[:1]
    )


def _changed_since(base: QuerySet[Task], end: datetime) -> dict[int, _Then]:
    """The tasks of `base` (the department's that the person sees) made before `end` whose
    status or due date changed from `end` on, each with the two as they were at `end`: the
    `before` of its first status event and of its first due-date event from then on (by time,
    then id), else as they are now.

    Only a task open now, or done or cancelled since `end`, can have changed (closed is
    final: a task closed before `end` has no status event after it, and was not open then).
    Those are three index ranges — the open statuses of the (department, status, due) index,
    the partial (department, completed_at) indexes of done and of cancelled tasks from `end`
    to a day from now (bounded on both sides, so that SQLite takes them) — read as one
    UNION ALL, each task probed for an event since `end` in the (task, time) index: what is
    read is the open work and what closed since the week's end, never the department's
    history nor the company's events since then. One query."""
    first = TaskEvent.objects.filter(task_id=OuterRef("pk"), created_at__gte=end).order_by("created_at", "id")
    until = max(end, timezone.now()) + timedelta(days=1)
    arms = [
        Q(status__in=_OPEN),
        Q(status=Status.DONE, completed_at__gte=end, completed_at__lt=until),
        Q(status=Status.CANCELLED, cancelled_at__gte=end, cancelled_at__lt=until),
    ]
    changed = (
        base.filter(created_at__lt=end)
        .alias(changed=_state_event_since(end))
        .filter(changed__isnull=False)
        .annotate(
            status_then=Subquery(first.filter(verb=_STATUS_VERB).values(v=KT("before__status"))[:1]),
            due_then=Subquery(first.filter(verb__in=_DUE_VERBS).values(v=KT("before__due_date"))[:1]),
        )
        .order_by()
        .values_list("pk", "status", "due_date", "status_then", "due_then")
    )
    parts = [changed.filter(arm) for arm in arms]
    out: dict[int, _Then] = {}
    for pk, status, due, status_then, due_then in parts[0].union(*parts[1:], all=True):
        then = _Then(status, due, status, due)
        if status_then in Status.values:
            then.status = status_then
        if due_then:
            try:
                then.due = date.fromisoformat(due_then)
            except (TypeError, ValueError):
                pass
        out[pk] = then
    return out


def _open_lists_then(
    base: QuerySet[Task],
    rows: QuerySet[Task],
    department: Department,
    week_start: date,
    end: datetime,
    limit: int,
) -> tuple[dict[str, int], list[Task], list[Task], list[Task]]:
    """A past week: the totals and first `limit` rows of what was open at its end (`end`, the
    department's midnight after the week's last day) — overdue (due on or before that last
    day), blocked, due the week after — whatever the tasks became since: each task's status
    and due date then are its own now unless an event changed them since (`_changed_since`);
    a task made later is not counted. The rows show the status and due date they had then.

    The totals are the open tasks' counts (as this week's, those made before `end`) corrected
    by the changed tasks: minus those counted for what they are now, plus those that counted
    then. Each list is the first rows of the unchanged tasks (no such event from `end` on, a
    probe of the (task, time) index per row read) merged with the changed ones that belong,
    whose rows are read in one more query — a fixed number of queries whatever the log holds."""
    week_end = week_start + timedelta(days=6)
    next_first, next_last = week_start + timedelta(days=7), week_start + timedelta(days=13)
    tests = {
        "overdue": lambda s, d: s in OPEN_STATUSES and d <= week_end,
        "blocked": lambda s, d: s == Status.BLOCKED,
        "due_next_week": lambda s, d: s in OPEN_STATUSES and next_first <= d <= next_last,
    }
    wheres = {
        "overdue": Q(status__in=_OPEN, due_date__lte=week_end),
        "blocked": Q(status=Status.BLOCKED),
        "due_next_week": Q(status__in=_OPEN) & _next_week_q(week_start),
    }
    existed = Q(created_at__lt=end)
    totals = base.filter(existed, status__in=_OPEN).aggregate(
        **{name: Count("status", filter=where) for name, where in wheres.items()}
    )
    changed = _changed_since(base, end)
    for name, test in tests.items():
        for c in changed.values():
            totals[name] += test(c.status, c.due) - test(c.status_now, c.due_now)
    chosen: dict[str, list[tuple[date, int, Task | None]]] = {}
    for name, test in tests.items():
        # The page's ids first, then their rows (as next week's list of this week): joined
        # before the cut, PostgreSQL misjudged the few unchanged rows and looped over every
        # person for each of them.
        ids = (
            base.filter(existed, wheres[name])
            .alias(changed=_state_event_since(end))
            .filter(changed__isnull=True)
            .order_by("due_date", "id")
            .values("pk")[:limit]
        )
        now = rows.filter(pk__in=ids).order_by("due_date", "id")
        then = sorted((c.due, pk, None) for pk, c in changed.items() if test(c.status, c.due))[:limit]
        # No task is in both: (due, id) never ties.
        chosen[name] = list(islice(merge(((t.due_date, t.pk, t) for t in now), then), limit))
    wanted = {pk for picked in chosen.values() for _due, pk, row in picked if row is None}
    found = {t.pk: t for t in rows.filter(pk__in=wanted)} if wanted else {}
    for pk, t in found.items():
        t.status, t.due_date = changed[pk].status, changed[pk].due
    overdue, blocked, due_next = (
        _of_department([row or found[pk] for _due, pk, row in chosen[name] if row or pk in found], department)
        for name in tests
    )
    return totals, overdue, blocked, due_next


def _of_department(rows: QuerySet | list, department: Department) -> list:
    """`rows` (tasks, or delay warnings with their task, all of `department`) as a list, each
    task with `department` as its department."""
    found = list(rows)
    for row in found:
        (row.task if isinstance(row, DelayWarning) else row).department = department
    return found


def _trend(
    user: User, base: QuerySet[Task], department: Department, week_start: date
) -> tuple[list[tuple[date, int | None, int | None]], int]:
    """On-time rate of each of the last eight weeks, and the number completed in the last of
    them (`week_start`'s week): the weeks start at the department's local midnight, so they
    are whole days of the completion tally (`CompletionDay`, at most 56 × the owners rows)
    for who sees the department whole; otherwise one query through the partial (department,
    completed_at) index of done tasks, counted by the database per completion day in the
    department's zone (at most 56 rows, `localday`). The days are summed into weeks here."""
    weeks = [week_start - timedelta(days=7 * i) for i in range(TREND_WEEKS - 1, -1, -1)]
    tally = {w: [0, 0, 0] for w in weeks}
    if user.is_superuser or department.pk in visible_department_ids(user):
        rows = (
            CompletionDay.objects.filter(
                department=department, day__gte=weeks[0], day__lt=weeks[-1] + timedelta(days=7)
            )
            .order_by()
            .values_list("day")
            .annotate(Sum("done"), Sum("on_time"), Sum("on_time_original"))
        )
    else:
        first, _ = _week_bounds(department, weeks[0])
        _, last = _week_bounds(department, weeks[-1])
        tz = cadence.dept_tz(department)
        day = LocalDate("completed_at", offset_case([(tz, None)], first, last, moment="completed_at"))
        rows = [
            row[:4]
            for row in tally_on_time(
                base.filter(status=Status.DONE, completed_at__gte=first, completed_at__lt=last),
                day,
                [],
                by_day=True,
            )
        ]
    for local_day, done, on_time, on_time_original in rows:
        t = tally.get(cadence.week_start(local_day))
        if t is None:
            continue
        t[0] += done
        t[1] += on_time
        t[2] += on_time_original
    rates = [(w, _rate(tally[w][0], tally[w][1]), _rate(tally[w][0], tally[w][2])) for w in weeks]
    return rates, tally[weeks[-1]][0]


def reviews_list(user: User, *, limit: int = 50) -> QuerySet[WeeklyReview]:
    ids = [d.pk for d in review_departments(user)]
    return (
        WeeklyReview.objects.filter(department_id__in=ids)
        .select_related("department")
        .order_by("-week_start", "department__code")[:limit]
    )
