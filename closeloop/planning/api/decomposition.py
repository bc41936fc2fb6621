"""API of a task's decomposition: subtasks, dependencies and milestones. Same rules as the web:
a task the caller may not see — including the other end of a dependency — is a 404.
"""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS
from closeloop.core.errors import NotFound, raise_if_errors
from closeloop.orgs.api import UserRef
from closeloop.orgs.models import User
from closeloop.planning.selectors import plan as plan_selectors
from closeloop.planning.services import decomposition as decomposition_services
from closeloop.tasks.api.schemas import (
    CriterionIn,
    PersonIn,
    PriorityIn,
    StrictIn,
    TaskOut,
    _criteria,
    _detail,
    _people,
    _person,
    _priority,
    subtask_ref,
)
from closeloop.tasks.models import Milestone, TaskDependency
from closeloop.tasks.selectors import access_task

router = Router(tags=["tasks"])
# Operation ids stay those of the module these operations were first written in.
OPENAPI_MODULE = "closeloop.tasks.api_plan"


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
    subtasks: list[SubtaskItem] = Field(description="The subtasks the caller needs to know, in tree order.")
    hidden_subtasks: int = Field(0, description="How many other subtasks there are, not shown to the caller.")
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


# The milestone rule (`decomposition.milestone_date_errors`): refused with 422 naming `date`.
_MILESTONE_DATE = "On or before the task's due date, within 2000-01-01 … 2100-12-31 (the years 日历 shows)."


class MilestoneIn(StrictIn):
    title: str
    date: dt.date = Field(description=_MILESTONE_DATE)


class MilestonePatch(StrictIn):
    title: str | None = None
    date: dt.date | None = Field(
        None, description=_MILESTONE_DATE + " The date it has already is accepted as it is."
    )
    reached: bool | None = Field(None, description="true: mark it reached now; false: not reached.")


class MilestoneOut(Schema):
    id: int
    task_id: int
    title: str
    date: dt.date
    reached_at: dt.datetime | None


class MilestoneList(Schema):
    items: list[MilestoneOut]


# -- helpers ------------------------------------------------------------------------------------


def _plan(user: User, task) -> dict[str, Any]:
    plan = plan_selectors.task_plan(user, task)
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
        "hidden_subtasks": plan.hidden,
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
    sub = decomposition_services.subtask_add(
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
    decomposition_services.dependency_add(actor=user, predecessor=predecessor, successor=successor)
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
    if not decomposition_services.dependency_remove(actor=user, predecessor=predecessor, successor=successor):
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
    m = decomposition_services.milestone_add(
        actor=request.auth, task=task, title=payload.title, date_=payload.date
    )
    return 201, _milestone(m)


@router.patch(
    "/milestones/{milestone_id}", response={200: MilestoneOut, **WRITE_ERRORS}, summary="Edit a milestone"
)
def patch_milestone(request: HttpRequest, milestone_id: int, payload: MilestonePatch):
    m = _access_milestone(request.auth, milestone_id)
    m = decomposition_services.milestone_update(
        actor=request.auth, milestone=m, title=payload.title, date_=payload.date, reached=payload.reached
    )
    return _milestone(m)


@router.delete(
    "/milestones/{milestone_id}", response={204: None, **WRITE_ERRORS}, summary="Remove a milestone"
)
def delete_milestone(request: HttpRequest, milestone_id: int):
    m = _access_milestone(request.auth, milestone_id)
    decomposition_services.milestone_remove(actor=request.auth, milestone=m)
    return 204, None
