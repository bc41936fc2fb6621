"""API of a task's acceptance criteria."""

from typing import Any

from django.http import HttpRequest
from ninja import Router, Schema

from closeloop.core.api_schemas import READ_ERRORS, VERSIONED_WRITE_ERRORS
from closeloop.tasks import services
from closeloop.tasks.api.schemas import (
    CriterionIn,
    CriterionOut,
    StrictIn,
    _check_version,
    _criteria,
    criterion_ref,
)
from closeloop.tasks.selectors import access_task

router = Router(tags=["tasks"])
# Operation ids stay those of the module these operations were first written in.
OPENAPI_MODULE = "closeloop.tasks.api_plan"


class CriteriaList(Schema):
    items: list[CriterionOut]


class CriteriaIn(StrictIn):
    criteria: list[CriterionIn]
    version: int | None = None


# -- criteria -----------------------------------------------------------------------------------


def _criteria_out(task) -> dict[str, Any]:
    from closeloop.tasks.models import AcceptanceCriterion

    return {"items": [criterion_ref(c) for c in AcceptanceCriterion.objects.filter(task=task)]}


@router.get(
    "/tasks/{task_id}/criteria", response={200: CriteriaList, **READ_ERRORS}, summary="Acceptance criteria"
)
def list_criteria(request: HttpRequest, task_id: int):
    return _criteria_out(access_task(request.auth, task_id))


@router.put(
    "/tasks/{task_id}/criteria",
    response={200: CriteriaList, **VERSIONED_WRITE_ERRORS},
    summary="Replace the criteria",
)
def put_criteria(request: HttpRequest, task_id: int, payload: CriteriaIn):
    """All criteria at once (a top-level task keeps at least one). `version` (or If-Match)
    is required: 428 without it, 409 when the task moved."""
    task = access_task(request.auth, task_id)
    version = _check_version(task, payload.version, request)
    task = services.task_update(
        actor=request.auth, task=task, expected_version=version, criteria=_criteria(payload.criteria)
    )
    return _criteria_out(task)
