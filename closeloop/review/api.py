"""API of acceptance and the knowledge base. Thin: the same selectors and services as the
pages. `POST tasks/{id}/submissions` takes multipart form data (files under `files`, links as
repeated `links`); downloads are `GET deliverables/{id}/download` (always an attachment)."""

from datetime import date, datetime
from typing import Literal

from django.http import HttpRequest
from ninja import Field, File, Form, Query, Router, Schema
from ninja.files import UploadedFile

from closeloop.core.api_schemas import READ_ERRORS, VERSIONED_WRITE_ERRORS, WRITE_ERRORS, PageMeta, StrictIn
from closeloop.core.searchbox import SEARCH_MAX
from closeloop.core.versioning import api_version
from closeloop.orgs.api import UserRef, user_ref
from closeloop.orgs.models import User, display_name
from closeloop.review import selectors, services, views
from closeloop.review.models import Retrospective, Submission
from closeloop.tasks.api.rows import json_datetime, json_response
from closeloop.tasks.models import Customer, Project
from closeloop.tasks.selectors import access_task

router = Router(tags=["review"])


class DeliverableOut(Schema):
    id: int
    kind: str
    name: str
    size: int
    url: str = Field(description="The link, or the download address of a file.")


class CheckOut(Schema):
    id: int
    position: int
    text: str
    metric: str
    comparator: str
    threshold: str | None
    unit: str
    passed: bool | None
    measured: str | None
    comment: str


class SubmissionOut(Schema):
    id: int
    task_id: int
    attempt: int
    submitted_by: UserRef
    submitted_at: datetime
    key_results: str
    completed_on: date
    verdict: Literal["pending", "accepted", "rework"]
    reviewed_by: UserRef | None
    reviewed_at: datetime | None
    review_comment: str
    deliverables: list[DeliverableOut]
    checks: list[CheckOut]


class CheckResultIn(StrictIn):
    check: int = Field(description="The id of a check of this submission (one per criterion).")
    passed: bool | None = Field(None, description="For a criterion that is not measurable.")
    measured: str | None = Field(None, description='The measured value of a measurable one ("97", "97%").')
    comment: str = Field("", description="Required when the criterion fails.")


class ReviewIn(StrictIn):
    checks: list[CheckResultIn] = []
    verdict: Literal["accepted", "rework"] | None = Field(
        None, description="Only for a submission without criteria."
    )
    comment: str = ""


class RetrospectiveIn(StrictIn):
    what_worked: str = ""
    to_improve: str = ""
    tags: list[str] = []
    minutes_link: str = ""
    version: int | None = Field(
        None,
        ge=0,
        description=(
            "The version you read (0 when there was none yet), or send If-Match; "
            "409 version_conflict if someone saved since, 428 version_required if neither is sent."
        ),
    )


class TaskRef(Schema):
    id: int
    code: str
    full_code: str
    title: str
    task_type: str
    department_id: int
    customer: str | None
    project: str | None


class RetrospectiveOut(Schema):
    id: int
    task: TaskRef
    author: UserRef
    what_worked: str
    to_improve: str
    tags: list[str]
    minutes_link: str
    created_at: datetime
    updated_at: datetime
    edited_by: UserRef | None = Field(
        description="Who last rewrote it (null until someone did); `author` wrote it first."
    )
    edited_at: datetime | None
    version: int = Field(description="Send it back with PUT to guard against lost updates.")


class KnowledgePage(PageMeta):
    count: int = Field(description="How many lessons match, counted up to 200 (see `capped`).")
    capped: bool = Field(description="More than 200 match: narrow the search to count them.")
    items: list[RetrospectiveOut]


def _dec(v) -> str | None:
    return f"{v.normalize():f}" if v is not None else None


def _submission(s: Submission) -> dict:

    return {
        "id": s.pk,
        "task_id": s.task_id,
        "attempt": s.attempt,
        "submitted_by": user_ref(s.submitted_by),
        "submitted_at": s.submitted_at,
        "key_results": s.key_results,
        "completed_on": s.completed_on,
        "verdict": s.verdict,
        "reviewed_by": user_ref(s.reviewed_by) if s.reviewed_by_id else None,
        "reviewed_at": s.reviewed_at,
        "review_comment": s.review_comment,
        "deliverables": [
            {
                "id": d.pk,
                "kind": d.kind,
                "name": d.name,
                "size": d.size,
                "url": d.url or f"/api/v1/deliverables/{d.pk}/download",
            }
            for d in s.deliverables.all()
        ],
        "checks": [
            {
                "id": c.pk,
                "position": c.position,
                "text": c.text,
                "metric": c.metric,
                "comparator": c.comparator,
                "threshold": _dec(c.threshold),
                "unit": c.unit,
                "passed": c.passed,
                "measured": _dec(c.measured),
                "comment": c.comment,
            }
            for c in s.checks.all()
        ],
    }


def _retro(r: Retrospective) -> dict:
    t = r.task
    return {
        "id": r.pk,
        "task": {
            "id": t.pk,
            "code": t.code,
            "full_code": t.full_code,
            "title": t.title,
            "task_type": t.task_type,
            "department_id": t.department_id,
            "customer": t.customer.name if t.customer_id else None,
            "project": t.project.name if t.project_id else None,
        },
        "author": user_ref(r.author),
        "what_worked": r.what_worked,
        "to_improve": r.to_improve,
        "tags": r.tags,
        "minutes_link": r.minutes_link,
        "created_at": r.created_at,
        "updated_at": r.updated_at,
        "edited_by": user_ref(r.edited_by) if r.edited_by_id else None,
        "edited_at": r.edited_at,
        "version": r.version,
    }


def _lesson(r: dict) -> dict:
    """`_retro` of a `selectors.lessons` row (plain values, no model instances), in
    `RetrospectiveOut`'s field order and with its times as the API writes them, for
    `json_response` (no schema validation per item)."""
    return {
        "id": r["id"],
        "task": {
            "id": r["task_id"],
            "code": r["task__code"],
            "full_code": f"{r['task__department__code']}-{r['task__code']}",
            "title": r["task__title"],
            "task_type": r["task__task_type"],
            "department_id": r["task__department_id"],
            "customer": r["task__customer__name"],
            "project": r["task__project__name"],
        },
        "author": {
            "id": r["author_id"],
            "username": r["author__username"],
            # User.display_name on the row's columns.
            "name": r["author__name"]
            or f"{r['author__first_name']} {r['author__last_name']}".strip()
            or r["author__username"],
        },
        "what_worked": r["what_worked"],
        "to_improve": r["to_improve"],
        "tags": r["tags"],
        "minutes_link": r["minutes_link"],
        "created_at": json_datetime(r["created_at"]),
        "updated_at": json_datetime(r["updated_at"]),
        "edited_by": None
        if r["edited_by_id"] is None
        else {
            "id": r["edited_by_id"],
            "username": r["edited_by__username"],
            "name": display_name(
                r["edited_by__name"],
                r["edited_by__first_name"],
                r["edited_by__last_name"],
                r["edited_by__username"],
            ),
        },
        "edited_at": json_datetime(r["edited_at"]) if r["edited_at"] is not None else None,
        "version": r["version"],
    }


def _one(task_id: int, submission_id: int) -> dict:
    task = access_task_quiet(task_id)
    return _submission(next(s for s in selectors.rounds(task) if s.pk == submission_id))


def access_task_quiet(task_id: int):
    from closeloop.tasks.models import Task

    return Task.objects.get(pk=task_id)


@router.get(
    "/tasks/{task_id}/submissions",
    response={200: list[SubmissionOut], **READ_ERRORS},
    summary="A task's attempts at acceptance",
)
def list_submissions(request: HttpRequest, task_id: int):
    """Every attempt, oldest first, with deliverables and the per-criterion results."""
    task = access_task(request.auth, task_id)
    return [_submission(s) for s in selectors.rounds(task)]


@router.post(
    "/tasks/{task_id}/submissions",
    response={201: SubmissionOut, **WRITE_ERRORS},
    summary="Submit for acceptance (multipart)",
)
def create_submission(
    request: HttpRequest,
    task_id: int,
    key_results: str = Form(...),  # noqa: B008
    completed_on: date | None = Form(None),  # noqa: B008
    links: list[str] = Form([]),  # noqa: B008
    confirm: bool = Form(False),  # noqa: B008
    files: list[UploadedFile] = File(None),  # noqa: B008
    carry: list[int] = Form([]),  # noqa: B008
):
    """The owner hands in key results, the completion date (from the day the task began — its
    start date or the day it was created, whichever is earlier — to the department's today;
    default that today), links and files (size and types
    from the server's settings; the content must be the type its name says). A leaf task
    below 100 % or a submission without a deliverable answers 422 `confirm_required` until
    `confirm=true`. `carry` hands in again files of an earlier attempt (their deliverable
    ids, e.g. after 返工). A task without acceptance criteria answers 409 `criteria_missing`,
    one with open subtasks 409 `subtask_open`. The task becomes 待验收 and the reviewer is
    notified."""
    user: User = request.auth
    task = access_task(user, task_id)
    s = services.submission_create(
        actor=user,
        task=task,
        key_results=key_results,
        completed_on=completed_on,
        links=links,
        files=files or [],
        carry=carry,
        confirm=confirm,
    )
    return 201, _one(task.pk, s.pk)


@router.post(
    "/submissions/{submission_id}/review",
    response={200: SubmissionOut, **WRITE_ERRORS},
    summary="Review an attempt criterion by criterion",
)
def review_submission(request: HttpRequest, submission_id: int, payload: ReviewIn):
    """The reviewer (head, deputy or named reviewer, never the owner) gives each criterion a
    result: the measured value of a measurable one (its comparator decides), pass or fail
    otherwise; a failed one needs a comment. All pass → done; any fail → rework."""
    user: User = request.auth
    sub = selectors.access_submission(user, submission_id)
    services.submission_review(
        actor=user,
        submission=sub,
        checks=[services.CheckIn(**c.model_dump()) for c in payload.checks],
        verdict=payload.verdict,
        comment=payload.comment,
    )
    return _one(sub.task_id, sub.pk)


@router.get("/deliverables/{deliverable_id}/download", url_name="review_download", summary="Download a file")
def download(request: HttpRequest, deliverable_id: int):
    """The file, as an attachment (`Content-Disposition: attachment`, `nosniff`); 404 for
    anyone who may not see its task."""
    request.user = request.auth
    return views.download.__wrapped__(request, deliverable_id)


@router.get(
    "/tasks/{task_id}/retrospective",
    response={200: RetrospectiveOut, **READ_ERRORS},
    summary="A task's retrospective",
)
def get_retrospective(request: HttpRequest, task_id: int):
    from closeloop.core.errors import NotFound

    retro = selectors.retrospective_of(request.auth, task_id)
    if retro is None:
        raise NotFound("No retrospective yet.")
    return _retro(
        Retrospective.objects.select_related(
            "task__department", "task__customer", "task__project", "author", "edited_by"
        ).get(pk=retro.pk)
    )


@router.put(
    "/tasks/{task_id}/retrospective",
    response={200: RetrospectiveOut, **VERSIONED_WRITE_ERRORS},
    summary="Write the retrospective",
)
def put_retrospective(request: HttpRequest, task_id: int, payload: RetrospectiveIn):
    """Owner, initiator, head, deputy or reviewer of a done task; the first version is shared
    with the team. `version` (or If-Match) is the version read — 0 before the first save — so
    a rewrite saved since by someone else is not overwritten (409 `version_conflict`; without
    it, 428 `version_required`)."""
    user: User = request.auth
    task = access_task(user, task_id)
    data = payload.model_dump()
    now = services.retro_version(selectors.retrospective_of(user, task_id))
    data["expected_version"] = api_version(data.pop("version"), request, now=now)
    r = services.retrospective_write(actor=user, task=task, **data)
    return _retro(
        Retrospective.objects.select_related(
            "task__department", "task__customer", "task__project", "author", "edited_by"
        ).get(pk=r.pk)
    )


class KnowledgeQuery(Schema):
    q: str = Field(
        "",
        max_length=SEARCH_MAX,
        description=f"At most {SEARCH_MAX} characters: a longer one answers 422 naming `q`.",
    )
    tag: str = Field("", max_length=40)
    type: Literal["", "project", "routine", "collaborative"] = ""
    customer: int | None = Field(None, ge=1, le=2**31 - 1)
    project: int | None = Field(None, ge=1, le=2**31 - 1)
    department: int | None = Field(None, ge=1, le=2**31 - 1)
    limit: int = Field(50, ge=1, le=200)
    offset: int = Field(0, ge=0, le=10_000_000)


@router.get("/knowledge", response={200: KnowledgePage, **READ_ERRORS}, summary="Search the knowledge base")
def knowledge(request: HttpRequest, filters: Query[KnowledgeQuery]):
    """Every retrospective the caller may see, newest first, searched like tasks (words and
    CJK bigrams; 报表 matches) and filtered by tag, type, customer, project and department.
    `count` stops at 200 (`capped` then true)."""
    knowledge_filters = selectors.KnowledgeFilters(
        q=filters.q.replace("\x00", ""),
        tag=filters.tag.replace("\x00", ""),
        task_type=filters.type,
        customer=filters.customer,
        project=filters.project,
        department=filters.department,
    )
    rows, count, capped = selectors.knowledge_page(
        request.auth, knowledge_filters, offset=filters.offset, limit=filters.limit
    )
    # Written as JSON directly (as the task list is, tasks/api/rows.py): Ninja's validation of
    # 20 items against `KnowledgePage` was a tenth of the request; tests compare the two.
    return json_response(
        {
            "count": count,
            "limit": filters.limit,
            "offset": filters.offset,
            "capped": capped,
            "items": [_lesson(r) for r in rows],
        }
    )


class SimilarQuery(Schema):
    title: str = Field(..., max_length=200)
    customer: str = Field("", max_length=200)
    project: str = Field("", max_length=200)
    task_type: Literal["", "project", "routine", "collaborative"] = ""
    department: int | None = Field(None, ge=1, le=2**31 - 1)


@router.get(
    "/knowledge/similar",
    response={200: list[RetrospectiveOut], **READ_ERRORS},
    summary="Lessons for a task about to be created",
)
def similar(request: HttpRequest, filters: Query[SimilarQuery]):
    """The lessons of the most similar past tasks the caller may see (same customer, project
    or type; similar title), best first, at most three: what the new-task form shows."""
    customer = Customer.objects.filter(name=filters.customer.strip()).first() if filters.customer else None
    project = Project.objects.filter(name=filters.project.strip()).first() if filters.project else None
    lessons = selectors.similar_lessons(
        request.auth,
        title=filters.title.replace("\x00", ""),
        customer_id=customer.pk if customer else None,
        project_id=project.pk if project else None,
        task_type=filters.task_type,
        department_id=filters.department,
    )
    return [_retro(r) for r in lessons]
