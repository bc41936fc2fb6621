"""Reads of collaboration. An issue, plan or task's minutes is visible to whoever sees its
task (`tasks.selectors.access_task`, the tasks app's one rule); department minutes to the
department's members (and heads above), the attendees and the writer. Anything else is
NotFound, never "exists but hidden"."""

from collections import Counter, defaultdict
from dataclasses import dataclass, field
from datetime import datetime

from django.db import connection
from django.db.models import Count, Prefetch, Q, QuerySet, Window
from django.utils.translation import gettext as _

from closeloop.collab import ladder
from closeloop.collab.models import (
    ActionItem,
    CommunicationPlan,
    Escalation,
    Issue,
    IssueStatus,
    Minutes,
    PlanContact,
)
from closeloop.collab.permissions import leads_involved, on_issue, sees_task
from closeloop.core import compiled, pgfast
from closeloop.core.errors import NotFound
from closeloop.orgs.models import Department, User, display_name
from closeloop.orgs.selectors import led_department_ids, member_department_ids, visible_department_ids
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import access_task
from closeloop.tasks.visibility import subtree_q, visibility

MY_ISSUES_LIMIT = 20


def _issue_qs() -> QuerySet[Issue]:
    return Issue.objects.select_related("raised_by", "resolver", "resolved_by").prefetch_related(
        Prefetch("escalations", queryset=Escalation.objects.select_related("escalated_to", "department")),
        "party_users",
        "party_departments",
    )


def task_issues(user: User, task_id: int | str) -> tuple[Task, list[Issue]]:
    """The task (if the user sees it) and its issues, open first, newest first. Five
    queries whatever the number of issues."""
    task = access_task(user, task_id)
    issues = list(_issue_qs().filter(task_id=task.pk).order_by("status", "-raised_at", "-id"))
    for issue in issues:
        issue.task = task
    issues.sort(key=lambda i: (i.status != IssueStatus.OPEN,))
    return task, issues


def issue_rows(task: Task) -> list[Issue]:
    """The issue log of a task the caller has already accessed, for the task page: open
    first, then newest; one query (the resolver joined; the ladder shows as `level`)."""
    # The same shape on every task page: compiled once per connection (issue 16).
    issues = compiled.rows(
        "collab.issue_rows",
        Issue,
        lambda pk: Issue.objects.filter(task_id=pk).select_related("resolver").order_by("-raised_at", "-id"),
        (task.pk,),
    )
    for issue in issues:
        issue.task = task
    issues.sort(key=lambda i: i.status != IssueStatus.OPEN)
    return issues


def task_minutes(task: Task, *, limit: int = 5) -> list[Minutes]:
    """Minutes of a task the caller has already accessed (whoever sees a task reads its
    minutes); one query."""
    return compiled.rows(
        ("collab.task_minutes", limit),
        Minutes,
        lambda pk: Minutes.objects.filter(task_id=pk).order_by("-held_on", "-id")[:limit],
        (task.pk,),
    )


def access_issue(user: User, pk: int | str) -> Issue:
    """One issue the user may see (`permissions.sees_issue`: they see its task, are on the
    issue — raiser, resolver, a person involved — or lead a department it involves), with its
    ladder and parties; else NotFound. `task_visible` says whether they see the task too;
    `seen_as` why they see an issue whose task they do not: "person" (on the issue) or
    "department" (they lead a department involved)."""
    try:
        pk_int = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("Issue not found.")) from None
    issue = _issue_qs().filter(pk=pk_int).first()
    if issue is None:
        raise NotFound(_("Issue not found."))
    try:
        issue.task = access_task(user, issue.task_id)
        issue.task_visible = True  # type: ignore[attr-defined]
    except NotFound:
        # The people on the issue and the head or deputy of a department it involves read the
        # issue (they were told of it), not the task: the page names the task without linking it.
        if on_issue(user, issue):
            issue.seen_as = "person"  # type: ignore[attr-defined]
        elif leads_involved(user, issue):
            issue.seen_as = "department"  # type: ignore[attr-defined]
        else:
            raise NotFound(_("Issue not found.")) from None
        issue.task = Task.objects.select_related("department").get(pk=issue.task_id)
        issue.task_visible = False  # type: ignore[attr-defined]
    return issue


@dataclass
class MyIssue:
    """A row of 我的工作's collaboration box: what it shows of an open issue (`my_issues`)."""

    pk: int
    problem: str
    level: int
    deadline: datetime  # aware
    full_code: str  # the task's, SALES-T001
    resolver_name: str  # the resolver's display_name


@dataclass
class MyIssues:
    """The open issues of 我的工作: those I resolve and those I raised (the collaboration box),
    and those escalated to me (待我决定, `escalation_decisions`; `escalated_count` all of
    them, beyond the first MY_ISSUES_LIMIT)."""

    to_resolve: list[MyIssue]
    escalated: list[MyIssue]
    raised: list[MyIssue] = field(default_factory=list)
    escalated_count: int = 0

    @property
    def total(self) -> int:
        """The box's count: the open issues mine to resolve, raised by me or escalated to me,
        each once (an issue escalated to me that I also resolve counts once). The escalated
        ones are listed under 待我决定, not in the box, but the box says how many, so its
        count includes them (a tester: "0" beside "1 issue escalated to you")."""
        listed = {i.pk for i in self.to_resolve} | {i.pk for i in self.raised}
        both = sum(1 for i in self.escalated if i.pk in listed)
        return len(listed) + self.escalated_count - both


# The issues whose escalation reached a person (`escalated_to_me_q`) as a subquery of issue
# ids, parameters (person, person): the rungs that name them, by the receiver's index, and the
# escalated open issues of the departments they deputise, by the partial (department, level)
# index of open issues (its condition written out: SQLite uses a partial index only for a
# WHERE that states it; the statement reads open issues only anyway).
_ESCALATED_TO_ME_SQL = (
    "SELECT e.issue_id FROM collab_escalation e WHERE e.escalated_to_id = %s"  # noqa: S608 - constants only
    " UNION SELECT s.id FROM collab_issue s"
    f" WHERE s.status = '{IssueStatus.OPEN.value}' AND s.level >= {ladder.STAND_IN_LEVEL}"
    " AND s.task_department_id IN (SELECT d.id FROM orgs_department d WHERE d.deputy_id = %s)"
)


def escalated_to_me_q(user: User) -> Q:
    """The issues (a WHERE clause on them) whose escalation reached `user`, for 待我决定 on
    我的工作 and 仪表盘 and /issues/'s "escalated to me": a rung named them
    (`Escalation.escalated_to`), or the issue climbed a level on a task of a department they
    deputise — told of level 1 because they stand in for its head (`ladder.stand_in_for`),
    they may resolve it as the head does (`permissions.can_resolve`). Above level 1 only
    whom the rung names is told and asked. No query of its own: two subqueries."""
    return Q(pk__in=Escalation.objects.filter(escalated_to_id=user.pk).values("issue_id")) | Q(
        level__gte=ladder.STAND_IN_LEVEL,
        task_department_id__in=Department.objects.filter(deputy_id=user.pk).values("pk"),
    )


# The three lists in one statement, each by its index (the resolver's; the receiver's as a
# subquery: a join made SQLite walk every open issue, and the DISTINCT it needed compared the
# rows' whole text, 6-8 ms at 6,000 issues; the raiser's foreign key), reading only the
# columns shown and those `sees_task` checks. Written by hand: built through the ORM, the
# queries and their 80 rows as Issue, Task, Department and User instances were ~19,000
# Python calls of a department head's 我的工作 (issue 16). Kind 0 rows are mine to resolve,
# kind 1 escalated to me (with `n`, how many are, counted before the LIMIT), kind 2 raised by
# me for someone else to resolve.
# Each list is cut (LIMIT) on the issue table alone, then joined: joined first, PostgreSQL
# joined all of a head's 338 open issues to their tasks before sorting (EXPLAIN ANALYZE on
# the benchmark's data: 2.4 → 1.4 ms vacuumed, 12.9 → 5.7 ms with the escalation sweep's
# dead rows); the outer ORDER BY keeps each list's order.
_MY_ISSUES_COLUMNS = (
    "i.id, i.problem, i.level, i.deadline, i.n, t.id, t.code, t.path, t.department_id, d.code,"
    " u.username, u.name, u.first_name, u.last_name"
)
_MY_ISSUES_ISSUE = "id, problem, level, deadline, raised_at, task_id, resolver_id"
_MY_ISSUES_JOINS = (
    "INNER JOIN tasks_task t ON t.id = i.task_id"
    " INNER JOIN orgs_department d ON d.id = t.department_id INNER JOIN orgs_user u ON u.id = i.resolver_id"
)
_MY_ISSUES_SQL = (
    f"SELECT * FROM (SELECT 0 AS kind, {_MY_ISSUES_COLUMNS} FROM (SELECT {_MY_ISSUES_ISSUE}, 0 AS n"  # noqa: S608 - module constants only
    " FROM collab_issue WHERE status = %s AND resolver_id = %s ORDER BY deadline, id LIMIT %s) i"
    f" {_MY_ISSUES_JOINS} ORDER BY i.deadline, i.id) r"
    f" UNION ALL SELECT * FROM (SELECT 1 AS kind, {_MY_ISSUES_COLUMNS} FROM (SELECT {_MY_ISSUES_ISSUE},"
    " COUNT(*) OVER () AS n FROM collab_issue WHERE status = %s"
    f" AND id IN ({_ESCALATED_TO_ME_SQL})"
    f" ORDER BY raised_at, id LIMIT %s) i {_MY_ISSUES_JOINS} ORDER BY i.raised_at, i.id) x"
    f" UNION ALL SELECT * FROM (SELECT 2 AS kind, {_MY_ISSUES_COLUMNS} FROM (SELECT {_MY_ISSUES_ISSUE}, 0 AS n"
    " FROM collab_issue WHERE status = %s AND raised_by_id = %s AND resolver_id <> %s"
    f" ORDER BY deadline, id LIMIT %s) i {_MY_ISSUES_JOINS} ORDER BY i.deadline, i.id) y"
)


def my_issues(user: User) -> MyIssues:
    """Open issues where the user is the resolver (by deadline), that escalated to them (by
    when raised; `escalated_to_me_q`, the deputy of the task's department from level 1), or
    that they raised for someone else (by deadline): at most MY_ISSUES_LIMIT of each. The
    people on an issue follow it whether or not they still see its task
    (`permissions.on_issue`); an escalation shows only on a task the user (still) sees. One
    query (`_MY_ISSUES_SQL`) by the resolver, receiver and raiser indexes; visibility is
    checked on the loaded rows (`sees_task`) rather than with the whole visibility clause as
    a subquery, which a head of a large department would pay for on every 我的工作. Up to
    twice the limit are read, so that tasks the user no longer sees still leave the lists
    full."""
    deadline_field = Issue._meta.get_field("deadline")
    col = deadline_field.get_col(Issue._meta.db_table)
    converters = [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]
    read = MY_ISSUES_LIMIT * 2
    open_ = IssueStatus.OPEN.value
    with pgfast.cursor(connection) as cur:  # prepared on PostgreSQL: planning ~0.5 ms
        cur.execute(
            _MY_ISSUES_SQL,
            [open_, user.pk, read, open_, user.pk, user.pk, read, open_, user.pk, user.pk, read],
        )
        fetched = cur.fetchall()
    out: tuple[list[MyIssue], list[MyIssue], list[MyIssue]] = ([], [], [])
    escalated_total, escalated_hidden = 0, 0
    task = _SeenTask()
    for kind, pk, problem, level, deadline, n, task_id, code, path, dept_id, dept_code, *person in fetched:
        if kind == 1:
            escalated_total = n
        task.pk, task.path, task.department_id = task_id, path, dept_id
        # Mine to resolve or raised by me: mine to follow whether or not I still see the task
        # (`permissions.on_issue`); an escalation only while I see the task.
        if kind == 1 and not sees_task(user, task):
            escalated_hidden += 1
            continue
        rows = out[kind]
        if len(rows) >= MY_ISSUES_LIMIT:
            continue
        for convert in converters:
            deadline = convert(deadline, col, connection)
        rows.append(
            MyIssue(pk, problem, level, deadline, f"{dept_code}-{code}", display_name(*person[1:], person[0]))
        )
    return MyIssues(
        to_resolve=out[0],
        escalated=out[1],
        raised=out[2],
        escalated_count=max(escalated_total - escalated_hidden, len(out[1])),
    )


def my_issues_for_request(user: User) -> MyIssues:
    """`my_issues`, read once per request: 我的工作's collaboration box and its 待我决定 (the
    escalations) both show them, from the one statement. Memoised on the user object."""
    cached = getattr(user, "_closeloop_my_issues", None)
    if cached is None:
        cached = user._closeloop_my_issues = my_issues(user)  # type: ignore[attr-defined]
    return cached


# -- /issues/: the issues I raised, resolve, that involve my departments or escalated to me --

ISSUE_LIST_SHOWS = ("mine", "raised", "resolve", "escalated", "departments")
ISSUE_LIST_STATES = ("open", "closed", "all")
# What a row of the list shows (`collab/issue_list.html`): the issue, its task's code and
# department's code, the resolver's and the raiser's names — not the task's ~40 columns.
_LIST_ROW_FIELDS = (
    "id",
    "task",
    "problem",
    "status",
    "level",
    "deadline",
    "raised_at",
    "resolved_at",
    "task__code",
    "task__department",
    "task__department__code",
    *(
        f"{who}__{f}"
        for who in ("resolver", "raised_by")
        for f in ("name", "first_name", "last_name", "username")
    ),
)


def issues_visible_to(user: User) -> QuerySet[Issue]:
    """Every issue `user` may see, as a query (`permissions.sees_issue`): the issues of the
    tasks they see — the tasks app's rule (`tasks.visibility`) applied to the issue's own copy
    of its task's department and to its task id — those they raised, resolve or are named
    among the people involved in (whether or not they still see the task), and those
    involving a department they head or deputise (or one below it). Anything else is not in
    the list, as the issue page answers 404 for it. Still one statement: the people's part
    is two columns of the row and a subquery."""
    if user.is_superuser:
        return Issue.objects.all()
    vis = visibility(user)
    party = Issue.party_users.through.objects.filter(user_id=user.pk)
    q = (
        Q(task_department_id__in=sorted(vis.departments))
        | Q(task_id__in=sorted(vis.ids))
        | Q(raised_by_id=user.pk)
        | Q(resolver_id=user.pk)
        | Q(pk__in=party.values("issue_id"))
    )
    for prefix in vis.subtrees:
        q |= subtree_q(prefix, "task__path")
    led = led_department_ids(user)
    if led:
        involving = Issue.party_departments.through.objects.filter(department_id__in=sorted(led))
        q |= Q(pk__in=involving.values("issue_id"))
    return Issue.objects.filter(q)


@dataclass(frozen=True)
class IssueFilters:
    """/issues/'s filters: whose (`ISSUE_LIST_SHOWS`), which state (`ISSUE_LIST_STATES`),
    and only those past their deadline."""

    show: str = "mine"
    state: str = "open"
    overdue: bool = False


def issue_list(user: User, filters: IssueFilters, *, now: datetime) -> QuerySet[Issue]:
    """The issues of /issues/, from those `user` may see (`issues_visible_to`):

    - mine: raised by me, mine to resolve, naming me among the people involved, or
      escalated to me; for a head or deputy also those of (tasks of, or involving) the
      departments they lead (`led_department_ids`);
    - raised / resolve / escalated: each of those alone;
    - departments: of tasks of my departments, or involving one of them.

    Open ones by deadline (the most urgent first), closed ones latest closed first, all of
    them latest raised first. Rows load what the list shows (`_LIST_ROW_FIELDS`): a page is
    two queries (count and rows) beyond the person's visibility."""
    qs = issues_visible_to(user)
    me = user.pk
    escalated = escalated_to_me_q(user)
    if filters.show == "raised":
        qs = qs.filter(raised_by_id=me)
    elif filters.show == "resolve":
        qs = qs.filter(resolver_id=me)
    elif filters.show == "escalated":
        qs = qs.filter(escalated)
    elif filters.show == "departments":
        mine = sorted(member_department_ids(user) | led_department_ids(user))
        involving = Issue.party_departments.through.objects.filter(department_id__in=mine)
        qs = qs.filter(Q(task_department_id__in=mine) | Q(pk__in=involving.values("issue_id")))
    else:
        party = Issue.party_users.through.objects.filter(user_id=me)
        mine_q = Q(raised_by_id=me) | Q(resolver_id=me) | Q(pk__in=party.values("issue_id")) | escalated
        led = sorted(led_department_ids(user))
        if led:  # a head or deputy: the issues of the departments they lead are theirs too
            involving = Issue.party_departments.through.objects.filter(department_id__in=led)
            mine_q |= Q(task_department_id__in=led) | Q(pk__in=involving.values("issue_id"))
        qs = qs.filter(mine_q)
    if filters.state == "open" or filters.overdue:
        qs = qs.filter(status=IssueStatus.OPEN)
    elif filters.state == "closed":
        qs = qs.filter(status__in=[IssueStatus.RESOLVED, IssueStatus.WITHDRAWN])
    if filters.overdue:
        qs = qs.filter(deadline__lt=now)
    order = {"open": ("deadline", "id"), "closed": ("-resolved_at", "-id")}.get(
        "open" if filters.overdue else filters.state, ("-raised_at", "-id")
    )
    return (
        qs.select_related("task__department", "resolver", "raised_by")
        .only(*_LIST_ROW_FIELDS)
        .order_by(*order)
    )


def escalated_to(user: User, *, department_ids: list[int], limit: int) -> tuple[int, list[Issue]]:
    """仪表盘's 待我处理: the open issues of tasks of `department_ids` (the departments the page
    shows, which the user sees whole) escalated to `user` (`escalated_to_me_q`), highest level first, then oldest —
    how many, and the first `limit` with what `insights.escalated_rows` shows. One query,
    the count a window over the rows."""
    if not department_ids:
        return 0, []
    rows: list[Issue] = list(
        Issue.objects.filter(
            escalated_to_me_q(user), status=IssueStatus.OPEN, task_department_id__in=department_ids
        )
        .annotate(total=Window(Count("id")))
        .select_related("task__department", "resolver")
        .only(*_ESCALATED_ROW_FIELDS)
        .order_by("-level", "raised_at", "id")[:limit]
    )
    return (int(rows[0].total) if rows else 0), rows  # type: ignore[attr-defined]


class _SeenTask:
    """What `sees_task` reads of a task (`Visibility.allows`): its id, path and department."""

    __slots__ = ("department_id", "path", "pk")


def task_plan(task: Task) -> CommunicationPlan | None:
    """The plan of a task the caller has already accessed, with its contacts (`contact_list`):
    one query without a plan, two with one."""
    plan = CommunicationPlan.objects.filter(task_id=task.pk).first()
    if plan is not None:
        plan.contact_list = list(
            PlanContact.objects.filter(plan=plan).select_related("department", "contact").order_by("id")
        )
    return plan


def _minutes_q(user: User) -> Q:
    if user.is_superuser:
        return Q()
    visible_tasks = Task.objects.visible_to(user).values("id")
    return (
        Q(task_id__in=visible_tasks)
        | Q(task__isnull=True, department_id__in=visible_department_ids(user))
        | Q(attendees=user)
        | Q(created_by=user)
    )


def minutes_list(user: User, *, task: Task | None = None) -> QuerySet[Minutes]:
    qs = Minutes.objects.filter(_minutes_q(user)).distinct()
    if task is not None:
        qs = qs.filter(task_id=task.pk)
    return qs.select_related("task__department", "department", "created_by").order_by("-held_on", "-id")


def access_minutes(user: User, pk: int | str) -> Minutes:
    try:
        pk_int = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("Minutes not found.")) from None
    m = (
        Minutes.objects.select_related("task__department", "task__owner", "department", "created_by")
        .prefetch_related(
            "attendees",
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner", "task__department")),
        )
        .filter(pk=pk_int)
        .first()
    )
    if m is None:
        raise NotFound(_("Minutes not found."))
    if user.is_superuser or m.created_by_id == user.pk or any(a.pk == user.pk for a in m.attendees.all()):
        return m
    if m.task is not None and sees_task(user, m.task):
        return m
    if m.task is None and m.department_id in visible_department_ids(user):
        return m
    raise NotFound(_("Minutes not found."))


def access_action_item(user: User, minutes_id: int | str, item_id: int | str) -> tuple[Minutes, ActionItem]:
    m = access_minutes(user, minutes_id)
    for item in m.action_items.all():
        if str(item.pk) == str(item_id):
            return m, item
    raise NotFound(_("Action item not found."))


def next_sync_for(plan: CommunicationPlan | None, task: Task, now: datetime) -> datetime | None:
    from closeloop.collab.schedule import next_sync

    return next_sync(plan, task.department, now) if plan else None


# -- 仪表盘 ----------------------------------------------------------------------------------

DASHBOARD_ROWS = 10


@dataclass
class LoadRow:
    person: User
    tasks: int
    issues: int


@dataclass
class DepartmentCollab:
    """What a head sees of collaboration on 仪表盘: the open issues of their departments'
    tasks (those already escalated listed first) and their people's cross-department load —
    open tasks they own or help on, and open issues they resolve or are party to, in
    departments they are not members of."""

    open_count: int
    escalated: list[Issue]
    escalated_count: int
    load: list[LoadRow]


# What 仪表盘 shows of an escalated issue and of a person (their `display_name`): built whole,
# each issue was its task's ~40 columns and two more rows, each person ~20 columns.
_ESCALATED_ROW_FIELDS = (
    "id",
    "task",
    "problem",
    "raised_at",
    "level",
    "resolver",
    "task__code",
    "task__department",
    "task__department__code",
    "resolver__name",
    "resolver__first_name",
    "resolver__last_name",
    "resolver__username",
)
_PERSON_FIELDS = ("id", "name", "first_name", "last_name", "username")


def department_collab(departments: list, *, limit: int = DASHBOARD_ROWS) -> DepartmentCollab:
    """A fixed number of queries whatever the number of issues and people (the escalated
    list is not read when none is escalated). The caller passes the
    departments the viewer sees whole (a head's, from `insights.selectors`)."""
    from closeloop.orgs.models import Membership

    dept_ids = [d.pk for d in departments]
    if not dept_ids:
        return DepartmentCollab(open_count=0, escalated=[], escalated_count=0, load=[])
    # Through the issues' own copy of their task's department and the partial (department,
    # level) index of open issues: looking each open issue's task up read every open issue of
    # the company (PostgreSQL 5–10 ms a query at 100,000 tasks, issue 16).
    mine = Issue.objects.filter(status=IssueStatus.OPEN, task_department_id__in=dept_ids)
    # Both counts in one pass over the departments' open issues: counted apart, the
    # escalated ones were joined to their tasks a second time (PostgreSQL 7 ms at 100,000
    # tasks, SQLite 9,274 VM steps) whenever the list was full.
    counts = mine.aggregate(open=Count("id"), escalated=Count("id", filter=Q(level__gte=1)))
    open_count, escalated_count = counts["open"], counts["escalated"]
    escalated_qs = mine.filter(level__gte=1)
    escalated = (
        list(
            escalated_qs.select_related("task__department", "resolver")
            .only(*_ESCALATED_ROW_FIELDS)
            .order_by("-level", "raised_at", "id")[:limit]
        )
        if escalated_count
        else []
    )

    people = Membership.objects.filter(department_id__in=dept_ids).values("user_id")
    tasks, issues = cross_department_load(people)
    busy = set(tasks) | set(issues)
    names = {u.pk: u for u in User.objects.filter(pk__in=busy).only(*_PERSON_FIELDS)}
    load = sorted(
        (LoadRow(person=names[i], tasks=tasks[i], issues=issues[i]) for i in busy if i in names),
        key=lambda r: (-(r.tasks + r.issues), r.person.display_name),
    )
    return DepartmentCollab(
        open_count=open_count, escalated=escalated, escalated_count=escalated_count, load=load
    )


def _elsewhere_terms(
    person: str, department: str, memberships: dict[int, set[int]]
) -> list[tuple[str, list]]:
    """ "The row's `department` is none of its `person`'s departments" (`memberships`: user id
    → their department ids, each set non-empty) as SQL terms to OR (or to UNION ALL): people
    with the same departments together, their departments' complement written as the ranges
    between them — `person IN (…) AND department < d1`, `… > d1 AND … < d2`, …, `> dn` —
    each term a range of a (person, department) index (as `tasks.visibility._outside`).
    Hand-written: compiled by the ORM the ~20 terms of a
    department of 50 people cost ~20,000 Python calls a page. Returns [(sql, its parameters
    in order)]."""
    groups: dict[tuple[int, ...], list[int]] = defaultdict(list)
    for user_id, departments in memberships.items():
        groups[tuple(sorted(departments))].append(user_id)
    terms: list[tuple[str, list]] = []
    for departments, users in sorted(groups.items()):
        who = f"{person} IN ({', '.join(['%s'] * len(users))})"
        bounds = [(f"{department} < %s", [departments[0]])]
        bounds += [
            (f"{department} > %s AND {department} < %s", [low, high])
            for low, high in zip(departments, departments[1:], strict=False)
        ]
        bounds.append((f"{department} > %s", [departments[-1]]))
        for sql, values in bounds:
            terms.append((f"({who} AND {sql})", [*sorted(users), *values]))
    return terms


def _load_elsewhere(memberships: dict[int, set[int]], open_names: list[str]) -> Counter:
    """Per person, the open tasks they own and the open tasks they help on outside their
    departments (a Counter by user id), counted from the rows (~1,500 for a department of 50
    people), two queries:

    - owned: the ranges of the (owner, department) index, so the database reads only the
      tasks elsewhere (~500). By the (owner, status) index with a membership look-up per task
      it read every open task they own (~7,500); grouped by owner, SQLite walked the whole
      (owner, department) index in order instead of the ranges. The state is checked on the
      rows (`status || ''`, which no index serves): with the open statuses indexable,
      PostgreSQL took the owners, the states and the broad "> dn" ranges as independent,
      estimated two departments' ~100 members' open tasks elsewhere at a tenth of the table
      and scanned all of it, or ANDed the department index's 40,000 rows in (bench s5, a
      specialist of two departments: 57 ms; now the ranges alone, ~1 ms of work).
    - helped on: from the links alone — each carries its task's department and state, kept by
      the task services — counted per (person, department) along the partial (user,
      department) index of open links, and the departments that are their own dropped here.
      Joined to their tasks it read every link the members ever had (~12,000, and PostgreSQL
      scanned every task for them); as the owned ranges, OR'd, PostgreSQL spent ~10 ms
      planning (proving each term implies the index's condition) for ~2 ms of scan (bench s5,
      a specialist of two departments: 8,712 open links, ~600 groups). `"task_open"` bare, as
      the index's condition is written, so that SQLite matches it (a bound parameter would
      not)."""
    from closeloop.tasks.models import TaskCollaborator

    out: Counter = Counter()
    statuses = ", ".join(["%s"] * len(open_names))
    owned = _elsewhere_terms("owner_id", "department_id", memberships)
    # A plain cursor: PostgreSQL no longer plans it in parallel (DB_PARALLEL_WORKERS, settings),
    # where its two workers for ~300 rows cost 12 ms against 3 ms of scan; a server-side cursor
    # plans for the first tenth of the rows and was slower still (46 ms).
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT owner_id FROM {Task._meta.db_table} WHERE ({' OR '.join(t for t, _p in owned)})"  # noqa: S608 - placeholders only
            f" AND (status || '') IN ({statuses})",
            [*(p for _t, params in owned for p in params), *open_names],
        )
        out.update(row[0] for row in cursor.fetchall())
        members = sorted(memberships)
        cursor.execute(
            f"SELECT user_id, task_department_id, COUNT(*) FROM {TaskCollaborator._meta.db_table}"  # noqa: S608 - placeholders only
            f' WHERE user_id IN ({", ".join(["%s"] * len(members))}) AND "task_open"'
            " GROUP BY user_id, task_department_id",
            members,
        )
        for user_id, department_id, n in cursor.fetchall():
            if department_id not in memberships[user_id]:
                out[user_id] += n
    return out


def cross_department_load(people) -> tuple[Counter, Counter]:
    """Per person, their load in departments they are not members of: (open tasks they own
    or help on, open issues they resolve or are party to), two Counters keyed by user id
    (people without any are absent). `people` is a list of user ids or a subquery of them.
    Five queries whatever the number of people, tasks and issues; counts only, so nothing of
    those departments' tasks is shown (the 仪表盘 and 工作量 rule of issue 12)."""
    from closeloop.orgs.models import Membership
    from closeloop.tasks.states import OPEN_STATUSES

    memberships: dict[int, set[int]] = defaultdict(set)
    for user_id, dept_id in Membership.objects.filter(user_id__in=people).values_list(
        "user_id", "department_id"
    ):
        memberships[user_id].add(dept_id)
    member_ids = list(memberships)
    if not member_ids:
        return Counter(), Counter()
    # The open statuses named: a range of the (owner, status, due) index, where NOT IN (done,
    # cancelled) read every task the members ever owned (issue 16).
    tasks = _load_elsewhere(memberships, sorted(OPEN_STATUSES))
    issues: Counter = Counter()
    seen: set[tuple[int, int]] = set()
    rows = list(
        Issue.objects.filter(status=IssueStatus.OPEN, resolver_id__in=member_ids)
        .order_by()  # counted, so not sorted (the model's order sorted every open issue found)
        .values_list("resolver_id", "pk", "task_department_id")
    ) + list(
        Issue.party_users.through.objects.filter(
            user_id__in=member_ids, issue__status=IssueStatus.OPEN
        ).values_list("user_id", "issue_id", "issue__task_department_id")
    )
    for user_id, issue_id, dept_id in rows:
        if dept_id not in memberships[user_id] and (user_id, issue_id) not in seen:
            seen.add((user_id, issue_id))
            issues[user_id] += 1
    return tasks, issues
