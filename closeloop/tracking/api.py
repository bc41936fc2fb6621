"""API of progress tracking: a task's updates, its delay warnings, deciding a warning. Thin:
the same selectors and services as the web pages."""

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, Router, Schema

from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS, InRangeDate, StrictIn
from closeloop.orgs.api import UserRef, user_ref
from closeloop.orgs.models import User
from closeloop.tracking import selectors, services
from closeloop.tracking.models import DelayWarning, ProgressUpdate

router = Router(tags=["tracking"])


class UpdateIn(StrictIn):
    percent: int | None = Field(None, description="0–100; leave out on a task with subtasks (it rolls up).")
    state: Literal["in_progress", "blocked"] | None = Field(
        None, description="Default: what today's update says, else in_progress."
    )
    blocker: str | None = Field(
        None,
        description="Whom or what the task waits on; required when blocked. Left out: today's update keeps its blocker.",
    )
    note: str | None = Field(None, description="Left out: today's update keeps its note.")
    day: InRangeDate | None = Field(
        None, description="Default today; an earlier day without an update is filled in late."
    )


class UpdateOut(Schema):
    id: int
    task_id: int
    day: date
    percent: int | None
    state: str
    blocker: str
    note: str
    late: bool
    author: UserRef
    created_at: datetime
    updated_at: datetime
    warnings: list[str] = Field(
        default_factory=list, description="Saved, but worth a look: e.g. the task is past its due date."
    )


class WarningIn(StrictIn):
    reason: Literal["requirements", "resources", "dependency", "priority", "other"]
    explanation: str
    new_due_date: InRangeDate


class DecisionIn(StrictIn):
    approve: bool
    comment: str = ""


class WarningOut(Schema):
    id: int
    task_id: int
    reason: str
    explanation: str
    old_due_date: date
    new_due_date: date
    on_time: bool
    status: str = Field(
        description="pending, approved, rejected, or closed: the task closed (done or cancelled) before a decision."
    )
    raised_by: UserRef
    raised_at: datetime
    decide_by: datetime
    decided_by: UserRef | None
    decided_at: datetime | None
    decision_comment: str
    escalated_at: datetime | None
    warnings: list[str] = Field(
        default_factory=list, description="Raised, but worth a look: e.g. the new date is a day off."
    )


def _update(u: ProgressUpdate) -> dict:
    return {
        "id": u.pk,
        "task_id": u.task_id,
        "day": u.day,
        "percent": u.percent,
        "state": u.state,
        "blocker": u.blocker,
        "note": u.note,
        "late": u.late,
        "author": user_ref(u.author),
        "created_at": u.created_at,
        "updated_at": u.updated_at,
    }


def _warning(w: DelayWarning) -> dict:
    return {
        "id": w.pk,
        "task_id": w.task_id,
        "reason": w.reason,
        "explanation": w.explanation,
        "old_due_date": w.old_due_date,
        "new_due_date": w.new_due_date,
        "on_time": w.on_time,
        "status": w.status,
        "raised_by": user_ref(w.raised_by),
        "raised_at": w.raised_at,
        "decide_by": w.decide_by,
        "decided_by": user_ref(w.decided_by),
        "decided_at": w.decided_at,
        "decision_comment": w.decision_comment,
        "escalated_at": w.escalated_at,
    }


@router.get(
    "/tasks/{task_id}/updates", response={200: list[UpdateOut], **READ_ERRORS}, summary="A task's updates"
)
def list_updates(request: HttpRequest, task_id: int):
    """The task's daily updates, newest first (the last 60)."""
    _task, rows = selectors.task_updates(request.auth, task_id)
    return [_update(u) for u in rows]


@router.post("/tasks/{task_id}/updates", response={201: UpdateOut, **WRITE_ERRORS}, summary="Post an update")
def post_update(request: HttpRequest, task_id: int, payload: UpdateIn):
    """The owner's update for today (posting again the same day replaces it) or for an earlier
    day without one (filled in late). Blocked needs a blocker; the task follows the update."""
    user: User = request.auth
    task = selectors.access_task(user, task_id)
    u = services.update_post(actor=user, task=task, **payload.model_dump())
    u = ProgressUpdate.objects.select_related("author", "task__department").get(pk=u.pk)
    return 201, {**_update(u), "warnings": services.update_warnings(u.task)}


@router.get(
    "/tasks/{task_id}/delay-warnings",
    response={200: list[WarningOut], **READ_ERRORS},
    summary="A task's delay warnings",
)
def list_warnings(request: HttpRequest, task_id: int):
    _task, rows = selectors.task_warnings(request.auth, task_id)
    return [_warning(w) for w in rows]


@router.post(
    "/tasks/{task_id}/delay-warnings",
    response={201: WarningOut, **WRITE_ERRORS},
    summary="Raise a delay warning",
)
def raise_warning(request: HttpRequest, task_id: int, payload: WarningIn):
    """The owner says the task will slip: reason, explanation, new due date. `on_time` tells
    whether it came at least one working day before the due date."""
    user: User = request.auth
    task = selectors.access_task(user, task_id)
    w = services.delay_warning_raise(actor=user, task=task, **payload.model_dump())
    return 201, {
        **_warning(selectors.access_warning(user, w.pk)),
        "warnings": services.day_off_warnings(w.new_due_date),
    }


@router.post(
    "/delay-warnings/{warning_id}/decision",
    response={200: WarningOut, **WRITE_ERRORS},
    summary="Decide a delay warning",
)
def decide_warning(request: HttpRequest, warning_id: int, payload: DecisionIn):
    """Head or deputy: approve (the due date moves; the original stays) or reject with a
    comment. A second decision answers 409."""
    user: User = request.auth
    warning = selectors.access_warning(user, warning_id)
    services.delay_warning_decide(
        actor=user, warning=warning, approve=payload.approve, comment=payload.comment
    )
    return _warning(selectors.access_warning(user, warning_id))
