"""API of intake: quick capture of ad-hoc work and the vagueness check."""

from typing import Literal

from django.db import transaction
from django.http import HttpRequest
from ninja import Router, Schema

from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS
from closeloop.core.errors import raise_if_errors
from closeloop.orgs.models import User
from closeloop.tasks import adhoc as adhoc_services
from closeloop.tasks import intake, services
from closeloop.tasks.api.schemas import (
    PersonIn,
    PriorityIn,
    StrictIn,
    TaskOut,
    _department,
    _detail,
    _person,
    _priority,
)

router = Router(tags=["tasks"])
# Operation ids stay those of the module these operations were first written in.
OPENAPI_MODULE = "closeloop.tasks.api_plan"


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
        task = adhoc_services.adhoc_capture(
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
