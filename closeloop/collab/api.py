"""API of collaboration: a task's issues, one issue (resolve, withdraw), a task's
communication plan, minutes and their action items. Thin: the same selectors and services as the web pages. Errors are the API's
one shape (`closeloop.api`); an issue or minutes whose task the caller does not see is 404."""

from datetime import date, datetime, time

from django.http import HttpRequest
from django.utils import timezone
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from closeloop.collab import selectors, services
from closeloop.collab.models import ActionItem, CommunicationPlan, Issue, Minutes
from closeloop.collab.services.common import MAX_CONTACTS
from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS, StrictIn
from closeloop.core.errors import NotFound, ValidationFailed, raise_if_errors
from closeloop.orgs.api import UserRef, user_ref
from closeloop.orgs.models import Department, User
from closeloop.tasks.selectors import access_task

router = Router(tags=["collaboration"])

MIN_DATE = date(1900, 1, 1)
MAX_DATE = date(2100, 12, 31)


class IssueIn(StrictIn):
    problem: str = Field(description="What is wrong, in a sentence or two (at most 1000 characters).")
    resolver_id: int | None = Field(description="The one person who resolves it; must see the task.")
    party_user_ids: list[int] = Field(default_factory=list, max_length=50)
    party_department_ids: list[int] = Field(default_factory=list, max_length=50)
    deadline: datetime | None = Field(
        None,
        description="With a time zone; no later than the task's due date (unless the task is past it);"
        " default 24 hours from now, or the end of the due date when sooner.",
    )


class ResolveIn(StrictIn):
    resolution: str


class WithdrawIn(StrictIn):
    reason: str = ""


class EscalationOut(Schema):
    level: int
    escalated_to: UserRef | None
    department_id: int | None
    due_at: datetime
    created_at: datetime


class IssueOut(Schema):
    id: int
    task_id: int
    problem: str
    status: str
    raised_by: UserRef
    raised_at: datetime
    resolver: UserRef
    party_users: list[UserRef]
    party_department_ids: list[int]
    deadline: datetime
    resolution: str
    resolved_by: UserRef | None
    resolved_at: datetime | None
    level: int
    next_escalation_at: datetime | None
    escalations: list[EscalationOut]


class CommunicationContactIn(StrictIn):
    department_id: int
    contact_id: int = Field(description="The department's contact; must see the task.")


class CommunicationPlanIn(StrictIn):
    cadence: str = Field(description="`daily` (working days), `weekly` (on `weekdays`) or `custom`.")
    weekdays: list[int] = Field(default_factory=list, max_length=7, description="Monday=0 … Sunday=6.")
    custom: str = Field("", description="The cadence in words, for `custom` (at most 200 characters).")
    channel: str = Field(description="`document`, `phone`, `im` or `meeting`.")
    channel_detail: str = Field("", description="A link or a place (at most 500 characters).")
    sync_time: time = Field(time(9, 30), description="Local time of the sync, HH:MM.")
    contacts: list[CommunicationContactIn] = Field(default_factory=list, max_length=MAX_CONTACTS)


class CommunicationContactOut(Schema):
    department_id: int
    contact: UserRef


class CommunicationPlanOut(Schema):
    task_id: int
    cadence: str
    weekdays: list[int]
    custom: str
    channel: str
    channel_detail: str
    sync_time: time
    summary: str
    next_sync_at: datetime | None
    contacts: list[CommunicationContactOut]
    updated_by: UserRef
    updated_at: datetime


class ActionItemIn(StrictIn):
    title: str
    owner_id: int
    due_date: date


class MinutesIn(StrictIn):
    task_id: int | None = Field(None, description="Attach to a task (action items become its subtasks) …")
    department_id: int | None = Field(None, description="… or to a department (they become its tasks).")
    title: str
    held_on: date
    attendee_ids: list[int] = Field(max_length=200)
    notes: str = ""
    decisions: str = ""
    action_items: list[ActionItemIn] = Field(default_factory=list, max_length=50)


class ActionItemOut(Schema):
    id: int
    title: str
    owner: UserRef
    due_date: date
    task_id: int | None


class MinutesOut(Schema):
    id: int
    task_id: int | None
    department_id: int
    title: str
    held_on: date
    attendees: list[UserRef]
    notes: str
    decisions: str
    created_by: UserRef
    created_at: datetime
    action_items: list[ActionItemOut]


def _issue(i: Issue) -> dict:
    return {
        "id": i.pk,
        "task_id": i.task_id,
        "problem": i.problem,
        "status": i.status,
        "raised_by": user_ref(i.raised_by),
        "raised_at": i.raised_at,
        "resolver": user_ref(i.resolver),
        "party_users": [user_ref(u) for u in i.party_users.all()],
        "party_department_ids": [d.pk for d in i.party_departments.all()],
        "deadline": i.deadline,
        "resolution": i.resolution,
        "resolved_by": user_ref(i.resolved_by),
        "resolved_at": i.resolved_at,
        "level": i.level,
        "next_escalation_at": i.next_escalation_at if i.is_open else None,
        "escalations": [
            {
                "level": e.level,
                "escalated_to": user_ref(e.escalated_to),
                "department_id": e.department_id,
                "due_at": e.due_at,
                "created_at": e.created_at,
            }
            for e in i.escalations.all()
        ],
    }


def _item(a: ActionItem) -> dict:
    return {
        "id": a.pk,
        "title": a.title,
        "owner": user_ref(a.owner),
        "due_date": a.due_date,
        "task_id": a.task_id,
    }


def _minutes(m: Minutes) -> dict:
    return {
        "id": m.pk,
        "task_id": m.task_id,
        "department_id": m.department_id,
        "title": m.title,
        "held_on": m.held_on,
        "attendees": [user_ref(u) for u in m.attendees.all()],
        "notes": m.notes,
        "decisions": m.decisions,
        "created_by": user_ref(m.created_by),
        "created_at": m.created_at,
        "action_items": [_item(a) for a in m.action_items.all()],
    }


def _people(ids: list[int], field: str) -> list[User]:
    found = {u.pk: u for u in User.objects.filter(pk__in=ids, is_active=True)}
    missing = [i for i in ids if i not in found]
    if missing:
        raise ValidationFailed(
            _("No such person: %(ids)s.") % {"ids": ", ".join(map(str, missing))},
            fields={field: [_("No such person: %(ids)s.") % {"ids": ", ".join(map(str, missing))}]},
        )
    return [found[i] for i in dict.fromkeys(ids)]


def _in_range(value: datetime | date | None, field: str) -> None:
    if value is None:
        return
    d = value.date() if isinstance(value, datetime) else value
    if not MIN_DATE <= d <= MAX_DATE:
        msg = _("Give a date between 1900 and 2100.")
        raise ValidationFailed(msg, fields={field: [msg]})


@router.get(
    "/tasks/{task_id}/issues", response={200: list[IssueOut], **READ_ERRORS}, summary="A task's issue log"
)
def list_issues(request: HttpRequest, task_id: int):
    """The task's 跨部门协作任务表: open issues first, each with its escalation ladder."""
    _task, issues = selectors.task_issues(request.auth, task_id)
    return [_issue(i) for i in issues]


@router.post("/tasks/{task_id}/issues", response={201: IssueOut, **WRITE_ERRORS}, summary="Raise an issue")
def raise_issue(request: HttpRequest, task_id: int, payload: IssueIn):
    """Anyone who sees the task. One resolver who sees the task; deadline in the future
    (default 24 hours); the parties are notified in-app, on their channels and in the IM
    groups of the departments involved."""
    user: User = request.auth
    task = access_task(user, task_id)
    _in_range(payload.deadline, "deadline")
    resolver = None
    if payload.resolver_id is not None:
        resolver = _people([payload.resolver_id], "resolver_id")[0]
    parties = _people(payload.party_user_ids, "party_user_ids")
    depts = list(Department.objects.filter(pk__in=payload.party_department_ids))
    if len(depts) != len(set(payload.party_department_ids)):
        msg = _("No such department.")
        raise ValidationFailed(msg, fields={"party_department_ids": [msg]})
    try:
        issue = services.issue_raise(
            actor=user,
            task=task,
            problem=payload.problem,
            resolver=resolver,
            party_users=parties,
            party_departments=depts,
            deadline=payload.deadline,
        )
    except ValidationFailed as exc:
        # The API names its fields by their JSON names.
        renamed = {
            {"resolver": "resolver_id", "party_users": "party_user_ids"}.get(k, k): v
            for k, v in exc.fields.items()
        }
        raise ValidationFailed(exc.message, fields=renamed) from None
    return 201, _issue(selectors.access_issue(user, issue.pk))


@router.get("/issues/{issue_id}", response={200: IssueOut, **READ_ERRORS}, summary="An issue")
def get_issue(request: HttpRequest, issue_id: int):
    """Whoever sees the issue's task, and the head or deputy of a department the issue
    involves (`party_department_ids`), who read the issue but not the task; else 404."""
    return _issue(selectors.access_issue(request.auth, issue_id))


@router.post(
    "/issues/{issue_id}/resolve", response={200: IssueOut, **WRITE_ERRORS}, summary="Resolve an issue"
)
def resolve_issue(request: HttpRequest, issue_id: int, payload: ResolveIn):
    """The resolver, or the head or deputy of the task's department. Stops the ladder; a
    closed issue answers 409 `issue_closed`."""
    user: User = request.auth
    issue = selectors.access_issue(user, issue_id)
    services.issue_resolve(actor=user, issue=issue, resolution=payload.resolution)
    return _issue(selectors.access_issue(user, issue_id))


@router.post(
    "/issues/{issue_id}/withdraw", response={200: IssueOut, **WRITE_ERRORS}, summary="Withdraw an issue"
)
def withdraw_issue(request: HttpRequest, issue_id: int, payload: WithdrawIn):
    """The raiser, the resolver, or the head or deputy of the task's department."""
    user: User = request.auth
    issue = selectors.access_issue(user, issue_id)
    services.issue_withdraw(actor=user, issue=issue, reason=payload.reason)
    return _issue(selectors.access_issue(user, issue_id))


def _plan(plan: CommunicationPlan, task) -> dict:
    return {
        "task_id": task.pk,
        "cadence": plan.cadence,
        "weekdays": plan.weekdays,
        "custom": plan.custom,
        "channel": plan.channel,
        "channel_detail": plan.channel_detail,
        "sync_time": plan.sync_time,
        "summary": services.plan_summary(plan),
        "next_sync_at": selectors.next_sync_for(plan, task, timezone.now()),
        "contacts": [
            {"department_id": c.department_id, "contact": user_ref(c.contact)} for c in plan.contact_list
        ],
        "updated_by": user_ref(plan.updated_by),
        "updated_at": plan.updated_at,
    }


def _plan_of(user: User, task_id: int) -> dict:
    task = access_task(user, task_id)
    plan = selectors.task_plan(task)
    if plan is None:
        raise NotFound(_("This task has no communication plan yet."))
    return _plan(plan, task)


@router.get(
    "/tasks/{task_id}/communication-plan",
    response={200: CommunicationPlanOut, **READ_ERRORS},
    summary="A task's communication plan",
)
def get_plan(request: HttpRequest, task_id: int):
    """The 沟通机制 of a task the caller sees: cadence, channel, sync time, one contact per
    department, and the next sync. 404 when the task is not visible or has no plan yet."""
    return _plan_of(request.auth, task_id)


@router.put(
    "/tasks/{task_id}/communication-plan",
    response={200: CommunicationPlanOut, **WRITE_ERRORS},
    summary="Set a task's communication plan",
)
def put_plan(request: HttpRequest, task_id: int, payload: CommunicationPlanIn):
    """Replaces the plan, as the task page's form does: allowed to the owner, the initiator
    and the department's head or deputy (403 otherwise). Each contact must see the task;
    errors name `contacts.N` (1-based). The contacts are notified."""
    user: User = request.auth
    task = access_task(user, task_id)
    depts = {d.pk: d for d in Department.objects.filter(pk__in=[c.department_id for c in payload.contacts])}
    people = {
        u.pk: u for u in User.objects.filter(pk__in=[c.contact_id for c in payload.contacts], is_active=True)
    }
    errors: dict[str, list[str]] = {}
    contacts = []
    for i, c in enumerate(payload.contacts, start=1):
        if c.department_id not in depts:
            errors[f"contacts.{i}"] = [_("No such department.")]
        elif c.contact_id not in people:
            errors[f"contacts.{i}"] = [_("No such person: %(ids)s.") % {"ids": c.contact_id}]
        else:
            contacts.append((depts[c.department_id], people[c.contact_id]))
    raise_if_errors(errors)
    services.plan_save(
        actor=user,
        task=task,
        cadence=payload.cadence,
        channel=payload.channel,
        weekdays=payload.weekdays,
        custom=payload.custom,
        channel_detail=payload.channel_detail,
        sync_time=payload.sync_time,
        contacts=contacts,
    )
    return _plan_of(user, task_id)


@router.get("/minutes", response={200: list[MinutesOut], **READ_ERRORS}, summary="Meeting minutes I may read")
def list_minutes(request: HttpRequest, task_id: int | None = None, limit: int = 50, offset: int = 0):
    """Minutes of tasks I see, of my departments, or that I attended; newest first.
    `task_id` narrows to one task (404 if I do not see it)."""
    user: User = request.auth
    task = access_task(user, task_id) if task_id is not None else None
    limit = max(1, min(limit, 200))
    offset = max(0, offset)
    rows = list(
        selectors.minutes_list(user, task=task).prefetch_related("attendees", "action_items__owner")[
            offset : offset + limit
        ]
    )
    return [_minutes(m) for m in rows]


@router.post("/minutes", response={201: MinutesOut, **WRITE_ERRORS}, summary="Record meeting minutes")
def create_minutes(request: HttpRequest, payload: MinutesIn):
    user: User = request.auth
    task = access_task(user, payload.task_id) if payload.task_id is not None else None
    department = None
    if task is None and payload.department_id is not None:
        department = Department.objects.filter(pk=payload.department_id).first()
        if department is None:
            msg = _("No such department.")
            raise ValidationFailed(msg, fields={"department_id": [msg]})
    _in_range(payload.held_on, "held_on")
    attendees = _people(payload.attendee_ids, "attendee_ids")
    owners = {u.pk: u for u in _people([a.owner_id for a in payload.action_items], "action_items")}
    items = []
    for i, a in enumerate(payload.action_items, start=1):
        _in_range(a.due_date, f"action_items.{i}.due_date")
        items.append(services.ActionItemIn(title=a.title, owner=owners.get(a.owner_id), due_date=a.due_date))
    m = services.minutes_create(
        actor=user,
        task=task,
        department=department,
        title=payload.title,
        held_on=payload.held_on,
        attendees=attendees,
        notes=payload.notes,
        decisions=payload.decisions,
        action_items=items,
    )
    return 201, _minutes(selectors.access_minutes(user, m.pk))


@router.get("/minutes/{minutes_id}", response={200: MinutesOut, **READ_ERRORS}, summary="Meeting minutes")
def get_minutes(request: HttpRequest, minutes_id: int):
    return _minutes(selectors.access_minutes(request.auth, minutes_id))


@router.get(
    "/minutes/{minutes_id}/action-items",
    response={200: list[ActionItemOut], **READ_ERRORS},
    summary="The action items of meeting minutes",
)
def list_action_items(request: HttpRequest, minutes_id: int):
    m = selectors.access_minutes(request.auth, minutes_id)
    return [_item(a) for a in m.action_items.all()]


@router.post(
    "/minutes/{minutes_id}/action-items/{item_id}/task",
    response={201: ActionItemOut, **WRITE_ERRORS},
    summary="Turn an action item into a task",
)
def action_item_task(request: HttpRequest, minutes_id: int, item_id: int):
    """A subtask of the minutes' task (needs edit rights on it) or a task of the minutes'
    department (needs membership), with the item's owner and due date. 409 when already done."""
    user: User = request.auth
    _m, item = selectors.access_action_item(user, minutes_id, item_id)
    services.action_item_to_task(actor=user, item=item)
    return 201, _item(ActionItem.objects.select_related("owner").get(pk=item.pk))
