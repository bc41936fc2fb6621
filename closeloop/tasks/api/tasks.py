"""API for tasks: list, create, read, edit, move along the status machine, collaborators and the
activity log. Thin: parse, resolve references, call the same service or selector as the web,
shape the answer."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema
from pydantic import AwareDatetime, ConfigDict

from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS, PageMeta
from closeloop.core.errors import Conflict, NotFound, raise_if_errors
from closeloop.core.pagination import slice_by_ids
from closeloop.orgs.api import DepartmentRef, UserRef, department_ref, user_ref
from closeloop.orgs.models import Department, User
from closeloop.tasks import permissions, selectors, services
from closeloop.tasks.models import Priority, Task, TaskEvent
from closeloop.tasks.selectors import (
    SORTS,
    TaskFilters,
    access_task,
    allowed_transitions,
    local_today,
    task_detail,
    task_list,
)
from closeloop.tasks.states import Status

router = Router(tags=["tasks"])

PriorityIn = Literal[1, 2, 3, "high", "medium", "low"]
# In a query string every value is text.
PriorityQuery = Literal["1", "2", "3", "high", "medium", "low"]
PRIORITY_BY_NAME = {"high": Priority.HIGH, "medium": Priority.MEDIUM, "low": Priority.LOW}
TaskTypeIn = Literal["project", "routine", "collaborative"]
StatusIn = Literal["not_started", "in_progress", "blocked", "submitted", "done", "rework", "cancelled"]
PersonIn = int | str  # an id, or a username
MAX_LIMIT = 200


def _priority(value: PriorityIn | PriorityQuery | None) -> int | None:
    if value is None:
        return None
    return PRIORITY_BY_NAME[value] if value in PRIORITY_BY_NAME else int(value)


# -- shapes -------------------------------------------------------------------------------------


class StrictIn(Schema):
    # A misspelt field ("titel") is an error, not silently ignored.
    model_config = ConfigDict(extra="forbid")


class CriterionIn(StrictIn):
    text: str = Field(description="The criterion as a sentence.", examples=["数据准确率达标"])
    metric: str = Field("", examples=["数据准确率"])
    comparator: Literal["", ">=", ">", "<=", "<", "="] = Field("", examples=[">="])
    threshold: Decimal | None = Field(None, examples=[95])
    unit: str = Field("", examples=["%"])


class CriterionOut(Schema):
    id: int
    text: str
    metric: str
    comparator: str
    threshold: float | None
    unit: str
    display: str = Field(description="e.g. 数据准确率 ≥ 95%; empty when not measurable.")


class TaskListItem(Schema):
    id: int
    code: str = Field(examples=["T001"])
    full_code: str = Field(examples=["SALES-T001"])
    title: str
    department: DepartmentRef
    parent_id: int | None
    depth: int
    task_type: str
    priority: int = Field(description="1 high, 2 medium, 3 low.")
    priority_label: str
    status: str
    status_label: str
    progress: int
    owner: UserRef
    start_date: date | None
    due_date: date
    original_due_date: date
    overdue: bool
    project: str | None
    customer: str | None
    source: str
    version: int = Field(description="Send it back with PATCH to guard against lost updates.")
    updated_at: datetime


class TaskPage(PageMeta):
    items: list[TaskListItem]


class SubtaskOut(Schema):
    id: int
    code: str
    title: str
    parent_id: int | None
    depth: int
    status: str
    progress: int
    owner: UserRef
    due_date: date


class AncestorOut(Schema):
    id: int
    code: str
    title: str


class TaskOut(TaskListItem):
    goal: str
    expected_outcome: str
    value: str
    notes: str
    initiator: UserRef
    reviewer: UserRef | None
    adhoc_category: str
    respond_by: datetime | None
    created_at: datetime
    started_at: datetime | None
    submitted_at: datetime | None
    completed_at: datetime | None
    cancelled_at: datetime | None
    criteria: list[CriterionOut]
    collaborators: list[UserRef]
    subtasks: list[SubtaskOut] = Field(description="The whole tree below, in tree order.")
    ancestors: list[AncestorOut] = Field(description="The chain above, from the top.")
    allowed_transitions: list[str] = Field(description="Statuses the caller may move the task to now.")
    can_edit: bool
    can_reassign: bool


class TaskCreateIn(StrictIn):
    department: int | str | None = Field(
        None, description="Department id or code (e.g. SALES). Not needed for a subtask.", examples=["SALES"]
    )
    parent: int | None = Field(None, description="Id of the parent task, to create a subtask.")
    title: str = Field(examples=["月度销售报表"])
    owner: PersonIn | None = Field(None, description="Person id or username; the caller when left out.")
    due_date: date
    start_date: date | None = None
    goal: str = ""
    expected_outcome: str = ""
    value: str = ""
    task_type: TaskTypeIn = "project"
    priority: PriorityIn = Field(2, description="1/high, 2/medium, 3/low.")
    reviewer: PersonIn | None = None
    collaborators: list[PersonIn] = Field(default_factory=list, description="Person ids or usernames.")
    project: str | None = Field(None, description="Project name; added to the shared list if new.")
    customer: str | None = Field(None, description="Customer name; added to the shared list if new.")
    notes: str = ""
    criteria: list[CriterionIn] = Field(
        default_factory=list, description="At least one for a top-level task."
    )
    source: Literal["planned", "adhoc"] = "planned"
    adhoc_category: Literal["", "complaint", "urgent_data", "meeting", "other"] = ""
    respond_by: AwareDatetime | None = None


class TaskPatchIn(StrictIn):
    """Send only what changes. `null` clears reviewer, project, customer and start date."""

    version: int | None = Field(None, description="The version you read; 409 version_conflict if it moved.")
    title: str | None = None
    goal: str | None = None
    expected_outcome: str | None = None
    value: str | None = None
    notes: str | None = None
    task_type: TaskTypeIn | None = None
    priority: PriorityIn | None = None
    start_date: date | None = None
    due_date: date | None = None
    reviewer: PersonIn | None = None
    project: str | None = None
    customer: str | None = None
    progress: int | None = None
    owner: PersonIn | None = Field(None, description="Reassign (initiator or head only).")
    reason: str = Field("", description="Why the owner changes; kept in the activity log.")
    criteria: list[CriterionIn] | None = Field(None, description="Replaces all criteria.")


class TransitionIn(StrictIn):
    to: StatusIn
    note: str = Field("", description="Required when blocking (the blocker), cancelling and sending back.")
    version: int | None = None


class CollaboratorsOut(Schema):
    collaborators: list[UserRef]


class EventOut(Schema):
    id: int
    verb: str
    actor: UserRef | None
    before: dict[str, Any]
    after: dict[str, Any]
    note: str
    created_at: datetime


class EventPage(PageMeta):
    items: list[EventOut]


class TaskListParams(Schema):
    department: str | None = Field(None, description="Department id or code.")
    type: TaskTypeIn | None = None
    priority: PriorityQuery | None = Field(None, description="1/high, 2/medium, 3/low.")
    owner: str | None = Field(None, description="Person id, username, or `me`.")
    status: Literal[StatusIn, "open"] | None = Field(
        None, description="A status, or `open` for not done nor cancelled."
    )
    overdue: bool = Field(False, description="Only past due and open.")
    q: str = Field(
        "", description="Text in title, notes, customer or project; or a code like T001 / SALES-T001."
    )
    top_level: bool = Field(False, description="Only tasks without a parent.")
    parent: int | None = Field(None, description="Only the direct subtasks of this task.")
    ordering: Literal[tuple(SORTS)] = Field("code", description="Sort key; `-` reverses.")  # type: ignore[valid-type]
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0)


# -- building answers ---------------------------------------------------------------------------


def _list_item(task: Task, today: date) -> dict[str, Any]:
    return {
        "id": task.pk,
        "code": task.code,
        "full_code": task.full_code,
        "title": task.title,
        "department": department_ref(task.department),
        "parent_id": task.parent_id,
        "depth": task.depth,
        "task_type": task.task_type,
        "priority": task.priority,
        "priority_label": str(task.get_priority_display()),
        "status": task.status,
        "status_label": str(task.get_status_display()),
        "progress": task.progress,
        "owner": user_ref(task.owner),
        "start_date": task.start_date,
        "due_date": task.due_date,
        "original_due_date": task.original_due_date,
        "overdue": task.is_overdue(today),
        "project": task.project.name if task.project_id else None,
        "customer": task.customer.name if task.customer_id else None,
        "source": task.source,
        "version": task.version,
        "updated_at": task.updated_at,
    }


def subtask_ref(s) -> dict[str, Any]:
    """A subtask as the API lists it (the task page and the plan endpoints)."""
    return {
        "id": s.pk,
        "code": s.code,
        "title": s.title,
        "parent_id": s.parent_id,
        "depth": s.depth,
        "status": s.status,
        "progress": s.progress,
        "owner": user_ref(s.owner),
        "due_date": s.due_date,
    }


def _detail(user: User, pk: int) -> dict[str, Any]:
    # A write may have changed what the caller sees (e.g. a new task): drop the per-request
    # memo of the visibility query before reading again.
    selectors.forget_visibility(user)
    task = task_detail(user, pk)
    return {
        **_list_item(task, local_today()),
        "goal": task.goal,
        "expected_outcome": task.expected_outcome,
        "value": task.value,
        "notes": task.notes,
        "initiator": user_ref(task.initiator),
        "reviewer": user_ref(task.reviewer),
        "adhoc_category": task.adhoc_category,
        "respond_by": task.respond_by,
        "created_at": task.created_at,
        "started_at": task.started_at,
        "submitted_at": task.submitted_at,
        "completed_at": task.completed_at,
        "cancelled_at": task.cancelled_at,
        "criteria": [
            {
                "id": c.pk,
                "text": c.text,
                "metric": c.metric,
                "comparator": c.comparator,
                "threshold": float(c.threshold) if c.threshold is not None else None,
                "unit": c.unit,
                "display": c.measure_display,
            }
            for c in task.criteria_list
        ],
        "collaborators": [user_ref(u) for u in task.collaborator_list],
        "subtasks": [subtask_ref(s) for s in task.subtask_list],
        "ancestors": [{"id": a.pk, "code": a.code, "title": a.title} for a in task.ancestor_list],
        "allowed_transitions": [str(s) for s in allowed_transitions(user, task)],
        "can_edit": permissions.can_edit(user, task),
        "can_reassign": permissions.can_reassign(user, task),
    }


# -- resolving references in the input ----------------------------------------------------------


def _department(
    value: int | str, errors: dict[str, list[str]], field: str = "department"
) -> Department | None:
    """By id or code. The department list is public, so "no such department" leaks nothing."""
    qs = Department.objects.all()
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        found = qs.filter(pk=int(value)).first()
    else:
        found = qs.filter(code__iexact=str(value).strip()).first()
    if found is None:
        errors.setdefault(field, []).append(_("No department %(value)s.") % {"value": value})
    return found


def _person(
    value: PersonIn, errors: dict[str, list[str]], field: str, *, me: User | None = None
) -> User | None:
    """By id or username (`me` for the caller, where given)."""
    if me is not None and value == "me":
        return me
    if isinstance(value, int) or (isinstance(value, str) and value.isdigit()):
        found = User.objects.filter(pk=int(value)).first()
    else:
        found = User.objects.filter(username=str(value).strip()).first()
    if found is None:
        errors.setdefault(field, []).append(_("No person %(value)s.") % {"value": value})
    return found


def _people(values: list[PersonIn], errors: dict[str, list[str]], field: str) -> list[User]:
    ids = {int(v) for v in values if isinstance(v, int) or str(v).isdigit()}
    names = {str(v).strip() for v in values if not (isinstance(v, int) or str(v).isdigit())}
    by_id = {u.pk: u for u in User.objects.filter(pk__in=ids)} if ids else {}
    by_name = {u.username: u for u in User.objects.filter(username__in=names)} if names else {}
    found: list[User] = []
    for i, v in enumerate(values, start=1):
        user = by_id.get(int(v)) if (isinstance(v, int) or str(v).isdigit()) else by_name.get(str(v).strip())
        if user is None:
            errors.setdefault(f"{field}.{i}", []).append(_("No person %(value)s.") % {"value": v})
        else:
            found.append(user)
    return found


def _criteria(rows: list[CriterionIn]) -> list[services.CriterionIn]:
    return [
        services.CriterionIn(
            text=c.text, metric=c.metric, comparator=c.comparator, threshold=c.threshold, unit=c.unit
        )
        for c in rows
    ]


def _check_version(task: Task, version: int | None) -> None:
    if version is not None and task.version != version:
        raise Conflict(
            _(
                "Someone else changed this task meanwhile (version %(now)s, you sent %(sent)s); reload and try again."
            )
            % {"now": task.version, "sent": version},
            code="version_conflict",
        )


# -- operations ---------------------------------------------------------------------------------


@router.get("/tasks", response={200: TaskPage, **READ_ERRORS}, summary="List tasks")
def list_tasks(request: HttpRequest, filters: Query[TaskListParams]):
    """Tasks the caller may see, filtered and sorted as the web list, paginated with
    `limit`/`offset`. `count` is the total across pages."""
    user: User = request.auth
    errors: dict[str, list[str]] = {}
    department = _department(filters.department, errors) if filters.department else None
    owner = _person(filters.owner, errors, "owner", me=user) if filters.owner else None
    raise_if_errors(errors)
    qs = task_list(
        user,
        TaskFilters(
            department=department.pk if department else None,
            task_type=filters.type,
            priority=_priority(filters.priority),
            owner=owner.pk if owner else None,
            status=filters.status,
            overdue=filters.overdue,
            q=filters.q,
            top_level_only=filters.top_level,
            sort=filters.ordering,
        ),
    )
    if filters.parent is not None:
        qs = qs.filter(parent_id=filters.parent)
    count = qs.count()
    today = local_today()
    page = slice_by_ids(qs, filters.offset, filters.offset + filters.limit)
    items = [_list_item(t, today) for t in page]
    return {"count": count, "limit": filters.limit, "offset": filters.offset, "items": items}


@router.post("/tasks", response={201: TaskOut, **WRITE_ERRORS}, summary="Create a task")
def create_task(request: HttpRequest, payload: TaskCreateIn):
    """Take a task in (members of the department; for a subtask, whoever may edit the parent).
    Answers 201 with the task."""
    user: User = request.auth
    errors: dict[str, list[str]] = {}
    parent = None
    if payload.parent is not None:
        try:
            parent = access_task(user, payload.parent)
        except NotFound:
            errors.setdefault("parent", []).append(_("No task %(value)s.") % {"value": payload.parent})
    department = None
    if payload.department is not None:
        department = _department(payload.department, errors)
    elif payload.parent is None:
        errors.setdefault("department", []).append(_("Name the department (id or code)."))
    owner = _person(payload.owner, errors, "owner") if payload.owner is not None else user
    reviewer = _person(payload.reviewer, errors, "reviewer") if payload.reviewer is not None else None
    collaborators = _people(payload.collaborators, errors, "collaborators")
    raise_if_errors(errors)
    if parent is not None:
        department = parent.department
    assert department is not None and owner is not None
    with transaction.atomic():
        # New project or customer names roll back with the task if the service refuses it.
        project = services.project_get_or_create(name=payload.project) if payload.project else None
        customer = services.customer_get_or_create(name=payload.customer) if payload.customer else None
        task = services.task_create(
            actor=user,
            department=department,
            parent=parent,
            title=payload.title,
            owner=owner,
            due_date=payload.due_date,
            start_date=payload.start_date,
            goal=payload.goal,
            expected_outcome=payload.expected_outcome,
            value=payload.value,
            task_type=payload.task_type,
            priority=_priority(payload.priority),
            reviewer=reviewer,
            collaborators=collaborators,
            project=project,
            customer=customer,
            notes=payload.notes,
            criteria=_criteria(payload.criteria),
            source=payload.source,
            adhoc_category=payload.adhoc_category,
            respond_by=payload.respond_by,
            require_intake=True,
        )
    return 201, _detail(user, task.pk)


@router.get("/tasks/{task_id}", response={200: TaskOut, **READ_ERRORS}, summary="Get a task")
def get_task(request: HttpRequest, task_id: int):
    """The task with its criteria, collaborators, subtasks, the chain above it and the
    transitions the caller may take now."""
    return _detail(request.auth, task_id)


@router.patch("/tasks/{task_id}", response={200: TaskOut, **WRITE_ERRORS}, summary="Edit a task")
def patch_task(request: HttpRequest, task_id: int, payload: TaskPatchIn):
    """Change some fields (owner, initiator, head or deputy). `owner` reassigns (initiator or
    head only); `criteria` replaces them all; `version` guards against overwriting someone
    else's change (409 `version_conflict`). All or nothing."""
    user: User = request.auth
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    new_owner = data.pop("owner", None)
    reason = data.pop("reason", "")
    criteria = data.pop("criteria", None)
    errors: dict[str, list[str]] = {}
    task = access_task(user, task_id)
    _check_version(task, version)
    changes: dict[str, Any] = {}
    for field in ("title", "goal", "expected_outcome", "value", "notes"):
        if field in data:
            changes[field] = data[field] if data[field] is not None else ""
    for field in ("task_type", "start_date", "due_date", "progress"):
        if field in data:
            changes[field] = data[field]
    if "priority" in data:
        changes["priority"] = _priority(data["priority"])
    if "reviewer" in data:
        changes["reviewer"] = (
            _person(data["reviewer"], errors, "reviewer") if data["reviewer"] is not None else None
        )
    owner = None
    if "owner" in payload.model_fields_set:
        if new_owner is None:
            errors.setdefault("owner", []).append(_("A task needs exactly one owner."))
        else:
            owner = _person(new_owner, errors, "owner")
    raise_if_errors(errors)
    with transaction.atomic():
        for field, make in (
            ("project", services.project_get_or_create),
            ("customer", services.customer_get_or_create),
        ):
            if field in data:
                name = (data[field] or "").strip()
                changes[field] = make(name=name) if name else None
        if changes or criteria is not None or owner is None:
            task = services.task_update(
                actor=user,
                task=task,
                expected_version=version,
                criteria=_criteria(payload.criteria) if criteria is not None else None,
                **changes,
            )
        if owner is not None:
            task = services.task_reassign(actor=user, task=task, owner=owner, reason=reason)
    return _detail(user, task.pk)


@router.post(
    "/tasks/{task_id}/transition",
    response={200: TaskOut, **WRITE_ERRORS},
    summary="Move a task to another status",
)
def transition_task(request: HttpRequest, task_id: int, payload: TransitionIn):
    """Start, block, unblock, submit, accept, send back or cancel. A move the status machine
    does not have answers 409 `transition_not_allowed`, naming the allowed ones; a move the
    caller may not take answers 403."""
    user: User = request.auth
    task = access_task(user, task_id)
    _check_version(task, payload.version)
    task = services.task_transition(actor=user, task=task, to=Status(payload.to), note=payload.note)
    return _detail(user, task.pk)


def _collaborators(task: Task) -> dict[str, Any]:
    people = User.objects.filter(collaborator_links__task=task).order_by("collaborator_links__added_at")
    return {"collaborators": [user_ref(u) for u in people]}


def _collaborator(user_id: int) -> User:
    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise NotFound(_("Person not found."))
    return person


@router.post(
    "/tasks/{task_id}/collaborators/{user_id}",
    response={200: CollaboratorsOut, 201: CollaboratorsOut, **WRITE_ERRORS},
    summary="Add a collaborator",
)
def add_collaborator(request: HttpRequest, task_id: int, user_id: int):
    """201 when added, 200 when the person already helps on the task."""
    task = access_task(request.auth, task_id)
    added = services.task_collaborator_add(actor=request.auth, task=task, user=_collaborator(user_id))
    return (201 if added else 200), _collaborators(task)


@router.delete(
    "/tasks/{task_id}/collaborators/{user_id}",
    response={200: CollaboratorsOut, **WRITE_ERRORS},
    summary="Remove a collaborator",
)
def remove_collaborator(request: HttpRequest, task_id: int, user_id: int):
    task = access_task(request.auth, task_id)
    services.task_collaborator_remove(actor=request.auth, task=task, user=_collaborator(user_id))
    return _collaborators(task)


@router.get(
    "/tasks/{task_id}/events", response={200: EventPage, **READ_ERRORS}, summary="A task's activity log"
)
def task_events(request: HttpRequest, task_id: int, page: Query[PageParams]):
    """Who did what and when, newest first: the audit trail of the task."""
    task = access_task(request.auth, task_id)
    qs = TaskEvent.objects.filter(task=task).select_related("actor").order_by("-created_at", "-id")
    count = qs.count()
    items = [
        {
            "id": e.pk,
            "verb": e.verb,
            "actor": user_ref(e.actor),
            "before": e.before,
            "after": e.after,
            "note": e.note,
            "created_at": e.created_at,
        }
        for e in qs[page.offset : page.offset + page.limit]
    ]
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


# Subtasks, dependencies, milestones, criteria, comments, recurrence, templates and ad-hoc work
# register their operations on this same router.
from closeloop.tasks import api_plan  # noqa: E402,F401
