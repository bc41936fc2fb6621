"""API of recurring routine work: read, set and stop a task's recurrence rule."""

import datetime as dt
from typing import Any, Literal

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Router, Schema

from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS
from closeloop.core.errors import NotFound
from closeloop.planning.services import recurrence as recurrence_services
from closeloop.tasks.api.schemas import (
    StrictIn,
)
from closeloop.tasks.models import RecurrenceRule
from closeloop.tasks.selectors import access_task, local_today

router = Router(tags=["tasks"])
# Operation ids stay those of the module these operations were first written in.
OPENAPI_MODULE = "closeloop.tasks.api_plan"


class RecurrenceIn(StrictIn):
    frequency: Literal["weekly", "monthly_workday", "monthly_date", "monthly_last_workday"] = Field(
        description="monthly_last_workday: 每月最后一个工作日."
    )
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
    summary: str = Field(description="The rule in words, e.g. 每月第 3 个工作日.")
    next_due: list[dt.date] = Field(description="The next due dates (up to 3).")


def _rule(rule: RecurrenceRule) -> dict[str, Any]:
    today = local_today()
    upcoming = recurrence_services.occurrences(
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
        "summary": rule.summary,
        "next_due": upcoming if rule.active else [],
    }


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
    rule = recurrence_services.recurrence_set(actor=request.auth, task=task, **payload.model_dump())
    return _rule(rule)


@router.delete("/tasks/{task_id}/recurrence", response={204: None, **WRITE_ERRORS}, summary="Stop recurring")
def delete_recurrence(request: HttpRequest, task_id: int):
    task = access_task(request.auth, task_id)
    recurrence_services.recurrence_stop(actor=request.auth, task=task)
    return 204, None
