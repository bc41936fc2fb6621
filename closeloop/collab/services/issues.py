"""The issue log (跨部门协作任务表) and its escalation ladder: raise, resolve, withdraw, escalate."""

from collections import defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

from django.db import IntegrityError, connection, transaction
from django.db.models import Case, F, Prefetch, Value, When, prefetch_related_objects
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.collab import ladder
from closeloop.collab.models import (
    PROBLEM_MAX,
    RESOLUTION_MAX,
    Escalation,
    Issue,
    IssueStatus,
)
from closeloop.collab.permissions import can_resolve, can_withdraw, sees_issue, sees_task
from closeloop.collab.services.common import DEFAULT_DEADLINE_HOURS, MAX_DEADLINE_DAYS, _task_row, _text
from closeloop.core.errors import Conflict, NotAllowed, NotFound, raise_if_errors
from closeloop.notify.services import Message, notify, notify_batch, notify_group, notify_group_batch
from closeloop.orgs.models import Department, User
from closeloop.tasks.models import Task, TaskEvent
from closeloop.tasks.services import record_event, record_events
from closeloop.tasks.states import CLOSED_STATUSES


def _issue_people(issue: Issue) -> list[User]:
    """Who is told of a raised or closed issue: its raiser, resolver, the task's owner, the
    people involved, and the head and deputy of each department involved (who may read the
    issue without seeing the task: `permissions.sees_issue`). `party_departments` is read
    with their heads (`_loaded`)."""
    leads = [p for d in issue.party_departments.all() for p in (d.head, d.deputy) if p is not None]
    return [issue.raised_by, issue.resolver, issue.task.owner, *issue.party_users.all(), *leads]


def _loaded(pk: int) -> Issue:
    """The issue with what its notifications read: task, its department's deputy (who stood in
    at level 1), owner, people, departments involved with their heads and deputies."""
    return (
        Issue.objects.select_related("task__department__deputy", "task__owner", "raised_by", "resolver")
        .prefetch_related(
            Prefetch("party_departments", queryset=Department.objects.select_related("head", "deputy"))
        )
        .get(pk=pk)
    )


def _issue_data(issue: Issue, actor: User | None, **extra) -> dict:
    task = issue.task
    data = {
        "task": task.pk,
        "code": task.full_code,
        "title": task.title,
        "issue": issue.pk,
        "note": issue.problem,
    }
    if actor is not None:
        data["by"] = actor.display_name
    data.update(extra)
    return data


def _notify_issue(
    *, issue: Issue, kind: str, data: dict, recipients: Iterable[User], actor: User | None
) -> None:
    """In-app and personal channels for `recipients`, the IM group of the task's department,
    and the IM group of every other department involved."""
    task = issue.task
    link = issue.get_absolute_url()
    notify(recipients=recipients, kind=kind, data=data, link=link, actor=actor, department=task.department)
    for dept in issue.party_departments.all():  # prefetched by the sweep
        if dept.pk != task.department_id:
            notify_group(department=dept.pk, kind=kind, data=data, link=link)


def issue_raise(
    *,
    actor: User,
    task: Task,
    problem: str,
    resolver: User | None,
    party_users: Sequence[User] = (),
    party_departments: Sequence[Department] = (),
    deadline: datetime | None = None,
    now: datetime | None = None,
) -> Issue:
    """Log a problem on `task` (跨部门协作任务表). Anyone who sees the task may raise one.

    `resolver` (exactly one) must see the task; so must every person in `party_users`.
    `deadline` (aware) defaults to 24 hours from now and must lie in the future, within a
    year, and no later than the task's due date (the whole of that day in the department's
    time zone): the handbook escalates a problem so that it does not hold up the task
    (二(四) 升级处理机制: "避免小问题影响整体进度"), so its resolution is due before the task is.
    The default is cut to the end of the due date when that comes first. A task already past
    its due date (overdue: its due date moves only through a delay warning) takes any
    deadline within the year. The first escalation is scheduled from the task department's settings (`ladder`),
    from the raising time whatever the deadline (DESIGN rule 4: 24 hours unresolved). The
    raiser, resolver, owner, people involved and the head and deputy of every department
    involved are notified (those heads may then read the issue, not the task).
    Raises NotFound when the actor does not see the task, ValidationFailed naming the field
    (`problem`, `resolver`, `party_users`, `deadline`), Conflict on a closed task."""
    now = now or timezone.now()
    if not sees_task(actor, task):
        raise NotFound(_("Task not found."))
    task = _task_row(task)
    errors: dict[str, list[str]] = {}
    problem = _text(errors, "problem", problem, limit=PROBLEM_MAX, required=_("Describe the problem."))
    if resolver is None:
        errors["resolver"] = [_("Choose the one person who resolves it.")]
    elif not sees_task(resolver, task):
        errors["resolver"] = [
            _("%(name)s cannot see this task; choose someone who can, or add them as a collaborator first.")
            % {"name": resolver.display_name}
        ]
    hidden = [u.display_name for u in party_users if not sees_task(u, task)]
    if hidden:
        errors["party_users"] = [
            _("These people cannot see this task: %(names)s.") % {"names": ", ".join(hidden)}
        ]
    due_end = _due_day_end(task)
    if deadline is None:
        deadline = now + timedelta(hours=DEFAULT_DEADLINE_HOURS)
        if now < due_end < deadline:
            deadline = due_end
    elif timezone.is_naive(deadline):
        errors["deadline"] = [_("Give the deadline with a time zone.")]
    elif deadline <= now:
        errors["deadline"] = [_("The deadline cannot be in the past.")]
    elif deadline > now + timedelta(days=MAX_DEADLINE_DAYS):
        errors["deadline"] = [_("The deadline must be within a year.")]
    elif now < due_end < deadline:
        errors["deadline"] = [
            _("The deadline cannot be later than the task's due date (%(due)s).")
            % {"due": task.due_date.isoformat()}
        ]
    raise_if_errors(errors)
    if task.status in CLOSED_STATUSES:
        raise Conflict(_("The task is closed."), code="task_closed")
    first = ladder.due_at(task.department, now, 1)
    if first is not None and ladder.receiver_for(task.department, 1)[0] is None:
        first = None
    with transaction.atomic():
        issue = Issue.objects.create(
            task=task,
            task_department_id=task.department_id,
            problem=problem,
            raised_by=actor,
            raised_at=now,
            resolver=resolver,
            deadline=deadline,
            next_escalation_at=first,
        )
        issue.party_users.set({u.pk for u in party_users})
        issue.party_departments.set({d.pk for d in party_departments})
        record_event(
            task=task,
            actor=actor,
            verb="issue_raised",
            after={"issue": issue.pk, "title": problem[:100], "resolver": resolver.pk},
            note=problem,
        )
        issue = _loaded(issue.pk)
        _notify_issue(
            issue=issue,
            kind="issue.raised",
            data=_issue_data(issue, actor, resolver=resolver.display_name, deadline=deadline.isoformat()),
            recipients=_issue_people(issue),
            actor=actor,
        )
    return issue


def _due_day_end(task: Task) -> datetime:
    """The last second of the task's due date in its department's time zone (aware): the
    latest deadline an issue on it may have (`issue_raise`)."""
    next_day = datetime.combine(task.due_date + timedelta(days=1), time.min, tzinfo=task.department.tzinfo)
    return next_day - timedelta(seconds=1)


def _close(
    *, actor: User, issue: Issue, status: str, resolution: str, now: datetime, verb: str, kind: str
) -> Issue:
    with transaction.atomic():
        rows = Issue.objects.filter(pk=issue.pk, status=IssueStatus.OPEN).update(
            status=status,
            resolution=resolution,
            resolved_by=actor,
            resolved_at=now,
            next_escalation_at=None,
        )
        if rows != 1:
            raise Conflict(_("This issue is no longer open."), code="issue_closed")
        issue = _loaded(issue.pk)
        record_event(
            task=issue.task,
            actor=actor,
            verb=verb,
            after={"issue": issue.pk, "title": issue.problem[:100]},
            note=resolution,
        )
        # Whom the ladder told: each rung's receiver, and whoever stood in for one (the
        # deputy at level 1), as they found it under 待我决定.
        receivers = [
            who
            for e in issue.escalations.select_related("escalated_to")
            for who in (e.escalated_to, ladder.stand_in_for(issue.task.department, e.level))
        ]
        _notify_issue(
            issue=issue,
            kind=kind,
            data=_issue_data(issue, actor, resolution=resolution),
            recipients=[*_issue_people(issue), *receivers],
            actor=actor,
        )
    return issue


def issue_resolve(*, actor: User, issue: Issue, resolution: str, now: datetime | None = None) -> Issue:
    """Close an open issue with its resolution (解决结果). Allowed: the resolver, or the head
    or deputy of the task's department. Stops the ladder. Conditional UPDATE on the status:
    a second close answers Conflict (`issue_closed`). NotFound for someone who may not see
    the issue; NotAllowed for one who sees it but may not resolve it (the raiser, a head of a
    department involved)."""
    now = now or timezone.now()
    if not sees_issue(actor, issue):
        raise NotFound(_("Issue not found."))
    if not can_resolve(actor, issue):
        raise NotAllowed(_("Only the resolver or the department head or deputy resolves this issue."))
    errors: dict[str, list[str]] = {}
    resolution = _text(
        errors, "resolution", resolution, limit=RESOLUTION_MAX, required=_("Say how it was resolved.")
    )
    raise_if_errors(errors)
    return _close(
        actor=actor,
        issue=issue,
        status=IssueStatus.RESOLVED,
        resolution=resolution,
        now=now,
        verb="issue_resolved",
        kind="issue.resolved",
    )


def issue_withdraw(*, actor: User, issue: Issue, reason: str = "", now: datetime | None = None) -> Issue:
    """Withdraw an open issue (raised in error, no longer relevant): its raiser, or the head or
    deputy of the task's department or above (`permissions.can_withdraw`; DESIGN.md) — who
    must say why, since the issue is not theirs. The resolver as such closes it with
    `issue_resolve` and a written result. `reason` is text of at most RESOLUTION_MAX
    characters, optional for the raiser. Stops the ladder. NotFound for someone who may not
    see the issue; NotAllowed for one who sees it and may not withdraw it; ValidationFailed
    (`reason`) for a missing or long reason; Conflict (`issue_closed`) when it is no longer
    open."""
    now = now or timezone.now()
    if not sees_issue(actor, issue):
        raise NotFound(_("Issue not found."))
    if not can_withdraw(actor, issue):
        raise NotAllowed(
            _(
                "Only the person who raised this issue, or the head or deputy head of its task's department, may withdraw it; the resolver resolves it with a written result."
            )
        )
    errors: dict[str, list[str]] = {}
    reason = _text(errors, "reason", reason, limit=RESOLUTION_MAX)
    if not errors and not reason and actor.pk != issue.raised_by_id:
        errors["reason"] = [_("Say why you withdraw an issue someone else raised.")]
    raise_if_errors(errors)
    return _close(
        actor=actor,
        issue=issue,
        status=IssueStatus.WITHDRAWN,
        resolution=reason,
        now=now,
        verb="issue_withdrawn",
        kind="issue.withdrawn",
    )


def department_tree() -> dict[int, Department]:
    """Every department with its head, deputy and ladder settings, parents linked in
    memory: the escalation sweep walks up the (small) tree without a query per rung."""
    from closeloop.collab.models import CollabSettings

    depts = {d.pk: d for d in Department.objects.select_related("head", "deputy")}
    configs = {c.department_id: c for c in CollabSettings.objects.all()}
    for d in depts.values():
        d.parent = depts.get(d.parent_id) if d.parent_id else None
        row = configs.get(d.pk)
        d._ladder_cfg = (
            ladder.LadderSettings(
                first_after_hours=row.first_after_hours,
                then_every_hours=row.then_every_hours,
                levels=row.levels,
                working_hours=row.working_hours,
            )
            if row
            else ladder.LadderSettings()
        )
    return depts


def _climb(issue: Issue, depts: dict[int, Department], now: datetime) -> int:
    """Record every rung of `issue` that is due by `now`. The caller holds a transaction
    (and, on PostgreSQL, the issue's row lock)."""
    recorded = 0
    dept = depts[issue.task.department_id]
    issue.task.department = dept
    cfg = ladder.settings_for(dept)
    while issue.status == IssueStatus.OPEN and issue.next_escalation_at and issue.next_escalation_at <= now:
        level = issue.level + 1
        target, person = ladder.receiver_for(dept, level)
        if target is None or level > cfg.levels:
            Issue.objects.filter(pk=issue.pk, level=issue.level).update(next_escalation_at=None)
            break
        following = ladder.due_at(dept, issue.raised_at, level + 1, cfg)
        if following is not None and ladder.receiver_for(dept, level + 1)[0] is None:
            following = None
        # The claim: only the worker that moves the level from the value it read goes on.
        rows = Issue.objects.filter(pk=issue.pk, status=IssueStatus.OPEN, level=issue.level).update(
            level=level, next_escalation_at=following
        )
        if rows != 1:
            break
        due = issue.next_escalation_at
        issue.level, issue.next_escalation_at = level, following
        try:
            with transaction.atomic():
                Escalation.objects.create(
                    issue=issue,
                    level=level,
                    escalated_to=person,
                    department=target,
                    due_at=due,
                    created_at=now,
                )
        except IntegrityError:
            continue  # recorded before: the database keeps one rung per (issue, level)
        record_event(
            task=issue.task,
            actor=None,
            verb="issue_escalated",
            after={"issue": issue.pk, "level": level, "to": person.pk if person else None},
            note=issue.problem,
        )
        recipients = [person, issue.resolver, ladder.stand_in_for(dept, level)]
        _notify_issue(
            issue=issue,
            kind="issue.escalated",
            data=_issue_data(
                issue, None, level=level, department=target.name, to=person.display_name if person else ""
            ),
            recipients=recipients,
            actor=None,
        )
        recorded += 1
    return recorded


class _Raced(Exception):
    """A batch found an issue changed since it was read: redo the batch issue by issue."""


@dataclass
class _Rung:
    issue: Issue
    level: int
    department: Department
    person: User | None
    due: datetime


def _plan(issue: Issue, dept: Department, now: datetime) -> tuple[list[_Rung], int, datetime | None]:
    """The rungs of `issue` due by `now` (what `_climb` records one by one), and the level
    and next escalation time the issue is left with. Reads nothing from the database."""
    cfg = ladder.settings_for(dept)
    rungs: list[_Rung] = []
    level, following = issue.level, issue.next_escalation_at
    while following is not None and following <= now:
        target, person = ladder.receiver_for(dept, level + 1)
        if target is None or level + 1 > cfg.levels:
            return rungs, level, None
        due = following
        following = ladder.due_at(dept, issue.raised_at, level + 2, cfg)
        if following is not None and ladder.receiver_for(dept, level + 2)[0] is None:
            following = None
        level += 1
        rungs.append(_Rung(issue=issue, level=level, department=target, person=person, due=due))
    return rungs, level, following


def _climb_batch(
    issues: list[Issue], parties: dict[int, list[int]], depts: dict[int, Department], now: datetime
) -> int:
    """Record every due rung of these open issues, read in this transaction (locked on
    PostgreSQL, the write lock held on SQLite): `_climb` for a whole batch in a constant
    number of statements — one conditional UPDATE per (old level, new level), the rungs,
    their events, the notifications and the group posts each in one bulk insert (`parties`:
    {issue id: ids of the departments involved}). The claims stay those of `_climb`: each
    UPDATE moves only rows still open at the level read, and a rung already in the (issue,
    level) table is neither written nor notified again. Should an UPDATE miss a row (someone
    moved first), the batch's writes are undone and each issue goes through `_climb`.
    Returns the rungs recorded."""
    try:
        with transaction.atomic():
            return _write_batch(issues, parties, depts, now)
    except _Raced:
        prefetch_related_objects(issues, "party_departments")
        return sum(_climb(issue, depts, now) for issue in issues)


def _write_batch(
    issues: list[Issue], parties: dict[int, list[int]], depts: dict[int, Department], now: datetime
) -> int:
    # (old level, new level, hours after raising or None) → {issue id: next escalation}
    moves: dict[tuple[int, int, float | None], dict[int, datetime | None]] = defaultdict(dict)
    planned: list[_Rung] = []
    for issue in issues:
        if issue.status != IssueStatus.OPEN:
            continue
        dept = depts[issue.task.department_id]
        issue.task.department = dept
        rungs, level, following = _plan(issue, dept, now)
        if level == issue.level and following == issue.next_escalation_at:
            continue
        # Clock hours: the next rung is the raising time plus the same hours for every issue
        # of a department, so one UPDATE computes it; working hours need each issue's value.
        hours = None
        if following is not None and not ladder.settings_for(dept).working_hours:
            hours = (following - issue.raised_at) / timedelta(hours=1)
        moves[(issue.level, level, hours)][issue.pk] = following
        planned += rungs
    for (old, new, hours), nexts in sorted(moves.items(), key=lambda m: (m[0][:2], m[0][2] or -1)):
        values = set(nexts.values())
        if hours is not None:
            following = F("raised_at") + timedelta(hours=hours)
        elif len(values) == 1:
            following = values.pop()
        else:
            following = Case(
                *(When(pk=pk, then=Value(at)) for pk, at in nexts.items()),
                output_field=Issue._meta.get_field("next_escalation_at"),
            )
        moved = Issue.objects.filter(pk__in=list(nexts), status=IssueStatus.OPEN, level=old).update(
            level=new, next_escalation_at=following
        )
        if moved != len(nexts):
            raise _Raced
    if not planned:
        return 0
    recorded = set(
        Escalation.objects.filter(issue_id__in={r.issue.pk for r in planned})
        .order_by()
        .values_list("issue_id", "level")
    )
    rungs = [r for r in planned if (r.issue.pk, r.level) not in recorded]  # recorded before: once only
    Escalation.objects.bulk_create(
        [
            Escalation(
                issue_id=r.issue.pk,
                level=r.level,
                escalated_to_id=r.person.pk if r.person else None,
                department_id=r.department.pk,
                due_at=r.due,
                created_at=now,
            )
            for r in rungs
        ]
    )
    record_events(
        [
            TaskEvent(
                task_id=r.issue.task_id,
                verb="issue_escalated",
                after={"issue": r.issue.pk, "level": r.level, "to": r.person.pk if r.person else None},
                note=r.issue.problem,
            )
            for r in rungs
        ]
    )
    messages = []
    posts = []
    for r in rungs:
        issue, task = r.issue, r.issue.task
        data = _issue_data(
            issue,
            None,
            level=r.level,
            department=r.department.name,
            to=r.person.display_name if r.person else "",
        )
        recipients = [r.person, issue.resolver, ladder.stand_in_for(task.department, r.level)]
        link = issue.get_absolute_url()
        messages.append(Message(recipients=recipients, data=data, link=link, department=task.department))
        posts += [(d, data, link) for d in parties.get(issue.pk, ()) if d != task.department_id]
    notify_batch(kind="issue.escalated", messages=messages)
    notify_group_batch(kind="issue.escalated", posts=posts)
    return len(rungs)


# The fields of an issue and its task that a rung reads and writes.
BATCH_FIELDS = (
    "id",
    "task__id",
    "task__code",
    "task__title",
    "task__department",
    "problem",
    "raised_at",
    "resolver",
    "status",
    "level",
    "next_escalation_at",
)


def _due_issues(now: datetime, *, full: bool = True):
    qs = Issue.objects.filter(status=IssueStatus.OPEN, next_escalation_at__lte=now)
    qs = qs.select_related(*(("task", "task__owner", "raised_by", "resolver") if full else ("task",)))
    if connection.features.has_select_for_update_skip_locked:
        # Another worker's batch is skipped, not waited for (PostgreSQL).
        qs = qs.select_for_update(skip_locked=True, of=("self",))
    return qs


def issues_escalate_due(*, now: datetime, limit: int = 500) -> tuple[int, int]:
    """One batch of the escalation sweep: up to `limit` open issues whose next rung is due,
    in one transaction. Returns (issues read, rungs recorded); fewer issues than `limit`
    means the sweep is done.

    Each rung is claimed by a conditional UPDATE of the issue's `level` (a worker holding a
    stale row changes nothing) and recorded under the unique (issue, level) constraint, so
    a rung is written and notified exactly once, whoever runs and however often. On
    PostgreSQL the batch also locks its rows with SKIP LOCKED, so two workers split the
    work instead of queueing behind each other. Level 1 goes to the head of the task's
    department (and its deputy), level n to the head n-1 departments up; the ladder ends at
    the department's last level or the top of the tree."""
    depts = department_tree()
    with transaction.atomic():
        # What the rungs show and no more: a backlog batch is 500 issues.
        issues = list(
            _due_issues(now, full=False).only(*BATCH_FIELDS).order_by("next_escalation_at", "id")[:limit]
        )
        people = User.objects.in_bulk({i.resolver_id for i in issues})
        for issue in issues:
            issue.resolver = people[issue.resolver_id]
        parties: dict[int, list[int]] = defaultdict(list)
        for issue_id, dept_id in Issue.party_departments.through.objects.filter(
            issue_id__in=[i.pk for i in issues]
        ).values_list("issue_id", "department_id"):
            parties[issue_id].append(dept_id)
        recorded = _climb_batch(issues, parties, depts, now)
    return len(issues), recorded


def issue_escalate(*, issue_id: int, now: datetime) -> int:
    """Record every rung of one issue that is due by `now` (see `issues_escalate_due`);
    returns how many this call recorded."""
    depts = department_tree()
    with transaction.atomic():
        issue = _due_issues(now).filter(pk=issue_id).first()
        if issue is None:
            return 0
        return _climb(issue, depts, now)
