"""Every read of tasks a person can see starts here, from `Task.objects.visible_to(user)`.
The rule itself (who sees what) is in `tasks.visibility`; its names are re-exported here."""

import functools
import re
import zoneinfo
from dataclasses import dataclass, field, replace
from datetime import date, timedelta
from functools import reduce
from operator import or_

from django.conf import settings
from django.core.exceptions import EmptyResultSet
from django.core.paginator import Page
from django.db import connection, connections, router
from django.db.models import BooleanField, Count, F, IntegerField, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.db.transaction import TransactionManagementError
from django.utils import timezone
from django.utils.functional import cached_property
from django.utils.translation import gettext as _

from closeloop.core import compiled, pgfast
from closeloop.core.errors import NotFound
from closeloop.core.pagination import IdPaginator
from closeloop.orgs.selectors import visible_department_ids
from closeloop.tasks import extensions
from closeloop.tasks.models import AcceptanceCriterion, Comment, Task, TaskCollaborator, TaskEvent, subtree_q
from closeloop.tasks.permissions import plays
from closeloop.tasks.search import loosens, match_sql, normalize
from closeloop.tasks.states import CLOSED_STATUSES, OPEN_STATUSES, TRANSITIONS, Status, goes_with_parent
from closeloop.tasks.validation import parse_int
from closeloop.tasks.visibility import (
    SUBTREE_INLINE_IDS,
    Visibility,
    forget_visibility,
    need_to_know,
    visibility,
    visibility_q,
)


def access_task(user, pk: int | str, *, for_update: bool = False, annotate: dict | None = None) -> Task:
    """Fetch a task the user may see, or raise NotFound (never tells "exists but hidden").
    Loads the row by its key, with its department, owner, initiator, reviewer, project and
    customer (callers read them), and checks it against the same rule as `visible_to`,
    rather than compiling the whole visibility clause for one row. `for_update` locks the
    task's row (PostgreSQL; inside a transaction, as `select_for_update`). `annotate` (name →
    expression) is read with the row (the task page's presence flags). The look-up runs a
    query compiled once per database (`_load_task`), also with `annotate` when that is
    constant raw SQL (the task page's; other expressions compile per call). One query beyond the
    memoised rule (`visibility`), which most look-ups (a task of the person's own
    departments) never need."""
    pk_int = parse_int(pk)
    if pk_int is None or pk_int < 1:
        raise NotFound(_("Task not found."))
    task = _load_task(pk_int, for_update, annotate)
    if task is None:
        raise NotFound(_("Task not found."))
    # Most look-ups are of a task of the person's own department: no further query then.
    if (
        user.is_superuser
        or task.department_id in visible_department_ids(user)
        or visibility(user).allows(task)
    ):
        return task
    raise NotFound(_("Task not found."))


ACCESS_TASK_RELATED = ("department", "owner", "initiator", "reviewer", "project", "customer")


def _fixed_sql(annotate: dict | None) -> tuple | None:
    """The key of `annotate` (name → expression) for `_load_task`'s compiled query: `()` for
    none, the names and SQL of constant raw SQL (the task page's presence flags and event
    count: quoted identifiers only), None for anything else (compiled per call)."""
    if not annotate:
        return ()
    if all(type(e) is RawSQL and not e.params for e in annotate.values()):
        return tuple((name, e.sql) for name, e in annotate.items())
    return None


def _load_task(pk: int, for_update: bool, annotate: dict | None = None) -> Task | None:
    """The task row as `_task_query` loads it, by `core.compiled.rows`: compiled once per
    database (alias and vendor), lock and `_fixed_sql(annotate)`, and kept per connection
    in `core.compiled`'s cache of plans, with every other compiled read. Compiling the
    six-join select_related query was ~5,000 Python calls per page, and it depends only on
    the models. Annotations other than constant raw SQL run the ORM. Prepared on
    PostgreSQL (`pgfast`): planning the six joins cost more than running them."""
    # A locking read goes where writes go, as a select_for_update queryset's does.
    alias = router.db_for_write(Task) if for_update else router.db_for_read(Task)
    features = connections[alias].features
    if (
        for_update
        and features.has_select_for_update
        and features.supports_transactions
        and connections[alias].get_autocommit()
    ):
        # As Django's compiler refuses a select_for_update outside a transaction (a plan
        # compiled already would not ask it).
        raise TransactionManagementError("select_for_update cannot be used outside of a transaction.")
    fixed = _fixed_sql(annotate)
    key = None if fixed is None else ("tasks.access_task", for_update, fixed)
    found = compiled.rows(key, Task, functools.partial(_task_query, for_update, annotate), [pk], using=alias)
    return found[0] if found else None


def _task_query(for_update: bool, annotate: dict | None, pk: int) -> QuerySet[Task]:
    """`access_task`'s query: the task `pk` with ACCESS_TASK_RELATED, annotated with
    `annotate`, its row locked with `for_update`."""
    qs = Task.objects.select_related(*ACCESS_TASK_RELATED)
    if annotate:
        qs = qs.annotate(**annotate)
    if for_update:
        qs = qs.select_for_update(of=("self",))
    # By key: no ORDER BY (`first()` would compile the model's ordering, ~0.3 ms of ORM work).
    return qs.filter(pk=pk).order_by()[:1]


def local_today(tz=None) -> date:
    """Today for lists that mix tasks (groups, filters): the company's date
    (settings.TIME_ZONE), never the viewer's zone, so everyone sees the same overdue rows. A
    single task's answer uses its department's date (`Task.is_overdue()`)."""
    return timezone.localdate(timezone=tz or zoneinfo.ZoneInfo(settings.TIME_ZONE))


def default_department(candidates: list, among: list | None = None):
    """The department a department's page (看板, 工作量, 日历, 时间线, 周复盘) opens on: the first
    of `candidates` (Department objects, in the page's order) — except that a department
    above others which holds no task of its own (总公司, led by the CEO) gives way to the first
    department below it in `among` (default `candidates`), and so on down. None when there
    are no candidates. At most one query per level skipped (only for a department with
    departments below it)."""
    if not candidates:
        return None
    among = candidates if among is None else among
    current = candidates[0]
    for _level in range(10):  # departments nest a few levels deep; never loop on bad data
        below = [d for d in among if d.parent_id == current.pk]
        if not below or Task.objects.filter(department_id=current.pk).exists():
            break
        current = below[0]
    return current


def list_base(user) -> QuerySet[Task]:
    qs = Task.objects.visible_to(user).select_related("department", "owner", "project", "customer")
    return extensions.prepare_rows(qs)


# A group shows its most urgent rows; the rest are one click away in the task list.
MY_WORK_GROUP_ROWS = 12
MY_WORK_REVIEW_ROWS = 10


@dataclass
class MyWork:
    overdue: list[Task] = field(default_factory=list)
    today: list[Task] = field(default_factory=list)
    this_week: list[Task] = field(default_factory=list)
    later: list[Task] = field(default_factory=list)
    to_review: list[Task] = field(default_factory=list)
    # How many each group holds; a group shows its first MY_WORK_GROUP_ROWS.
    counts: dict[str, int] = field(default_factory=dict)

    @property
    def total(self) -> int:
        return sum(self.counts.get(k, 0) for k in ("overdue", "today", "this_week", "later"))


def my_work(user, *, today: date | None = None, per_group: int = MY_WORK_GROUP_ROWS) -> MyWork:
    """我的工作: open tasks I own or help on, grouped by urgency (each group's most urgent
    `per_group` rows and its full count), and what waits for my review (the first
    MY_WORK_REVIEW_ROWS by due date, and the count). Two queries whatever the numbers: the
    keys of both lists (`_my_work_keys`), then the rows shown; one when nothing is shown. A
    task I own, help on or review is visible to me by definition (DESIGN.md), so these start
    from those relations rather than the visibility clause. `today`: the company's date by
    default."""
    today = today or local_today()
    end_of_week = today + timedelta(days=6 - today.weekday())
    from closeloop.orgs.selectors import acceptance_routes

    # Group and order by the keys of all my open tasks and of all that wait for my review (a
    # few hundred small tuples, one statement), then load the rows both lists show by id, in
    # one more: the planners walked the due-date index through every past task for "my
    # overdue tasks, most urgent first", one such query per group, and SQLite read the review
    # rows with their joins by walking every person's submitted tasks (32,000 VM steps,
    # where the keys take ~12,000 and the count took as many).
    groups, review_ids = _my_work_keys(user.pk, routes_key(acceptance_routes(user)), today, end_of_week)
    out = MyWork(counts={key: len(ids) for key, ids in groups.items()})
    out.counts["to_review"] = len(review_ids)
    reviewing = review_ids[:MY_WORK_REVIEW_ROWS]
    shown = {pk for ids in groups.values() for pk in ids[:per_group]} | set(reviewing)
    rows = {t.pk: t for t in _my_work_row_tasks(sorted(shown))} if shown else {}
    for key, ids in groups.items():
        setattr(out, key, [rows[pk] for pk in ids[:per_group] if pk in rows])
    out.to_review = [rows[pk] for pk in reviewing if pk in rows]
    return out


def _my_work_rows_query(*ids: int) -> QuerySet[Task]:
    # Unordered (the caller places each row by its id): not the model's ordering, a sort.
    return extensions.prepare_rows(my_work_rows(Task.objects.filter(pk__in=ids))).order_by()


def _my_work_row_tasks(ids: list[int]) -> list[Task]:
    """The tasks of `ids` (a non-empty list of task ids, at most a few dozen) as
    `extensions.prepare_rows(my_work_rows(Task.objects.filter(pk__in=ids)))` loads them, in
    no particular order, by a query compiled once per connection (`core.compiled.rows`;
    prepared on PostgreSQL): compiling it was ~6,000 of a head's ~57,000 Python calls. The
    list is padded with its last id to 8, 16, 32, 64… ids, so that a connection keeps a few
    shapes of the statement rather than one per length (a repeated id matches its row
    once)."""
    size = 8
    while size < len(ids):
        size *= 2
    args = [*ids, *[ids[-1]] * (size - len(ids))]
    return compiled.rows(("my_work_rows", size), Task, _my_work_rows_query, args)


_MY_WORK_GROUPS = ("overdue", "today", "this_week", "later")
# A task's urgency group, its index in _MY_WORK_GROUPS: due before today, on it, by the end of
# the week (the three parameters), later.
_MY_WORK_GROUP = (
    "CASE WHEN t.due_date < %s THEN 0 WHEN t.due_date = %s THEN 1 WHEN t.due_date <= %s THEN 2 ELSE 3 END"
)
_MY_WORK_OPEN = ", ".join(f"'{s}'" for s in sorted(OPEN_STATUSES))  # constants of states.py


def routes_key(routes: dict) -> tuple:
    """`orgs.selectors.acceptance_routes` as a sorted tuple (hashable: a statement's key)."""
    return tuple(sorted((dept, only, tuple(sorted(owners))) for dept, (only, owners) in routes.items()))


def _ints(values) -> str:
    return ", ".join(str(int(v)) for v in values)


def routes_sql(routes: tuple, alias: str = "t", person: str = "") -> list[str]:
    """The conditions, on a task `alias` without a named reviewer, of the tasks that the
    person of `routes` (`routes_key`) accepts, as disjoint parts (a department is in one
    only): every department whose tasks are theirs but for some owners (their own, the head's
    for the deputy), grouped by those owners; then the departments of which they accept only
    some owners' tasks (a head's own, for the superior). Ints only: constants of the text.
    `person`: the column naming whose the row is (default the task's owner; tracking passes
    a delay warning's raiser, decided by the same rule)."""
    who = person or f"{alias}.owner_id"
    by_except: dict[tuple, list[int]] = {}
    only: list[tuple[int, tuple]] = []
    for dept, is_only, owners in routes:
        if is_only:
            only.append((dept, owners))
        else:
            by_except.setdefault(owners, []).append(dept)
    parts = [
        f"{alias}.department_id IN ({_ints(depts)}) AND {who} NOT IN ({_ints(owners)})"
        for owners, depts in sorted(by_except.items())
    ]
    if only:
        each = " OR ".join(
            f"({alias}.department_id = {int(d)} AND {who} IN ({_ints(owners)}))" for d, owners in only
        )
        parts.append(f"{alias}.department_id IN ({_ints(d for d, _o in only)}) AND ({each})")
    return parts


def routes_q(routes: tuple, *, department: str = "department_id", person: str = "owner_id") -> Q:
    """`routes_sql`'s parts as a Q over the fields `department` and `person` (of a task by
    default; tracking passes a delay warning's task's department and its raiser). `routes`
    is a non-empty `routes_key`."""
    return reduce(
        or_,
        (
            Q(**{department: dept, f"{person}__in": people})
            if only
            else Q(**{department: dept}) & ~Q(**{f"{person}__in": people})
            for dept, only, people in routes
        ),
    )


@functools.lru_cache(maxsize=512)
def _my_work_keys_sql(routes: tuple) -> str:
    """The statement of `_my_work_keys` for a person who accepts by `routes` (`routes_key`;
    empty for someone who leads nothing): parts of one UNION ALL, each a range of one index
    that holds what it reads:

    - the open tasks I own (`task_owner_status_due`, which carries the priority and the id);
    - the open tasks I help on and do not own, through my open links
      (`collab_user_open_dept`: a link's `task_open` is cleared when its task closes, and
      closed is final), each task by its key for its status and dates;
    - the submitted tasks I am the named reviewer of, not mine (`task_submitted_review`);
    - the submitted tasks without a named reviewer that are mine to accept
      (`orgs.selectors.acceptance_routes`, `routes_sql`: the departments I head or deputise,
      not mine and not the head's own for the deputy; the head's own of a department below
      mine, as the superior; those of a department below that nobody leads), each part a
      range of `task_submitted_review` by (no reviewer, department).

    Statuses are constants of the text (the partial index's condition must be), and so are
    the departments and owners of the routes (ints): PostgreSQL prepares the statement once
    per connection (`pgfast`), and with them known its generic plan is the custom one, which
    it then keeps using after five runs; with the departments as an array parameter it
    planned every run (~0.6 ms). One text per person who leads: few. The person and the
    dates are parameters. Bench s5, a head: 4.8 → 1.7 ms, 2,554 → 359 buffers, no
    planning."""
    parts = [
        f"SELECT 0 AS kind, {_MY_WORK_GROUP} AS grp, t.due_date, t.priority, t.id FROM tasks_task t"  # noqa: S608
        f" WHERE t.owner_id = %s AND t.status IN ({_MY_WORK_OPEN})",
        f"SELECT 0, {_MY_WORK_GROUP}, t.due_date, t.priority, t.id FROM tasks_taskcollaborator c"  # noqa: S608
        " INNER JOIN tasks_task t ON t.id = c.task_id"
        f" WHERE c.user_id = %s AND c.task_open AND t.owner_id <> %s AND t.status IN ({_MY_WORK_OPEN})",
        "SELECT 1, 0, t.due_date, 0, t.id FROM tasks_task t"
        " WHERE t.reviewer_id = %s AND t.status = 'submitted' AND t.owner_id <> %s",
    ]
    parts += [
        "SELECT 1, 0, t.due_date, 0, t.id FROM tasks_task t"  # noqa: S608 - ints only
        f" WHERE t.reviewer_id IS NULL AND t.status = 'submitted' AND {cond}"
        for cond in routes_sql(routes)
    ]
    return f"SELECT kind, grp, id FROM ({' UNION ALL '.join(parts)}) u ORDER BY kind, grp, due_date, priority, id"  # noqa: S608 - constants only


def _my_work_keys(
    me: int, routes: tuple, today: date, end_of_week: date
) -> tuple[dict[str, list[int]], list[int]]:
    """The ids of every open task person `me` (a user id) owns or helps on by urgency group
    (`_MY_WORK_GROUPS`: due before `today`, on it, by `end_of_week`, later), each most urgent
    first (due date, priority, id), and of every task that waits for their acceptance (named
    reviewer, or no reviewer and theirs by `routes`, `routes_key`; never their own) by due
    date then id — in one statement (`_my_work_keys_sql`). The database groups and sorts:
    read in Python, the ~1,300 due dates of a department head's keys were parsed and sorted
    one by one, ~8,000 Python calls (issue 16)."""
    conn = connections[router.db_for_read(Task)]
    dates = [conn.ops.adapt_datefield_value(d) for d in (today, today, end_of_week)]
    params = [*dates, me, *dates, me, me, me, me]
    groups: dict[str, list[int]] = {key: [] for key in _MY_WORK_GROUPS}
    review_ids: list[int] = []
    # Prepared on PostgreSQL: the same statement on every visit of the page.
    with pgfast.cursor(conn) as cur:
        cur.execute(_my_work_keys_sql(routes), params)
        rows = cur.fetchall()
    by_group = [groups[key] for key in _MY_WORK_GROUPS]
    for kind, grp, pk in rows:
        if kind:
            review_ids.append(pk)
        else:
            by_group[grp].append(pk)
    return groups, review_ids


# What a row of 我的工作 shows (`plan_tags.task_rows`, other apps' row flags), by model: a
# task has ~40 columns and its owner ~15, most of them dates Django converts one by one.
MY_WORK_ROW_FIELDS = {
    "task": {
        "id", "code", "title", "status", "priority", "progress", "due_date", "respond_by",
        "department", "owner", "reviewer", "initiator", "parent", "path",
    },
    "department": {"id", "code", "name", "time_zone", "head", "deputy", "parent"},
    "owner": {"id", "username", "name", "first_name", "last_name", "is_active"},
}  # fmt: skip


@functools.cache
def _deferred(shown: str) -> tuple[str, ...]:
    """The columns a row does not show (`shown`: "my_work" or "list", naming
    `MY_WORK_ROW_FIELDS` or `LIST_ROW_FIELDS`), deferred rather than named with `only()`:
    other apps join their own relations to the rows (`extensions.prepare_rows`), which
    `only()` would refuse."""
    from closeloop.orgs.models import Department, User

    fields = {"my_work": MY_WORK_ROW_FIELDS, "list": LIST_ROW_FIELDS}[shown]
    out = [f.name for f in Task._meta.concrete_fields if f.name not in fields["task"]]
    for prefix, model in (("department", Department), ("owner", User)):
        out += [f"{prefix}__{f.name}" for f in model._meta.concrete_fields if f.name not in fields[prefix]]
    return tuple(out)


def my_work_rows(qs: QuerySet[Task]) -> QuerySet[Task]:
    """`qs` with their department and owner joined, reading only the columns 我的工作's rows
    show (`MY_WORK_ROW_FIELDS`): another field of a row costs a query, so add it there first."""
    return qs.select_related("department", "owner").defer(*_deferred("my_work"))


# What a row of the task list shows (`plan_tags.task_table_rows`, other apps' row flags),
# by model; the project, customer and the flags' relations are read whole.
LIST_ROW_FIELDS = {
    "task": {
        "id", "code", "title", "status", "priority", "progress", "due_date", "task_type", "notes",
        "department", "owner", "project", "customer",
    },
    "department": {"id", "code", "time_zone"},
    "owner": {"id", "username", "name", "first_name", "last_name"},
}  # fmt: skip


def list_rows(qs: QuerySet[Task]) -> QuerySet[Task]:
    """`qs` (the list's, with its joins) reading only the columns the task list's rows show
    (`LIST_ROW_FIELDS`): ~40 columns of a task and ~15 of its owner, most of them dates
    converted one by one, were ~4,500 of the page's Python calls for 30 rows. Another field
    of a row costs a query per row: add it there first."""
    return qs.defer(*_deferred("list"))


def _list_rows_query(*ids: int) -> QuerySet[Task]:
    qs = Task.objects.select_related("department", "owner", "project", "customer").filter(pk__in=ids)
    return list_rows(extensions.prepare_rows(qs)).order_by()


def _list_row_tasks(ids: list[int]) -> list[Task]:
    """The task list's rows of `ids` (a non-empty list of task ids, a page's), as
    `rows_in_order(list_rows(task_list(…)), ids)` loads them (the list's joins and columns,
    whatever the person and filters: both of `task_list`'s querysets join the same), in no
    particular order, by a query compiled once per connection (`core.compiled.rows`; prepared
    on PostgreSQL, where planning its five joins took ~1 ms of the page's ~1.6). Padded with
    the last id to 8, 16, 32… ids, as `_my_work_row_tasks`."""
    size = 8
    while size < len(ids):
        size *= 2
    args = [*ids, *[ids[-1]] * (size - len(ids))]
    return compiled.rows(("list_rows", size) if size <= 256 else None, Task, _list_rows_query, args)


CODE_RE = re.compile(r"^(?:(?P<dept>[A-Za-z][A-Za-z0-9_]*)-)?(?P<code>[Tt]\d+(?:-\d+)*)$")

SORTS = {
    # Tree order: T001, T001-1, T001-1-1, T001-2, T002 … (the path sorts depth-first).
    "code": ("department__code", "path"),
    "-code": ("-department__code", "-path"),
    "due": ("due_date", "priority", "id"),
    "-due": ("-due_date", "priority", "-id"),
    "priority": ("priority", "due_date", "id"),
    "-priority": ("-priority", "due_date", "id"),
    "progress": ("progress", "due_date", "id"),
    "-progress": ("-progress", "due_date", "id"),
    "status": ("status", "due_date", "id"),
    "updated": ("updated_at", "id"),
    "-updated": ("-updated_at", "-id"),
    "title": ("title", "id"),
}


@dataclass
class TaskFilters:
    department: int | None = None
    task_type: str | None = None
    priority: int | None = None
    owner: int | None = None
    status: str | None = None
    overdue: bool = False
    due: date | None = None  # due that day (日历's "+n more")
    q: str = ""
    top_level_only: bool = False
    sort: str = "code"
    # Only tasks whose owner owes today's progress update (`?owed=1`; tracking's list
    # condition "owed", `extensions.list_condition`).
    owed: bool = False
    # Search `q` loosely: each word of a long CJK run anywhere (`search.loose_groups`), the
    # phrase fallback `TaskListPaginator(phrase_fallback=True)` turns on when the phrase as
    # written finds nothing.
    loose: bool = False
    # The list conditions as read once for these filters (`_condition`): the list and its
    # count each apply them.
    conditions: dict = field(default_factory=dict, init=False, repr=False, compare=False)

    def loosened(self) -> "TaskFilters":
        """These filters searching `q` loosely (`loose`), sharing the list conditions already
        read (`_condition`): the phrase fallback of the web list and the API's."""
        filters = replace(self, loose=True)
        filters.conditions = self.conditions
        return filters


def task_list(user, filters: TaskFilters, *, today: date | None = None) -> QuerySet[Task]:
    """The department list (日常任务清单表's columns): filtered, sorted, ready to paginate."""
    today = today or local_today()
    if filters.department:
        qs = extensions.prepare_rows(
            Task.objects.visible_in_department(user, filters.department).select_related(
                "department", "owner", "project", "customer"
            )
        )
    else:
        qs = list_base(user)
    order = SORTS.get(filters.sort, SORTS["code"])
    if filters.department and order[0] in ("department__code", "-department__code"):
        # Every row is of the one department: the code ties, the path alone orders (paths are
        # unique, so the order is the same). PostgreSQL sorted the joined department's code
        # too: a department's ~2,000 open tasks (the API's bulk read) 17.6 → 15.0 ms.
        order = order[1:]
    return _filtered(qs, filters, today).order_by(*order)


def _condition(filters: TaskFilters, name: str):
    """The list condition `name` (`extensions.list_condition`) for `filters`, read once."""
    if name not in filters.conditions:
        filters.conditions[name] = extensions.list_condition(
            name, department=filters.department, owner=filters.owner, now=timezone.now()
        )
    return filters.conditions[name]


def _filtered(qs: QuerySet[Task], filters: TaskFilters, today: date, *, few: bool = False) -> QuerySet[Task]:
    """`qs` with the list's filters (all but the department and the sort) applied."""
    if filters.task_type:
        qs = qs.filter(task_type=filters.task_type)
    if filters.priority:
        qs = qs.filter(priority=filters.priority)
    if filters.owner:
        qs = qs.filter(owner_id=filters.owner)
    if filters.status == "open":
        # The open statuses named rather than the closed ones excluded (every status is one
        # or the other, the check constraint `task_status_valid`): the databases read a
        # department's open tasks through the (department, status, due) index, not all its
        # tasks (PostgreSQL, a head's high & open count: 4,470 → 2,861 buffers; same rows).
        qs = qs.filter(status__in=sorted(OPEN_STATUSES))
    elif filters.status:
        qs = qs.filter(status=filters.status)
    if filters.overdue:
        qs = qs.overdue(today)
    if filters.due:
        qs = qs.filter(due_date=filters.due)
    if filters.top_level_only:
        qs = qs.filter(parent__isnull=True)
    if filters.owed:
        where = _condition(filters, "owed")
        qs = qs.filter(where) if where is not None else qs.none()
    text = normalize(filters.q).strip()  # NFKC: "Ｔ００１" and "Ｑ３" read as "t001", "q3"
    if text:
        match = CODE_RE.match(text)
        if match:
            # "T001", "t001-2" or "SALES-T001": a code look-up, not a text search.
            qs = qs.filter(code__iexact=match["code"])
            if match["dept"]:
                qs = qs.filter(department__code__iexact=match["dept"])
        else:
            # Through the search index (words + CJK bigrams of code, title, customer and
            # project): an index look-up, never a scan of every row.
            # `few`: `qs` is a list of ids (the tasks elsewhere), each looked up in the index.
            condition = match_sql(connection.vendor, text, loose=filters.loose, per_row=few)
            # Nothing searchable ("！？", "@#"): no task, never every task.
            qs = qs.filter(condition) if condition is not None else qs.none()
    return qs


class TaskListPaginator(IdPaginator):
    """The task list's pages (`task_list(user, filters)` in its order), counted and cut per
    department rather than over the whole visibility clause.

    What a person sees splits into disjoint parts: the departments they see whole (a plain
    `department_id IN (…)`, which the department indexes answer alone — on PostgreSQL an
    index-only count once the table is vacuumed) and the few tasks elsewhere the rule gives
    them (own, review, help, subtrees, dependency links). Together, OR'd, PostgreSQL read
    every row of a head's ~20,000 through a bitmap for the count and again for the page's
    ids (~22 + ~18 ms at 100,000 tasks). Here the count is one statement of both parts
    grouped by department (in the order of the departments' codes), and in the default
    order (department code, then tree order) the page's ids are read from the one or two
    departments it falls in, by the (department, path) index, stopping at the page. Other
    orders read the page's ids from `task_list` as before. Queries: the count, the ids, the
    rows — as IdPaginator; in the default order no ids query for a page that falls only among
    the rule's tasks elsewhere (their keys come with the count). Source: issue 16, item 2.

    `phrase_fallback` (the web list): when `filters.q` holds a CJK run of four characters or
    more (`search.loosens`) and the phrase as written finds no task, the list is that of the
    loose search (each of the run's words anywhere: "合同模板预审" → 合同 模板 预审), as 知识库
    falls back (`review.selectors.knowledge_search`); `loose` then says so. The phrase's
    count (0) tells it, so no query is added when the phrase finds tasks, and one (the loose
    count) when it falls back."""

    def __init__(
        self,
        user,
        filters: TaskFilters,
        per_page: int,
        *,
        today: date | None = None,
        phrase_fallback: bool = False,
    ) -> None:
        today = today or local_today()
        super().__init__(task_list(user, filters, today=today), per_page)
        self.sort = filters.sort if filters.sort in SORTS else "code"
        self._parts = _list_parts(user, filters, today)
        self._beyond_keys: list[tuple[int, str, int]] | None = None  # read with the count
        self._user, self._filters, self._today = user, filters, today
        self._fallback = phrase_fallback and not filters.loose and loosens(filters.q)
        self.loose = filters.loose

    def _loosen(self) -> None:
        """Search `q` loosely from now on (`TaskFilters.loose`): the list and its parts again."""
        filters = self._filters.loosened()
        self._filters, self.loose, self._fallback = filters, True, False
        self.object_list = task_list(self._user, filters, today=self._today)
        self._parts = _list_parts(self._user, filters, self._today)

    @cached_property
    def departments(self) -> list[tuple[int, int]]:
        """(department id, how many of the list's tasks it holds), in the list's order of
        departments (by code; descending for "-code"). One query, which also reads the keys
        (department, path, id) of the rule's tasks elsewhere when there are at most
        BEYOND_WHOLE_ROWS of them (`_beyond_keys`): a page that falls among them then needs
        no query for its ids. With more, they are counted per department by a second query.
        With `phrase_fallback`, a phrase that finds nothing is counted again loosely."""
        found = self._departments()
        if not found and self._fallback:
            self._loosen()
            found = self._departments()
        return found

    def _departments(self) -> list[tuple[int, int]]:
        self._beyond_keys = None
        if not self._parts:
            return []
        beyond = self._beyond_part()
        fetched = self._count_query(beyond, BEYOND_WHOLE_ROWS + 1)
        out: list[tuple[int, int]] = []
        keys: list[tuple[int, str, int]] = []
        last_kept = False  # the previous row was a key of the tasks elsewhere
        for dept, n, path, pk in fetched:
            if pk is None:
                out.append((dept, n))
                last_kept = False
                continue
            keys.append((dept, path, pk))
            if last_kept and out[-1][0] == dept:  # a department's keys come together (by code)
                out[-1] = (dept, out[-1][1] + 1)
            else:
                out.append((dept, 1))
            last_kept = True
        if len(keys) <= BEYOND_WHOLE_ROWS:
            self._beyond_keys = keys
            return out
        return [(dept, n) for dept, n, _path, _pk in self._count_query(None, 0)]

    def _beyond_part(self) -> QuerySet[Task] | None:
        """The part of the rule's tasks elsewhere (in no department seen whole), if any."""
        return next((part for whole, part in self._parts if whole is not None and not whole), None)

    def _count_query(self, keyed: QuerySet[Task] | None, limit: int) -> list[tuple]:
        """Rows (department id, count, path, id) in the list's order of departments: each
        part counted per department (path and id NULL), except the part `keyed`, whose keys
        are read instead (count 1; at most `limit`, in no order)."""
        q = connection.ops.quote_name
        selects, params = [], []
        for i, (_whole, part) in enumerate(self._parts):
            if part is keyed:
                rows = part.order_by().values_list("department_id", "path", "pk")[:limit]
                columns = f"p{i}.{q('department_id')}, 1, p{i}.{q('path')}, p{i}.{q('pk')}"
            else:
                rows = (
                    part.order_by()
                    .values("department_id")
                    .annotate(n=Count("*"))
                    .values_list("department_id", "n")
                )
                columns = f"p{i}.{q('department_id')}, p{i}.{q('n')}, NULL, NULL"
            try:
                sql, part_params = rows.query.sql_with_params()
            except EmptyResultSet:  # `none()`: a search with nothing to search for
                continue
            selects.append(f"SELECT {columns} FROM ({sql}) p{i}")  # noqa: S608 - the ORM's own SQL
            params.extend(part_params)
        if not selects:
            return []
        from closeloop.orgs.models import Department

        order = "DESC" if self.sort == "-code" else "ASC"
        sql = (
            f"SELECT s.* FROM ({' UNION ALL '.join(selects)}) s"  # noqa: S608
            f" INNER JOIN {q(Department._meta.db_table)} d ON d.{q('id')} = s.{q('department_id')}"
            f" ORDER BY d.{q('code')} {order}"
        )
        with connection.cursor() as cur:
            cur.execute(sql, params)
            return cur.fetchall()

    @cached_property
    def count(self) -> int:
        return sum(n for _dept, n in self.departments)

    def page(self, number) -> Page:
        number = self.validate_number(number)
        bottom = (number - 1) * self.per_page
        top = bottom + self.per_page
        if top + self.orphans >= self.count:
            top = self.count
        ids = self.ids(bottom, top)
        by_id = {t.pk: t for t in _list_row_tasks(ids)} if ids else {}
        return self._get_page([by_id[pk] for pk in ids if pk in by_id], number, self)

    def ids(self, bottom: int, top: int) -> list[int]:
        """The ids of the list's rows [bottom, top) (0-based, `top` exclusive), in its order:
        in the default order read per department (`_ids_by_department`, after the count's
        query), in other orders from `task_list`. One query (two when the count is not read
        yet). The API's list pages by offset and limit through it."""
        if self.sort in ("code", "-code"):
            return self._ids_by_department(bottom, top)
        return list(self.object_list.values_list("pk", flat=True)[bottom:top])

    def _part_with(self, dept: int) -> tuple[frozenset[int] | None, QuerySet[Task]]:
        """The part `dept`'s tasks of the list are in: (its departments, its queryset)."""
        for whole, part in self._parts:
            if whole is None or dept in whole:
                return whole, part
        return next((whole, part) for whole, part in self._parts if not whole)  # the tasks elsewhere

    def _ids_by_department(self, bottom: int, top: int) -> list[int]:
        """The ids of rows [bottom, top) in (department code, path) order: each department
        the page falls in read in path order from its offset, by the (department, path)
        index; the rule's tasks elsewhere (at most BEYOND_WHOLE_ROWS of them) cut here from
        their keys, which the count read. One query (a UNION ALL when the page spans
        departments); none when the page falls only among the tasks elsewhere."""
        path_order = "-path" if self.sort == "-code" else "path"
        descending = self.sort == "-code"
        pieces: list[QuerySet] = []
        rank: dict[int, int] = {}
        cut: dict[int, tuple[int, int]] = {}  # departments of the rule's tasks elsewhere
        beyond = self._beyond_part()
        beyond_rows = sum(n for dept, n in self.departments if self._part_with(dept)[1] is beyond)
        seen = 0
        for dept, n in self.departments:
            lo, hi = max(bottom - seen, 0), min(top - seen, n)
            seen += n
            if lo < hi:
                whole, part = self._part_with(dept)
                rank[dept] = len(rank)
                if whole or whole is None:  # a department seen whole: by the (department, path) index
                    pieces.append(
                        part.filter(department_id=dept)
                        .order_by(path_order)
                        .values_list("department_id", "path", "pk")[lo:hi]
                    )
                elif beyond_rows <= BEYOND_WHOLE_ROWS:
                    cut[dept] = (lo, hi)
                else:
                    # Kept to this department by `department_id + 0`: the planners stay off the
                    # department's index (see below).
                    pieces.append(
                        part.alias(_dept=F("department_id") + 0)
                        .filter(_dept=dept)
                        .order_by(path_order)
                        .values_list("department_id", "path", "pk")[lo:hi]
                    )
            if seen >= top:
                break
        # The rule's tasks elsewhere, found by their own keys and paths, every department at
        # once: per department, PostgreSQL ANDed the ~100 ids with a bitmap of the
        # department's every task (~20,000 entries, 1-5 ms a department), and SQLite ran a
        # search's full-text look-up again for each. Their keys came with the count.
        keys = self._beyond_keys if cut else None
        if cut and keys is None:  # pragma: no cover - the count read them when this few
            pieces.append(beyond.order_by().values_list("department_id", "path", "pk"))
        if not pieces and not cut:
            return []
        if len(pieces) == 1 and not cut:
            rows = list(pieces[0])
        else:
            rows = list(keys or ())
            if pieces:
                selects, params = [], []
                for i, piece in enumerate(pieces):
                    sql, piece_params = piece.query.sql_with_params()
                    selects.append(f"SELECT * FROM ({sql}) p{i}")  # noqa: S608 - the ORM's own SQL
                    params.extend(piece_params)
                with connection.cursor() as cur:
                    cur.execute(" UNION ALL ".join(selects), params)
                    rows.extend(cur.fetchall())
            # Paths are ASCII digits and slashes, compared byte by byte on both databases
            # (migration 0005): Python's order of them is the database's.
            rows.sort(key=lambda r: r[1], reverse=descending)
            if cut:
                kept, taken = [], dict.fromkeys(cut, 0)
                for row in rows:
                    if row[0] not in rank:
                        continue  # of a department this page does not reach
                    bounds = cut.get(row[0])
                    if bounds is None:
                        kept.append(row)  # a department's own piece, already cut
                    else:
                        at = taken[row[0]]
                        taken[row[0]] = at + 1
                        if bounds[0] <= at < bounds[1]:
                            kept.append(row)
                rows = kept
            # Then by department (a stable sort keeps the paths' order within each).
            rows.sort(key=lambda r: rank[r[0]])
        return [pk for _dept, _path, pk in rows]


# Up to this many of the rule's tasks elsewhere (own, review, help, subtrees outside the
# departments seen whole) are read whole for a page and cut in Python; more, per department.
BEYOND_WHOLE_ROWS = 500


def _beyond_sql(rule: Visibility) -> RawSQL | None:
    """The rule's tasks outside the departments seen whole (`rule.ids`, the subtrees under
    `rule.subtrees`, in no department of `rule.departments`) as one SQL condition, or None
    when there are none. Written as text: compiled through the ORM, a head's ~100 ids and
    ~30 path ranges cost ~3,000 Python calls per statement. The ranges are `subtree_q`'s;
    only placeholders go into the text."""
    if not rule.ids and not rule.subtrees:
        return None
    parts, params = [], []
    if rule.ids:
        parts.append(f"tasks_task.id IN ({', '.join(['%s'] * len(rule.ids))})")
        params += sorted(rule.ids)
    for prefix in rule.subtrees:
        parts.append("(tasks_task.path >= %s AND tasks_task.path < %s)")
        params += [prefix, prefix[:-1] + "0"]
    sql = f"({' OR '.join(parts)})"
    if rule.departments:
        sql += f" AND tasks_task.department_id NOT IN ({', '.join(['%s'] * len(rule.departments))})"
        params += sorted(rule.departments)
    return RawSQL(sql, params, output_field=BooleanField())  # noqa: S611


def _list_parts(
    user, filters: TaskFilters, today: date
) -> list[tuple[frozenset[int] | None, QuerySet[Task]]]:
    """The list's tasks as disjoint parts, each (its departments, the filtered queryset):
    `None` for "every department" (a superuser), else the departments the person sees whole
    (a non-empty set), and for the rest of the rule an empty set (any other department)."""
    base = _filtered(Task.objects.all(), filters, today)
    if user.is_superuser:
        return [(None, base.filter(department_id=filters.department) if filters.department else base)]
    seen_whole = visible_department_ids(user)
    if filters.department and filters.department in seen_whole:
        # The whole department: the rest of the rule (tasks elsewhere) is not asked for.
        return [(frozenset([filters.department]), base.filter(department_id=filters.department))]
    rule = visibility(user)
    parts: list[tuple[frozenset[int] | None, QuerySet[Task]]] = []
    if seen_whole and not filters.department:
        parts.append((seen_whole, base.filter(department_id__in=sorted(seen_whole))))
    beyond = _beyond_sql(rule)
    if beyond is not None:
        # Ids alone (SQLite lists the subtrees' tasks, `visibility`): a search looks each up.
        few = bool(filters.q) and not rule.subtrees and len(rule.ids) <= SUBTREE_INLINE_IDS
        rest = (
            _filtered(Task.objects.filter(beyond), filters, today, few=True) if few else base.filter(beyond)
        )
        if filters.department:
            rest = rest.filter(department_id=filters.department)
        parts.append((frozenset(), rest))
    return parts


# The most events a task page lists (the latest), and counts.
EVENT_ROWS = 100


def task_detail(user, pk: int | str, *, events: bool | int = True) -> Task:
    """A task page: the task, its criteria, subtasks, collaborators and recent activity
    (`event_list`; not read with `events=False`, as the API answers without it), in a fixed
    number of queries. Only the subtasks `user` needs to know (`subtask_list`); the others
    are a count (`hidden_subtask_count`), see `visibility.need_to_know`. `cancel_takes` and
    `cancel_leaves` count the subtasks (every depth) a cancel would take along and leave as
    they are (`states.goes_with_parent`). The task and its
    subtasks carry the apps' presence flags (`extensions.task_has`; not with `events=False`),
    read in the same two queries, so the panels skip the reads of what a task does not have.
    `events` as a number reads only that many of the latest events; `event_count` says how
    many there are (at most EVENT_ROWS), read with the task."""
    # The page's flags; not for the API's answer (`events=False`), which shows no panel.
    present = extensions.presence_annotations(Task._meta.db_table) if events else {}
    limit = EVENT_ROWS if events is True else min(int(events), EVENT_ROWS)
    task = access_task(user, pk, annotate={**present, **event_count_annotation()} if events else present)
    # The page's reads have the same shape on every visit: compiled once per connection.
    below = (
        compiled.rows(
            ("task_detail.subtasks", tuple(present)),
            Task,
            lambda pk, low, high: (
                Task.objects.filter(path__gte=low, path__lt=high)  # subtree_q's range, as arguments
                .exclude(pk=pk)
                .select_related("owner")
                .annotate(**present)
                .order_by("path")
            ),
            (task.pk, *_subtree_range(task.path)),
        )
        if task.next_child_number > 1  # it never had a subtask: nothing to look for
        else []
    )
    task.subtask_list, task.hidden_subtask_count = need_to_know(user, below)
    # What cancelling it would do below (`services.task_transition`), whole tree, counted: the
    # cancel form says it before anyone confirms.
    fates = [goes_with_parent(t.status) for t in below]
    task.cancel_takes, task.cancel_leaves = fates.count(True), fates.count(False)
    attach_people_and_criteria([task, *task.subtask_list])
    ancestors = task.ancestor_ids()
    task.ancestor_list = (
        compiled.rows(
            ("task_detail.ancestors", len(ancestors)),
            Task,
            lambda *ids: Task.objects.filter(pk__in=ids).order_by("depth"),
            ancestors,
        )
        if ancestors
        else []
    )
    task.event_list = (
        compiled.rows(
            ("task_detail.events", limit),
            TaskEvent,
            lambda pk: (
                TaskEvent.objects.filter(task_id=pk)
                .select_related("actor")
                .order_by("-created_at", "-id")[:limit]
            ),
            (task.pk,),
        )
        if events
        else []
    )
    return task


def _subtree_range(path: str) -> tuple[str, str]:
    """The bounds of `subtree_q(path)`: path__gte, path__lt."""
    q = subtree_q(path)
    bounds = dict(q.children)
    return bounds["path__gte"], bounds["path__lt"]


def event_count_annotation() -> dict:
    """`{"event_count": …}`: a task's events, counted up to EVENT_ROWS, as a subquery of the
    task's own query (the task page lists the latest and offers the rest by their number)."""
    # Built once per database vendor (an IntegerField per page was ~30 Python calls); the
    # expression is shared, a query resolving it copies it.
    expression = _EVENT_COUNT.get(connection.vendor)
    if expression is None:
        q = connection.ops.quote_name
        table, task_table = q(TaskEvent._meta.db_table), q(Task._meta.db_table)
        # Only quoted identifiers and a constant: nothing of anyone's goes into the SQL.
        sql = (
            f"(SELECT COUNT(*) FROM (SELECT 1 FROM {table} WHERE {q('task_id')} = {task_table}.{q('id')}"  # noqa: S608
            f" LIMIT {EVENT_ROWS}) AS counted)"
        )
        expression = _EVENT_COUNT[connection.vendor] = RawSQL(sql, (), output_field=IntegerField())  # noqa: S611
    return {"event_count": expression}


_EVENT_COUNT: dict[str, RawSQL] = {}


COMPILED_TREE = 64


def attach_people_and_criteria(tasks: list[Task]) -> None:
    """`collaborator_list`, `criteria_list` and `criteria_count` of a task and its subtasks,
    in two queries for the whole tree."""
    ids = [t.pk for t in tasks]
    if not ids:
        return
    # Compiled once per connection and number of tasks, for the trees of up to
    # COMPILED_TREE tasks a page shows; a larger one compiles per call (a key per size).
    small = len(ids) <= COMPILED_TREE
    links = compiled.rows(
        ("attach.collaborators", len(ids)) if small else None,
        TaskCollaborator,
        lambda *ids: (
            TaskCollaborator.objects.filter(task_id__in=ids).select_related("user").order_by("added_at")
        ),
        ids,
    )
    people: dict[int, list] = {}
    for link in links:
        people.setdefault(link.task_id, []).append(link.user)
    criteria: dict[int, list[AcceptanceCriterion]] = {}
    rows = compiled.rows(
        ("attach.criteria", len(ids)) if small else None,
        AcceptanceCriterion,
        lambda *ids: AcceptanceCriterion.objects.filter(task_id__in=ids),  # by task, then position
        ids,
    )
    for c in rows:
        criteria.setdefault(c.task_id, []).append(c)
    for t in tasks:
        t.collaborator_list = people.get(t.pk, [])
        t.criteria_list = criteria.get(t.pk, [])
        t.criteria_count = len(t.criteria_list)


def allowed_transitions(user, task: Task) -> list[Status]:
    return [to for (frm, to), actor in TRANSITIONS.items() if frm == task.status and plays(user, actor, task)]


@dataclass(frozen=True)
class SubmitObstacles:
    """What stands between a task and its submission for acceptance, read up front so the
    submit button and page say it before the owner fills anything in (the service refuses
    the same: `review.services.submission_create`). `criteria_missing`: no acceptance
    criterion written down (DESIGN.md "The loop" 1: criteria are fixed at intake);
    `open_subtasks`: direct children neither done nor cancelled, by id, with departments."""

    criteria_missing: bool
    open_subtasks: list

    def __bool__(self) -> bool:
        return self.criteria_missing or bool(self.open_subtasks)


def submit_obstacles(task: Task) -> SubmitObstacles:
    """`SubmitObstacles` of `task`. Uses `task.criteria_list` when the task page loaded it
    (no query), else one EXISTS; the open subtasks are read (one query) only for a task that
    ever had a subtask (`next_child_number > 1`). Kept on `task` for the rest of the request
    (the task page asks twice: its actions and review's panel)."""
    known = getattr(task, "_submit_obstacles", None)
    if known is not None:
        return known
    listed = getattr(task, "criteria_list", None)
    if listed is not None:
        missing = not listed
    else:
        missing = not AcceptanceCriterion.objects.filter(task_id=task.pk).exists()
    children = (
        list(
            Task.objects.filter(parent_id=task.pk)
            .exclude(status__in=CLOSED_STATUSES)
            .select_related("department")
            .order_by("id")
        )
        if task.next_child_number > 1
        else []
    )
    task._submit_obstacles = SubmitObstacles(criteria_missing=missing, open_subtasks=children)
    return task._submit_obstacles


def department_counts(user, department_id: int, *, today: date | None = None) -> dict[str, int]:
    today = today or local_today()
    qs = Task.objects.visible_to(user).filter(department_id=department_id)
    return qs.aggregate(
        open=Count("id", filter=~Q(status__in=CLOSED_STATUSES)),
        overdue=Count("id", filter=~Q(status__in=CLOSED_STATUSES) & Q(due_date__lt=today)),
        blocked=Count("id", filter=Q(status=Status.BLOCKED)),
        submitted=Count("id", filter=Q(status=Status.SUBMITTED)),
    )


def collaborators_prefetch() -> Prefetch:
    return Prefetch("collaborator_links", queryset=TaskCollaborator.objects.select_related("user"))


def task_comments(task: Task, *, limit: int = 200) -> list[Comment]:
    """The comments on a task the caller may see (check with `access_task` first), oldest
    first, with their authors; at most `limit` (200). One query."""
    return compiled.rows(
        ("task_comments", limit),
        Comment,
        lambda pk: (
            Comment.objects.filter(task_id=pk).select_related("author").order_by("created_at", "id")[:limit]
        ),
        (task.pk,),
    )


__all__ = ["Visibility", "forget_visibility", "visibility", "visibility_q"]
