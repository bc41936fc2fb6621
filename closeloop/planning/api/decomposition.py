"""API of intake and decomposition: subtasks, dependencies, milestones, criteria, comments,
recurrence, templates, ad-hoc quick capture and the intake check. Registered on the tasks
router (imported at the bottom of `tasks.api`), same rules as the web: a task the caller may
not see — including the other end of a dependency — is a 404."""

import datetime as dt
from typing import Any, Literal

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Schema

from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS
from closeloop.core.errors import NotFound, raise_if_errors
from closeloop.orgs.api import UserRef, user_ref
from closeloop.orgs.models import User
from closeloop.tasks import intake, selectors, selectors_plan, services, services_plan
from closeloop.tasks.api import (
    CriterionIn,
    CriterionOut,
    PersonIn,
    PriorityIn,
    StrictIn,
    TaskOut,
    _criteria,
    _department,
    _detail,
    _people,
    _person,
    _priority,
    router,
    subtask_ref,
)
from closeloop.tasks.models import Comment, DecompositionTemplate, Milestone, RecurrenceRule, TaskDependency
from closeloop.tasks.selectors import access_task, local_today

# -- shapes -------------------------------------------------------------------------------------


class SubtaskIn(StrictIn):
    title: str
    owner: PersonIn | None = Field(None, description="Exactly one owner (id or username).")
    due_date: dt.date | None = None
    start_date: dt.date | None = None
    collaborators: list[PersonIn] = Field(default_factory=list)
    criteria: list[CriterionIn] = Field(default_factory=list)
    weight: int = Field(1, description="Share of the parent's roll-up (1–100).")
    priority: PriorityIn | None = None


class SubtaskItem(Schema):
    id: int
    code: str
    title: str
    parent_id: int | None
    depth: int
    status: str
    progress: int
    weight: int
    owner: UserRef
    start_date: dt.date | None
    due_date: dt.date
    after: list[int] = Field(description="Ids of the tasks it waits for (finish-to-start).")


class PlanOut(Schema):
    subtasks: list[SubtaskItem]
    warnings: list[str]


class DependencyIn(StrictIn):
    predecessor: int = Field(description="Id of the task that must finish first.")


class DependencyOut(Schema):
    predecessor_id: int
    predecessor_code: str
    successor_id: int
    successor_code: str


class DependencyList(Schema):
    items: list[DependencyOut]


class MilestoneIn(StrictIn):
    title: str
    date: dt.date


class MilestonePatch(StrictIn):
    title: str | None = None
    date: dt.date | None = None
    reached: bool | None = None


class MilestoneOut(Schema):
    id: int
    task_id: int
    title: str
    date: dt.date
    reached_at: dt.datetime | None


class MilestoneList(Schema):
    items: list[MilestoneOut]


class CriteriaList(Schema):
    items: list[CriterionOut]


class CriteriaIn(StrictIn):
    criteria: list[CriterionIn]
    version: int | None = None


class CommentIn(StrictIn):
    body: str = Field(description="Markdown subset; @username or @姓名 notifies that person.")


class CommentOut(Schema):
    id: int
    author: UserRef
    body: str
    html: str
    mentions: list[int]
    created_at: dt.datetime


class CommentList(Schema):
    items: list[CommentOut]


class RecurrenceIn(StrictIn):
    frequency: Literal["weekly", "monthly_workday", "monthly_date"]
    weekday: int | None = Field(None, description="0 Monday … 6 Sunday (weekly).")
    nth_workday: int | None = Field(None, description="Nth working day of the month (monthly_workday).")
    day_of_month: int | None = Field(
        None, description="Day of month, moved to the next working day (monthly_date)."
    )
    lead_days: int = Field(5, description="Create each instance this many days before it is due.")


class RecurrenceOut(Schema):
    id: int
    frequency: str
    weekday: int | None
    nth_workday: int | None
    day_of_month: int | None
    lead_days: int
    active: bool
    next_due: list[dt.date] = Field(description="The next due dates (up to 3).")


class TemplateItemIn(Schema):
    title: str
    offset: int = Field(0, description="Working days after the task's start.")
    duration: int = Field(0, description="Working days from its start to its due date.")
    after: list[int] = Field(
        default_factory=list, description="Positions (from 1) of earlier steps it waits for."
    )
    criteria: list[str] = Field(default_factory=list)
    weight: int = 1


class TemplateIn(StrictIn):
    department: int | str
    name: str
    items: list[TemplateItemIn] | None = Field(None, description="The steps; or give `from_task`.")
    from_task: int | None = Field(None, description="Save this task's subtasks as the template.")


class TemplateOut(Schema):
    id: int
    department_id: int
    name: str
    items: list[dict[str, Any]]
    milestones: list[dict[str, Any]]


class TemplateList(Schema):
    items: list[TemplateOut]


class ApplyTemplateIn(StrictIn):
    template: int
    start: dt.date | None = Field(None, description="First working day; the task's start date when left out.")
    owners: dict[str, PersonIn] = Field(default_factory=dict, description="Step position (from 1) → owner.")


class AdhocIn(StrictIn):
    department: int | str
    title: str
    category: Literal["complaint", "urgent_data", "meeting", "other"]
    priority: PriorityIn = "high"
    owner: PersonIn | None = None
    customer: str | None = None
    notes: str = ""
    criterion: str = ""


class IntakeCheckIn(StrictIn):
    title: str
    goal: str = ""
    expected_outcome: str = ""


class IntakeCheckOut(Schema):
    vague: bool
    missing: list[str]
    hint: str
    deadlines: list[str]
    quantities: list[str]
    parties: list[str]
    results: list[str]


# -- helpers ------------------------------------------------------------------------------------


def _plan(user: User, task) -> dict[str, Any]:
    plan = selectors_plan.task_plan(user, task)
    after: dict[int, list[int]] = {}
    for d in plan.dependencies:
        after.setdefault(d.successor_id, []).append(d.predecessor_id)
    return {
        "subtasks": [
            {
                **subtask_ref(s),
                "weight": s.weight,
                "start_date": s.start_date,
                "after": after.get(s.pk, []),
            }
            for s in plan.subtasks
        ],
        "warnings": plan.warnings,
    }


def _dependencies(task) -> dict[str, Any]:
    deps = (
        TaskDependency.objects.filter(successor=task)
        .select_related("predecessor", "successor")
        .order_by("id")
    )
    return {
        "items": [
            {
                "predecessor_id": d.predecessor_id,
                "predecessor_code": d.predecessor.code,
                "successor_id": d.successor_id,
                "successor_code": d.successor.code,
            }
            for d in deps
        ]
    }


def _milestone(m: Milestone) -> dict[str, Any]:
    return {"id": m.pk, "task_id": m.task_id, "title": m.title, "date": m.date, "reached_at": m.reached_at}


def _access_milestone(user: User, milestone_id: int) -> Milestone:
    m = Milestone.objects.filter(pk=milestone_id).select_related("task__department").first()
    if m is None:
        raise NotFound(_("Milestone not found."))
    access_task(user, m.task_id)
    return m


def _comment(c: Comment) -> dict[str, Any]:
    return {
        "id": c.pk,
        "author": user_ref(c.author),
        "body": c.body,
        "html": c.html,
        "mentions": c.mentions,
        "created_at": c.created_at,
    }


def _rule(rule: RecurrenceRule) -> dict[str, Any]:
    today = local_today()
    upcoming = services_plan.occurrences(
        rule, start=max(today, rule.starts_on), end=today + dt.timedelta(days=400)
    )[:3]
    return {
        "id": rule.pk,
        "frequency": rule.frequency,
        "weekday": rule.weekday,
        "nth_workday": rule.nth_workday,
        "day_of_month": rule.day_of_month,
        "lead_days": rule.lead_days,
        "active": rule.active,
        "next_due": upcoming if rule.active else [],
    }


def _template(t: DecompositionTemplate) -> dict[str, Any]:
    return {
        "id": t.pk,
        "department_id": t.department_id,
        "name": t.name,
        "items": t.items,
        "milestones": t.milestones,
    }


# -- subtasks -----------------------------------------------------------------------------------


@router.get(
    "/tasks/{task_id}/subtasks", response={200: PlanOut, **READ_ERRORS}, summary="A task's subtask tree"
)
def list_subtasks(request: HttpRequest, task_id: int):
    """The whole tree below the task in tree order, with dependencies and the plan's warnings."""
    return _plan(request.auth, access_task(request.auth, task_id))


@router.post("/tasks/{task_id}/subtasks", response={201: TaskOut, **WRITE_ERRORS}, summary="Add a subtask")
def add_subtask(request: HttpRequest, task_id: int, payload: SubtaskIn):
    """A step with exactly one owner, its own dates and criteria (owner, initiator or head of
    the parent). The parent's progress rolls up from its subtasks."""
    user: User = request.auth
    parent = access_task(user, task_id)
    errors: dict[str, list[str]] = {}
    owner = _person(payload.owner, errors, "owner") if payload.owner is not None else None
    collaborators = _people(payload.collaborators, errors, "collaborators")
    raise_if_errors(errors)
    sub = services_plan.subtask_add(
        actor=user,
        parent=parent,
        title=payload.title,
        owner=owner,
        due_date=payload.due_date,
        start_date=payload.start_date,
        collaborators=collaborators,
        criteria=_criteria(payload.criteria),
        weight=payload.weight,
        priority=_priority(payload.priority),
    )
    return 201, _detail(user, sub.pk)


# -- dependencies -------------------------------------------------------------------------------


@router.get(
    "/tasks/{task_id}/dependencies",
    response={200: DependencyList, **READ_ERRORS},
    summary="What a task waits for",
)
def list_dependencies(request: HttpRequest, task_id: int):
    return _dependencies(access_task(request.auth, task_id))


@router.post(
    "/tasks/{task_id}/dependencies",
    response={201: DependencyList, **WRITE_ERRORS},
    summary="Make a task wait for another (finish-to-start)",
)
def add_dependency(request: HttpRequest, task_id: int, payload: DependencyIn):
    """The task starts when `predecessor` is finished. A predecessor the caller may not see is
    a 404; a cycle is a 422 naming it (e.g. "T001-2 → T001-3 → T001-2")."""
    user: User = request.auth
    successor = access_task(user, task_id)
    predecessor = access_task(user, payload.predecessor)
    services_plan.dependency_add(actor=user, predecessor=predecessor, successor=successor)
    return 201, _dependencies(successor)


@router.delete(
    "/tasks/{task_id}/dependencies/{predecessor_id}",
    response={200: DependencyList, **WRITE_ERRORS},
    summary="Remove a dependency",
)
def remove_dependency(request: HttpRequest, task_id: int, predecessor_id: int):
    user: User = request.auth
    successor = access_task(user, task_id)
    predecessor = access_task(user, predecessor_id)
    if not services_plan.dependency_remove(actor=user, predecessor=predecessor, successor=successor):
        raise NotFound(_("No such dependency."))
    return _dependencies(successor)


# -- milestones ---------------------------------------------------------------------------------


@router.get("/tasks/{task_id}/milestones", response={200: MilestoneList, **READ_ERRORS}, summary="Milestones")
def list_milestones(request: HttpRequest, task_id: int):
    task = access_task(request.auth, task_id)
    return {"items": [_milestone(m) for m in Milestone.objects.filter(task=task).order_by("date", "id")]}


@router.post(
    "/tasks/{task_id}/milestones", response={201: MilestoneOut, **WRITE_ERRORS}, summary="Add a milestone"
)
def add_milestone(request: HttpRequest, task_id: int, payload: MilestoneIn):
    task = access_task(request.auth, task_id)
    m = services_plan.milestone_add(actor=request.auth, task=task, title=payload.title, date_=payload.date)
    return 201, _milestone(m)


@router.patch(
    "/milestones/{milestone_id}", response={200: MilestoneOut, **WRITE_ERRORS}, summary="Edit a milestone"
)
def patch_milestone(request: HttpRequest, milestone_id: int, payload: MilestonePatch):
    m = _access_milestone(request.auth, milestone_id)
    m = services_plan.milestone_update(
        actor=request.auth, milestone=m, title=payload.title, date_=payload.date, reached=payload.reached
    )
    return _milestone(m)


@router.delete(
    "/milestones/{milestone_id}", response={204: None, **WRITE_ERRORS}, summary="Remove a milestone"
)
def delete_milestone(request: HttpRequest, milestone_id: int):
    m = _access_milestone(request.auth, milestone_id)
    services_plan.milestone_remove(actor=request.auth, milestone=m)
    return 204, None


# -- criteria -----------------------------------------------------------------------------------


def _criteria_out(task) -> dict[str, Any]:
    from closeloop.tasks.models import AcceptanceCriterion

    return {
        "items": [
            {
                "id": c.pk,
                "text": c.text,
                "metric": c.metric,
                "comparator": c.comparator,
                "threshold": float(c.threshold) if c.threshold is not None else None,
                "unit": c.unit,
                "display": c.measure_display,
            }
            for c in AcceptanceCriterion.objects.filter(task=task)
        ]
    }


@router.get(
    "/tasks/{task_id}/criteria", response={200: CriteriaList, **READ_ERRORS}, summary="Acceptance criteria"
)
def list_criteria(request: HttpRequest, task_id: int):
    return _criteria_out(access_task(request.auth, task_id))


@router.put(
    "/tasks/{task_id}/criteria", response={200: CriteriaList, **WRITE_ERRORS}, summary="Replace the criteria"
)
def put_criteria(request: HttpRequest, task_id: int, payload: CriteriaIn):
    """All criteria at once (a top-level task keeps at least one)."""
    task = access_task(request.auth, task_id)
    task = services.task_update(
        actor=request.auth, task=task, expected_version=payload.version, criteria=_criteria(payload.criteria)
    )
    return _criteria_out(task)


# -- comments -----------------------------------------------------------------------------------


@router.get("/tasks/{task_id}/comments", response={200: CommentList, **READ_ERRORS}, summary="Comments")
def list_comments(request: HttpRequest, task_id: int):
    task = access_task(request.auth, task_id)
    return {"items": [_comment(c) for c in Comment.objects.filter(task=task).select_related("author")[:500]]}


@router.post("/tasks/{task_id}/comments", response={201: CommentOut, **WRITE_ERRORS}, summary="Comment")
def add_comment(request: HttpRequest, task_id: int, payload: CommentIn):
    """Anyone who sees the task. Mentioned people who may see it are notified."""
    task = access_task(request.auth, task_id)
    return 201, _comment(services_plan.comment_add(actor=request.auth, task=task, body=payload.body))


# -- recurrence ---------------------------------------------------------------------------------


@router.get(
    "/tasks/{task_id}/recurrence", response={200: RecurrenceOut, **READ_ERRORS}, summary="How a task recurs"
)
def get_recurrence(request: HttpRequest, task_id: int):
    task = access_task(request.auth, task_id)
    rule = RecurrenceRule.objects.filter(prototype=task).first()
    if rule is None:
        raise NotFound(_("The task does not recur."))
    return _rule(rule)


@router.put(
    "/tasks/{task_id}/recurrence", response={200: RecurrenceOut, **WRITE_ERRORS}, summary="Make a task recur"
)
def put_recurrence(request: HttpRequest, task_id: int, payload: RecurrenceIn):
    """Weekly on a weekday, monthly on the Nth working day, or monthly on a date moved to the
    next working day. Each instance (with subtasks and criteria) is created `lead_days` ahead."""
    task = access_task(request.auth, task_id)
    rule = services_plan.recurrence_set(actor=request.auth, task=task, **payload.model_dump())
    return _rule(rule)


@router.delete("/tasks/{task_id}/recurrence", response={204: None, **WRITE_ERRORS}, summary="Stop recurring")
def delete_recurrence(request: HttpRequest, task_id: int):
    task = access_task(request.auth, task_id)
    services_plan.recurrence_stop(actor=request.auth, task=task)
    return 204, None


# -- templates ----------------------------------------------------------------------------------


class TemplateQuery(Schema):
    department: str | None = Field(None, description="Department id or code.")


@router.get("/templates", response={200: TemplateList, **READ_ERRORS}, summary="Decomposition templates")
def list_templates(request: HttpRequest, filters: Query[TemplateQuery]):
    """Templates of the departments whose tasks the caller sees."""
    from closeloop.orgs.selectors import visible_department_ids

    user: User = request.auth
    qs = DecompositionTemplate.objects.order_by("department_id", "name")
    if not user.is_superuser:
        qs = qs.filter(department_id__in=visible_department_ids(user))
    if filters.department:
        errors: dict[str, list[str]] = {}
        dept = _department(filters.department, errors)
        raise_if_errors(errors)
        qs = qs.filter(department=dept)
    return {"items": [_template(t) for t in qs[:200]]}


@router.post("/templates", response={201: TemplateOut, **WRITE_ERRORS}, summary="Save a template")
def create_template(request: HttpRequest, payload: TemplateIn):
    user: User = request.auth
    errors: dict[str, list[str]] = {}
    dept = _department(payload.department, errors)
    raise_if_errors(errors)
    if payload.from_task is not None:
        task = access_task(user, payload.from_task)
        template = services_plan.template_save(actor=user, task=task, name=payload.name)
    else:
        template = services_plan.template_create(
            actor=user,
            department=dept,
            name=payload.name,
            items=[i.model_dump() for i in payload.items or []],
        )
    return 201, _template(template)


@router.post(
    "/tasks/{task_id}/apply-template",
    response={201: PlanOut, **WRITE_ERRORS},
    summary="Decompose from a template",
)
def apply_template(request: HttpRequest, task_id: int, payload: ApplyTemplateIn):
    """Create the template's steps under the task, laid out on working days."""
    user: User = request.auth
    task = access_task(user, task_id)
    template = DecompositionTemplate.objects.filter(
        pk=payload.template, department_id=task.department_id
    ).first()
    if template is None:
        raise NotFound(_("No such template in the task's department."))
    errors: dict[str, list[str]] = {}
    owners = {}
    for key, value in payload.owners.items():
        person = _person(value, errors, f"owners.{key}")
        if person is not None and key.isdigit():
            owners[int(key) - 1] = person
    raise_if_errors(errors)
    services_plan.template_apply(actor=user, template=template, task=task, start=payload.start, owners=owners)
    selectors.forget_visibility(user)
    return 201, _plan(user, access_task(user, task_id))


# -- ad-hoc and intake --------------------------------------------------------------------------


@router.post("/adhoc-tasks", response={201: TaskOut, **WRITE_ERRORS}, summary="Quick capture of ad-hoc work")
def create_adhoc(request: HttpRequest, payload: AdhocIn):
    """临时任务: respond-by from the department's policy (high: an exact time 24 hours out;
    medium 3, low 5 working days); the owner is notified."""
    user: User = request.auth
    errors: dict[str, list[str]] = {}
    dept = _department(payload.department, errors)
    owner = _person(payload.owner, errors, "owner") if payload.owner is not None else user
    raise_if_errors(errors)
    with transaction.atomic():
        customer = services.customer_get_or_create(name=payload.customer) if payload.customer else None
        task = services_plan.adhoc_capture(
            actor=user,
            department=dept,
            title=payload.title,
            category=payload.category,
            priority=_priority(payload.priority),
            owner=owner,
            customer=customer,
            notes=payload.notes,
            criterion=payload.criterion,
        )
    return 201, _detail(user, task.pk)


@router.post(
    "/intake-check", response={200: IntakeCheckOut, **READ_ERRORS}, summary="Is a task description vague?"
)
def intake_check(request: HttpRequest, payload: IntakeCheckIn):
    verdict = intake.check(
        payload.title, payload.goal, payload.expected_outcome, known_names=services.known_names()
    )
    return verdict.as_dict()
