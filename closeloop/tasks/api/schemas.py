"""Shapes and helpers the task API modules share: input/output schemas, the task detail answer,
resolving departments and people named in input."""

from datetime import date, datetime
from decimal import Decimal
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Schema
from pydantic import AwareDatetime

from closeloop.core.api_schemas import PageMeta, StrictIn
from closeloop.core.errors import NotFound, PreconditionRequired, ValidationFailed
from closeloop.core.ids import MAX_ID, is_id
from closeloop.core.searchbox import SEARCH_MAX
from closeloop.orgs.api import DepartmentRef, UserRef, department_ref, user_ref
from closeloop.orgs.models import Department, User
from closeloop.tasks import permissions, selectors, services
from closeloop.tasks.models import Priority, Task
from closeloop.tasks.selectors import (
    SORTS,
    allowed_transitions,
    task_detail,
)

PriorityIn = Literal[1, 2, 3, "high", "medium", "low"]
# In a query string every value is text.
PriorityQuery = Literal["1", "2", "3", "high", "medium", "low"]
PRIORITY_BY_NAME = {"high": Priority.HIGH, "medium": Priority.MEDIUM, "low": Priority.LOW}
TaskTypeIn = Literal["project", "routine", "collaborative"]
StatusIn = Literal["not_started", "in_progress", "blocked", "submitted", "done", "rework", "cancelled"]
PersonIn = int | str  # an id, or a username
MAX_LIMIT = 200
# The task list takes more per page: a department's every open task (2,000–5,000) in one request.
TASK_LIST_MAX_LIMIT = 5000


def _priority(value: PriorityIn | PriorityQuery | None) -> int | None:
    if value is None:
        return None
    return PRIORITY_BY_NAME[value] if value in PRIORITY_BY_NAME else int(value)


# -- shapes -------------------------------------------------------------------------------------


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
    loose: bool = Field(
        description="`q` as written — a Chinese phrase of four or more characters — matched no "
        "task, so `items` and `count` are the tasks holding each of its words anywhere "
        "(合同模板预审 → 合同, 模板, 预审), as the web list falls back and says so. False "
        "otherwise: the phrase matched, nothing was there to loosen, or its words found nothing "
        "either."
    )
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
    subtasks: list[SubtaskOut] = Field(
        description="The tree below, in tree order: the subtasks the caller needs to know (all of "
        "them for the department; for the owner of a subtask from outside, theirs and those linked "
        "to theirs by a dependency)."
    )
    hidden_subtasks: int = Field(0, description="How many other subtasks there are, not shown to the caller.")
    ancestors: list[AncestorOut] = Field(description="The chain above, from the top.")
    allowed_transitions: list[str] = Field(description="Statuses the caller may move the task to now.")
    can_edit: bool
    can_reassign: bool


class LessonOut(Schema):
    """A lesson of a similar past task (from the knowledge base), offered when creating one."""

    task_id: int
    full_code: str
    title: str
    what_worked: str
    to_improve: str
    tags: list[str]


class TaskCreatedOut(TaskOut):
    lessons: list[LessonOut] = Field(
        default_factory=list,
        description="Lessons of the most similar past tasks the caller may see (same customer, "
        "project or type; similar title), best first.",
    )


class TaskCreateIn(StrictIn):
    department: int | str | None = Field(
        None, description="Department id or code (e.g. SALES). Not needed for a subtask.", examples=["SALES"]
    )
    parent: int | None = Field(
        None, ge=1, le=MAX_ID, description="Id of the parent task, to create a subtask."
    )
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

    version: int | None = Field(
        None,
        description=(
            "The version you read (or send If-Match); 409 version_conflict if it moved, "
            "428 version_required if neither is sent."
        ),
    )
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
    reason: str = Field(
        "",
        description="Why the owner or the due date changes (required for a due date); kept in the activity log.",
    )
    criteria: list[CriterionIn] | None = Field(None, description="Replaces all criteria.")


class TransitionIn(StrictIn):
    to: StatusIn
    note: str = Field("", description="Required when blocking (the blocker), cancelling and sending back.")
    version: int | None = None
    expected_subtasks: int | None = Field(
        None,
        ge=0,
        le=1_000_000,
        description="When cancelling: the number of open subtasks (every level) you expect to be "
        "cancelled with the task, e.g. as you showed it to a person; 409 `subtasks_changed` when it "
        "is no longer that number. Leave it out to cancel whatever is open below.",
    )


class TransitionOut(TaskOut):
    cancelled_subtasks: int = Field(
        0,
        description="How many open subtasks (every level) were cancelled with the task: cancelling a "
        "task cancels what is open below it, each with its own event (`with_parent`).",
    )
    left_subtasks: int = Field(
        0,
        description="How many subtasks could not be cancelled with it (already done) and were left as "
        "they are.",
    )
    message: str = Field("", description="What happened, in the caller's language.")


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
    owed: bool = Field(
        False,
        description="Only tasks whose owner owes today's progress update (the task list's "
        "`?owed=1`; with `owner`, that person's).",
    )
    q: str = Field(
        "",
        max_length=SEARCH_MAX,
        description="Text in title, notes, customer or project; or a code like T001 / SALES-T001. "
        f"At most {SEARCH_MAX} characters: a longer one answers 422 naming `q`.",
    )
    top_level: bool = Field(False, description="Only tasks without a parent.")
    parent: int | None = Field(
        None,
        ge=1,
        le=MAX_ID,
        description="Only the direct subtasks of this task. A task that does not exist, or that the "
        "caller may not see, answers 422 naming `parent` (as an unknown `department` does).",
    )
    ordering: Literal[tuple(SORTS)] = Field("code", description="Sort key; `-` reverses.")  # type: ignore[valid-type]
    limit: int = Field(
        50,
        ge=1,
        le=TASK_LIST_MAX_LIMIT,
        description="Items per page, up to 5,000: e.g. `?department=SALES&status=open&limit=5000` "
        "reads a department's every open task in one request.",
    )
    offset: int = Field(0, ge=0, le=1_000_000_000)


class PageParams(Schema):
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=1_000_000_000)


# -- building answers ---------------------------------------------------------------------------


def task_fields(task: Task) -> dict[str, Any]:
    """A task's own fields as `TaskOut` has them, all but the other times (`department`,
    `owner`, `initiator`, `reviewer`, `project` and `customer` attached to `task`): the single
    read (`_detail`, `detail.task_detail_response`) adds the times, criteria, people and tree."""
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
        "overdue": task.is_overdue(),
        "project": task.project.name if task.project_id else None,
        "customer": task.customer.name if task.customer_id else None,
        "source": task.source,
        "version": task.version,
        "updated_at": task.updated_at,
        "goal": task.goal,
        "expected_outcome": task.expected_outcome,
        "value": task.value,
        "notes": task.notes,
        "initiator": user_ref(task.initiator),
        "reviewer": user_ref(task.reviewer),
        "adhoc_category": task.adhoc_category,
    }


def criterion_ref(c) -> dict[str, Any]:
    """An acceptance criterion as the API shows it (`CriterionOut`)."""
    return {
        "id": c.pk,
        "text": c.text,
        "metric": c.metric,
        "comparator": c.comparator,
        "threshold": float(c.threshold) if c.threshold is not None else None,
        "unit": c.unit,
        "display": c.measure_display,
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
    task = task_detail(user, pk, events=False)
    return {
        **task_fields(task),
        "respond_by": task.respond_by,
        "created_at": task.created_at,
        "started_at": task.started_at,
        "submitted_at": task.submitted_at,
        "completed_at": task.completed_at,
        "cancelled_at": task.cancelled_at,
        "criteria": [criterion_ref(c) for c in task.criteria_list],
        "collaborators": [user_ref(u) for u in task.collaborator_list],
        "subtasks": [subtask_ref(s) for s in task.subtask_list],
        "hidden_subtasks": getattr(task, "hidden_subtask_count", 0),
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
    if is_id(value):  # ASCII digits within range: "²" and 30-digit ids are names, not ids
        found = qs.filter(pk=int(value)).first()
    else:
        found = qs.filter(code__iexact=str(value).strip()).first()
    if found is None:
        errors.setdefault(field, []).append(_("No department %(value)s.") % {"value": value})
    return found


def _task(user: User, value: int, errors: dict[str, list[str]], field: str = "parent") -> Task | None:
    """The task `value` names that `user` may see, else None with "No task N." under `field`
    (the same 422 as an unknown department's): one the caller may not see is told exactly as
    one that does not exist (`selectors.access_task`)."""
    try:
        return selectors.access_task(user, value)
    except NotFound:
        errors.setdefault(field, []).append(_("No task %(value)s.") % {"value": value})
        return None


def _person(
    value: PersonIn, errors: dict[str, list[str]], field: str, *, me: User | None = None
) -> User | None:
    """By id or username (`me` for the caller, where given)."""
    if me is not None and value == "me":
        return me
    if is_id(value):  # ASCII digits within range: "²" and 30-digit ids are names, not ids
        found = User.objects.filter(pk=int(value)).first()
    else:
        found = User.objects.filter(username=str(value).strip()).first()
    if found is None:
        errors.setdefault(field, []).append(_("No person %(value)s.") % {"value": value})
    return found


def _people(values: list[PersonIn], errors: dict[str, list[str]], field: str) -> list[User]:
    ids = {int(v) for v in values if is_id(v)}
    names = {str(v).strip() for v in values if not is_id(v)}
    by_id = {u.pk: u for u in User.objects.filter(pk__in=ids)} if ids else {}
    by_name = {u.username: u for u in User.objects.filter(username__in=names)} if names else {}
    found: list[User] = []
    for i, v in enumerate(values, start=1):
        user = by_id.get(int(v)) if is_id(v) else by_name.get(str(v).strip())
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


def _if_match(request: HttpRequest | None) -> int | None:
    """The version in an `If-Match` header: `"7"`, `W/"7"` or `7` (the ETag of GET)."""
    raw = (request.headers.get("If-Match", "") if request is not None else "").strip()
    if not raw:
        return None
    value = raw.removeprefix("W/").strip().strip('"')
    if not value.isdigit() or len(value) > 18:
        raise ValidationFailed(
            _('If-Match must be the task\'s version in quotes, e.g. "7".'), fields={"If-Match": [raw[:50]]}
        )
    return int(value)


def _check_version(task: Task, version: int | None, request: HttpRequest | None = None) -> int:
    """The version the caller read, from the body's `version` or the `If-Match` header, and
    that it is still the task's. Raises PreconditionRequired (428) when neither was sent: a
    write that says nothing about what it read would silently overwrite someone else's change
    (issue 11, item 3); Conflict (409 `version_conflict`) when the task moved since."""
    header = _if_match(request)
    if version is not None and header is not None and version != header:
        raise ValidationFailed(
            _("The version in the body and in If-Match differ."), fields={"version": [str(version)]}
        )
    version = version if version is not None else header
    if version is None:
        raise PreconditionRequired(
            _(
                "Send the version of the task you read (field version, or header If-Match), so that "
                "a change made since (elsewhere, or in another window) is not overwritten; the task is at "
                "version %(now)s."
            )
            % {"now": task.version}
        )
    if task.version != version:
        raise services.stale_version(now=task.version, sent=version)
    return version


# -- operations ---------------------------------------------------------------------------------
