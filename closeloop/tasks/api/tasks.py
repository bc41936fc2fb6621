"""API for tasks: list, create, read, edit, move along the status machine, collaborators and the
activity log. Thin: parse, resolve references, call the same service or selector as the web,
shape the answer."""

from typing import Any

from django.db import transaction
from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router

from closeloop.core.api_schemas import READ_ERRORS, VERSIONED_WRITE_ERRORS, WRITE_ERRORS
from closeloop.core.errors import Conflict, NotFound, raise_if_errors
from closeloop.orgs.api import user_ref
from closeloop.orgs.models import User
from closeloop.tasks import extensions, services
from closeloop.tasks.api import rows
from closeloop.tasks.api.detail import task_detail_response
from closeloop.tasks.api.schemas import (
    MAX_LIMIT,
    CollaboratorsOut,
    EventPage,
    PageParams,
    StrictIn,
    TaskCreatedOut,
    TaskCreateIn,
    TaskListParams,
    TaskOut,
    TaskPage,
    TaskPatchIn,
    TransitionIn,
    TransitionOut,
    _check_version,
    _criteria,
    _department,
    _detail,
    _people,
    _person,
    _priority,
    _task,
)
from closeloop.tasks.models import Task, TaskEvent
from closeloop.tasks.search import loosens
from closeloop.tasks.selectors import (
    TaskFilters,
    TaskListPaginator,
    access_task,
    task_list,
)
from closeloop.tasks.states import TRANSITIONS, Status

router = Router(tags=["tasks"])
OPENAPI_MODULE = "closeloop.tasks.api"


@router.get("/tasks", response={200: TaskPage, **READ_ERRORS}, summary="List tasks")
def list_tasks(request: HttpRequest, filters: Query[TaskListParams]):
    """Tasks the caller may see, filtered and sorted as the web list, paginated with
    `limit`/`offset`. `count` is the total across pages.

    A Chinese phrase of four or more characters in `q` that no task holds as written falls
    back to its words anywhere (合同模板预审 → 合同 模板 预审), as the web task list does;
    `loose` is then true, on every page of the answer (false when the words find nothing
    either)."""
    # The rule is `TaskListPaginator(phrase_fallback=True)`'s; the subtasks of a parent and a
    # bulk read, which it does not page, fall back the same way below. A phrase that matches
    # costs no extra query; a fallback, one (tests/test_api.py pins both).
    user: User = request.auth
    errors: dict[str, list[str]] = {}
    department = _department(filters.department, errors) if filters.department else None
    owner = _person(filters.owner, errors, "owner", me=user) if filters.owner else None
    if filters.parent is not None:
        # As an unknown department: a 422 naming the field, not an empty list that reads as
        # "no subtasks"; a parent the caller may not see is told as one that does not exist.
        _task(user, filters.parent, errors, "parent")
    raise_if_errors(errors)
    list_filters = TaskFilters(
        department=department.pk if department else None,
        task_type=filters.type,
        priority=_priority(filters.priority),
        owner=owner.pk if owner else None,
        status=filters.status,
        overdue=filters.overdue,
        owed=filters.owed,
        q=filters.q,
        top_level_only=filters.top_level,
        sort=filters.ordering,
    )
    start, stop = filters.offset, filters.offset + filters.limit
    if filters.limit <= MAX_LIMIT and filters.parent is None:
        # A page as the web list finds it (`TaskListPaginator`): counted per department and,
        # in the default order, its ids read from the departments it falls in. Over the whole
        # visibility clause OR'd, PostgreSQL read every row of a head's ~20,000 for the ids
        # (~40 ms, a bitmap and a sort) and again for the count (~25 ms).
        pages = TaskListPaginator(user, list_filters, filters.limit, phrase_fallback=True)
        count = pages.count  # counts, and falls back: `loose` is known after it
        ids = pages.ids(start, min(stop, count)) if start < count else []
        by_id = {row[0]: row for row in Task.objects.filter(pk__in=ids).values_list(*rows.columns())}
        found = [by_id[pk] for pk in ids if pk in by_id]
        loose = pages.loose and count > 0
    else:
        found, count = _list_rows(user, list_filters, filters)
        loose = False
        if not count and loosens(list_filters.q):
            # The phrase matched nothing (on any page): its words anywhere, as the paginator.
            found, count = _list_rows(user, list_filters.loosened(), filters)
            loose = count > 0
    return rows.json_response(
        {
            "count": count,
            "limit": filters.limit,
            "offset": filters.offset,
            "loose": loose,
            "items": rows.list_items(found),
        }
    )


def _list_rows(user: User, list_filters: TaskFilters, params: TaskListParams) -> tuple[list[tuple], int]:
    """The page `params` asks of `task_list(user, list_filters)` (restricted to the direct
    subtasks of `params.parent` if given), as `rows.columns()` tuples, and the total count:
    for a `parent` or a bulk read (`limit` over MAX_LIMIT), which `TaskListPaginator` does not
    serve. Two queries (ids, rows) or one (a bulk read); one more for the count unless the page
    is the last (its length tells the total)."""
    qs = task_list(user, list_filters)
    if params.parent is not None:
        qs = qs.filter(parent_id=params.parent)
    start, stop = params.offset, params.offset + params.limit
    if params.limit <= MAX_LIMIT:
        # A page is found on ids first, as the web list does: the database sorts ids, not
        # wide rows; then the page's rows by key.
        ids = list(qs.values_list("pk", flat=True)[start:stop])
        by_id = {row[0]: row for row in Task.objects.filter(pk__in=ids).values_list(*rows.columns())}
        found = [by_id[pk] for pk in ids if pk in by_id]
    else:
        # A bulk read (up to 5,000): most of what is sorted is in the answer anyway. "open"
        # names the open statuses (`_filtered`): the (department, status, due) index.
        found = rows.fetch(qs.values_list(*rows.columns())[start:stop])
    if len(found) < params.limit and (found or params.offset == 0):
        return found, params.offset + len(found)  # the last page: the total is known
    return found, qs.count()


@router.post("/tasks", response={201: TaskCreatedOut, **WRITE_ERRORS}, summary="Create a task")
def create_task(request: HttpRequest, payload: TaskCreateIn):
    """Take a task in (members of the department; for a subtask, whoever may edit the parent).
    Answers 201 with the task, and the lessons of similar past tasks (`lessons`)."""
    user: User = request.auth
    errors: dict[str, list[str]] = {}
    parent = _task(user, payload.parent, errors, "parent") if payload.parent is not None else None
    department = None
    if payload.department is not None:
        department = _department(payload.department, errors)
    elif payload.parent is None:
        errors.setdefault("department", []).append(_("Name the department (id or code)."))
    owner = _person(payload.owner, errors, "owner") if payload.owner is not None else user
    reviewer = _person(payload.reviewer, errors, "reviewer") if payload.reviewer is not None else None
    collaborators = _people(payload.collaborators, errors, "collaborators")
    raise_if_errors(errors)
    if parent is not None:
        department = parent.department
    assert department is not None and owner is not None
    with transaction.atomic():
        # New project or customer names roll back with the task if the service refuses it.
        project = services.project_get_or_create(name=payload.project) if payload.project else None
        customer = services.customer_get_or_create(name=payload.customer) if payload.customer else None
        task = services.task_create(
            actor=user,
            department=department,
            parent=parent,
            title=payload.title,
            owner=owner,
            due_date=payload.due_date,
            start_date=payload.start_date,
            goal=payload.goal,
            expected_outcome=payload.expected_outcome,
            value=payload.value,
            task_type=payload.task_type,
            priority=_priority(payload.priority),
            reviewer=reviewer,
            collaborators=collaborators,
            project=project,
            customer=customer,
            notes=payload.notes,
            criteria=_criteria(payload.criteria),
            source=payload.source,
            adhoc_category=payload.adhoc_category,
            respond_by=payload.respond_by,
            require_intake=True,
        )
    return 201, {**_detail(user, task.pk), "lessons": extensions.create_lessons(user, task)}


@router.get("/tasks/{task_id}", response={200: TaskOut, **READ_ERRORS}, summary="Get a task")
def get_task(request: HttpRequest, task_id: int):
    """The task with its criteria, collaborators, subtasks, the chain above it and the
    transitions the caller may take now."""
    return task_detail_response(request.auth, task_id)


@router.patch("/tasks/{task_id}", response={200: TaskOut, **VERSIONED_WRITE_ERRORS}, summary="Edit a task")
def patch_task(request: HttpRequest, task_id: int, payload: TaskPatchIn):
    """Change some fields (owner, initiator, head or deputy). `owner` reassigns (initiator or
    head only); `due_date` is moved by the initiator, head or deputy with a `reason` (the owner
    raises a delay warning; `original_due_date` never changes); `criteria` replaces them all;
    `version` guards against overwriting a change made since it was read, elsewhere or in
    another window (409 `version_conflict`; without it or If-Match, 428 `version_required`).
    All or nothing."""
    user: User = request.auth
    data = payload.model_dump(exclude_unset=True)
    version = data.pop("version", None)
    new_owner = data.pop("owner", None)
    reason = data.pop("reason", "")
    criteria = data.pop("criteria", None)
    errors: dict[str, list[str]] = {}
    task = access_task(user, task_id)
    version = _check_version(task, version, request)
    changes: dict[str, Any] = {}
    for field in ("title", "goal", "expected_outcome", "value", "notes"):
        if field in data:
            changes[field] = data[field] if data[field] is not None else ""
    for field in ("task_type", "start_date", "due_date", "progress"):
        if field in data:
            changes[field] = data[field]
    if "priority" in data:
        changes["priority"] = _priority(data["priority"])
    if "reviewer" in data:
        changes["reviewer"] = (
            _person(data["reviewer"], errors, "reviewer") if data["reviewer"] is not None else None
        )
    owner = None
    if "owner" in payload.model_fields_set:
        if new_owner is None:
            errors.setdefault("owner", []).append(_("A task needs exactly one owner."))
        else:
            owner = _person(new_owner, errors, "owner")
    raise_if_errors(errors)
    with transaction.atomic():
        for field, make in (
            ("project", services.project_get_or_create),
            ("customer", services.customer_get_or_create),
        ):
            if field in data:
                name = (data[field] or "").strip()
                changes[field] = make(name=name) if name else None
        if changes or criteria is not None or owner is None:
            task = services.task_update(
                actor=user,
                task=task,
                expected_version=version,
                criteria=_criteria(payload.criteria) if criteria is not None else None,
                reason=reason,
                **changes,
            )
        if owner is not None:
            task = services.task_reassign(actor=user, task=task, owner=owner, reason=reason)
    return _detail(user, task.pk)


@router.post(
    "/tasks/{task_id}/transition",
    response={200: TransitionOut, **VERSIONED_WRITE_ERRORS},
    summary="Move a task to another status",
)
def transition_task(request: HttpRequest, task_id: int, payload: TransitionIn):
    """Start, block, unblock or cancel. A move the status machine does not have answers 409
    `transition_not_allowed`, naming the allowed ones; a move the caller may not take answers
    403. Submitting, accepting and sending back go through `tasks/{id}/submissions` and
    `submissions/{id}/review` (deliverables, criterion by criterion): here they answer 409.

    Cancelling cancels the task's open subtasks at every level with it (whoever may cancel the
    task; a done subtask is left as it is): `cancelled_subtasks` and `left_subtasks` count
    them, `message` says so, and `subtasks` shows each one's status now. `expected_subtasks`
    guards against cancelling more than the caller expects (409 `subtasks_changed`)."""
    user: User = request.auth
    task = access_task(user, task_id)
    _check_version(task, payload.version, request)
    if (task.status, payload.to) in TRANSITIONS and extensions.routed_transition_url(task, payload.to):
        raise Conflict(
            _("Submit through tasks/{id}/submissions and review through submissions/{id}/review."),
            code="transition_not_allowed",
        )
    task = services.task_transition(
        actor=user,
        task=task,
        to=Status(payload.to),
        note=payload.note,
        expected_subtasks=payload.expected_subtasks,
    )
    return {
        **_detail(user, task.pk),
        "cancelled_subtasks": len(task.cancelled_subtasks),
        "left_subtasks": len(task.left_subtasks),
        "message": services.transition_summary(task),
    }


class OverrideIn(StrictIn):
    note: str = Field(description="Why the task may start before its predecessors are done.")


@router.post(
    "/tasks/{task_id}/override-dependencies",
    response={200: TaskOut, **WRITE_ERRORS},
    summary="Let a task start before its predecessors are done",
)
def override_dependencies(request: HttpRequest, task_id: int, payload: OverrideIn):
    """The head or deputy lets the owner start the task although a finish-to-start predecessor
    is open (otherwise starting answers 409 `predecessor_open`). Recorded in the event log."""
    user: User = request.auth
    task = access_task(user, task_id)
    services.dependency_override(actor=user, task=task, note=payload.note)
    return _detail(user, task.pk)


def _collaborators(task: Task) -> dict[str, Any]:
    people = User.objects.filter(collaborator_links__task=task).order_by("collaborator_links__added_at")
    return {"collaborators": [user_ref(u) for u in people]}


def _collaborator(user_id: int) -> User:
    person = User.objects.filter(pk=user_id).first()
    if person is None:
        raise NotFound(_("Person not found."))
    return person


@router.post(
    "/tasks/{task_id}/collaborators/{user_id}",
    response={200: CollaboratorsOut, 201: CollaboratorsOut, **WRITE_ERRORS},
    summary="Add a collaborator",
)
def add_collaborator(request: HttpRequest, task_id: int, user_id: int):
    """201 when added, 200 when the person already helps on the task."""
    task = access_task(request.auth, task_id)
    added = services.task_collaborator_add(actor=request.auth, task=task, user=_collaborator(user_id))
    return (201 if added else 200), _collaborators(task)


@router.delete(
    "/tasks/{task_id}/collaborators/{user_id}",
    response={200: CollaboratorsOut, **WRITE_ERRORS},
    summary="Remove a collaborator",
)
def remove_collaborator(request: HttpRequest, task_id: int, user_id: int):
    task = access_task(request.auth, task_id)
    services.task_collaborator_remove(actor=request.auth, task=task, user=_collaborator(user_id))
    return _collaborators(task)


@router.get(
    "/tasks/{task_id}/events", response={200: EventPage, **READ_ERRORS}, summary="A task's activity log"
)
def task_events(request: HttpRequest, task_id: int, page: Query[PageParams]):
    """Who did what and when, newest first: the audit trail of the task."""
    task = access_task(request.auth, task_id)
    qs = TaskEvent.objects.filter(task=task).select_related("actor").order_by("-created_at", "-id")
    count = qs.count()
    items = [
        {
            "id": e.pk,
            "verb": e.verb,
            "actor": user_ref(e.actor),
            "before": e.before,
            "after": e.after,
            "note": e.note,
            "created_at": e.created_at,
        }
        for e in qs[page.offset : page.offset + page.limit]
    ]
    return {"count": count, "limit": page.limit, "offset": page.offset, "items": items}


# Subtasks, dependencies, milestones, criteria, comments, recurrence, templates and ad-hoc work
# register their operations on this same router.
