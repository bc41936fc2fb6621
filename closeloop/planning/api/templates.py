"""API of decomposition templates: list, save, apply."""

import datetime as dt
from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS
from closeloop.core.errors import NotFound, raise_if_errors
from closeloop.core.ids import is_id
from closeloop.orgs.models import User
from closeloop.planning.api.decomposition import PlanOut, _plan
from closeloop.planning.services import templates as template_services
from closeloop.tasks import selectors
from closeloop.tasks.api.schemas import (
    PersonIn,
    StrictIn,
    _department,
    _person,
)
from closeloop.tasks.models import DecompositionTemplate
from closeloop.tasks.selectors import access_task

router = Router(tags=["tasks"])
# Operation ids stay those of the module these operations were first written in.
OPENAPI_MODULE = "closeloop.tasks.api_plan"


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


def _template(t: DecompositionTemplate) -> dict[str, Any]:
    return {
        "id": t.pk,
        "department_id": t.department_id,
        "name": t.name,
        "items": t.items,
        "milestones": t.milestones,
    }


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
        template = template_services.template_save(actor=user, task=task, name=payload.name)
    else:
        template = template_services.template_create(
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
        if person is not None and is_id(key):
            owners[int(key) - 1] = person
    raise_if_errors(errors)
    template_services.template_apply(
        actor=user, template=template, task=task, start=payload.start, owners=owners
    )
    selectors.forget_visibility(user)
    return 201, _plan(user, access_task(user, task_id))
