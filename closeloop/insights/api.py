"""API of insights: the dashboard's counts and the weekly reviews."""

from datetime import date

from django.http import HttpRequest
from ninja import Field, Query, Router, Schema
from pydantic import ConfigDict

from closeloop.core.api_schemas import READ_ERRORS, VERSIONED_WRITE_ERRORS, InRangeDate
from closeloop.core.versioning import api_version
from closeloop.insights import selectors, services
from closeloop.insights.models import WeeklyReview
from closeloop.orgs.api import DepartmentRef, department_ref
from closeloop.tracking import cadence

router = Router(tags=["insights"])


class DashboardOut(Schema):
    at_risk: int
    overdue: int
    blocked: int
    decisions: int = Field(description="Delay warnings and acceptances awaiting the caller.")
    missing_updates: int = Field(description="Updates owed today and not posted.")


class ReviewParams(Schema):
    department: int
    week: InRangeDate | None = Field(None, description="Any day of the week; default this week.")


class TaskLine(Schema):
    id: int
    full_code: str
    title: str
    owner: str
    due_date: date
    original_due_date: date
    status: str


class ReasonCount(Schema):
    reason: str
    count: int


class TrendPoint(Schema):
    week: date
    on_time_rate: int | None
    on_time_rate_original: int | None


class WeeklyReviewOut(Schema):
    department: DepartmentRef
    week_start: date
    week_end: date
    review_day: date | None
    completed: list[TaskLine]
    overdue: list[TaskLine]
    blocked: list[TaskLine]
    due_next_week: list[TaskLine]
    slipped: int
    slipped_by_reason: list[ReasonCount]
    on_time_rate: int | None
    on_time_rate_original: int | None
    trend: list[TrendPoint]
    notes: str
    notes_version: int = Field(description="Send it back with PUT notes to guard against lost updates.")
    posted_at: str | None


class NotesIn(Schema):
    model_config = ConfigDict(extra="forbid")
    department: int
    week: InRangeDate
    notes: str
    version: int | None = Field(
        None,
        ge=0,
        description=(
            "The notes_version you read (or send If-Match); 409 version_conflict if someone "
            "saved the notes since, 428 version_required if neither is sent."
        ),
    )


def _line(t) -> dict:
    return {
        "id": t.pk,
        "full_code": f"{t.department.code}-{t.code}",
        "title": t.title,
        "owner": t.owner.display_name,
        "due_date": t.due_date,
        "original_due_date": t.original_due_date,
        "status": t.status,
    }


def _review(request, department_id: int, week: date | None) -> dict:
    dept = selectors.access_department(request.auth, department_id)
    w = selectors.weekly_review(request.auth, dept, week or dept.local_today())
    return {
        "department": department_ref(dept),
        "week_start": w.week_start,
        "week_end": w.week_end,
        "review_day": w.review_day,
        "completed": [_line(t) for t in w.completed],
        "overdue": [_line(t) for t in w.overdue],
        "blocked": [_line(t) for t in w.blocked],
        "due_next_week": [_line(t) for t in w.due_next_week],
        "slipped": len(w.slipped),
        "slipped_by_reason": [{"reason": r, "count": n} for r, n in w.slipped_by_reason],
        "on_time_rate": w.rate,
        "on_time_rate_original": w.rate_original,
        "trend": [{"week": d, "on_time_rate": a, "on_time_rate_original": o} for d, a, o in w.trend],
        "notes": w.review.notes if w.review else "",
        "notes_version": services.notes_version(w.review),
        "posted_at": w.review.posted_at.isoformat() if w.review and w.review.posted_at else None,
    }


@router.get("/dashboard", response={200: DashboardOut, **READ_ERRORS}, summary="Dashboard counts")
def dashboard_counts(request: HttpRequest):
    """仪表盘 counts for the caller: the departments they lead (else those they belong to)."""
    d = selectors.dashboard(request.auth)
    c = d.counts
    return {k: c.get(k, 0) for k in ("at_risk", "overdue", "blocked", "decisions", "missing_updates")}


@router.get("/weekly-reviews", response={200: WeeklyReviewOut, **READ_ERRORS}, summary="A weekly review")
def get_weekly_review(request: HttpRequest, params: Query[ReviewParams]):
    """周复盘 of a department (one the caller belongs to or leads) and week. For a past week,
    `overdue`, `blocked` and `due_next_week` are as they stood at the week's end (midnight
    after its Sunday in the department's time zone), each task with its status and due date
    of then; for this week, as they are now."""
    return _review(request, params.department, params.week)


@router.put(
    "/weekly-reviews/notes",
    response={200: WeeklyReviewOut, **VERSIONED_WRITE_ERRORS},
    summary="Save meeting notes",
)
def put_notes(request: HttpRequest, payload: NotesIn):
    """`version` (or If-Match) is the `notes_version` read, so notes saved since by someone
    else are not overwritten (409 `version_conflict`; without it, 428 `version_required`)."""
    dept = selectors.access_department(request.auth, payload.department)
    week_start = cadence.week_start(payload.week)
    now = services.notes_version(WeeklyReview.objects.filter(department=dept, week_start=week_start).first())
    services.weekly_review_notes_save(
        actor=request.auth,
        department=dept,
        week_start=payload.week,
        notes=payload.notes,
        expected_version=api_version(payload.version, request, now=now),
    )
    return _review(request, payload.department, payload.week)
