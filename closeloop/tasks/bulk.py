"""Many tasks at once: the writes of an import (10,000 rows of a department's sheet).

Never a state of acceptance: no row creates a task in, or moves one to, 待验收 / 已完成 /
返工 (`states.ACCEPTANCE_STATES`). Those are reached only through acceptance on the task
page (`review.services`: the owner submits key results, the reviewer checks each criterion;
DESIGN.md "no done without acceptance"), whoever calls and whatever their role. Such a row
is refused as `BulkRowError` on field `status` before anything is written.

`tasks_bulk_create` takes a department's new top-level tasks in one call and keeps every rule
of `services.task_create` — the same field checks, the actor a member of the department
(checked once), codes numbered under a lock of the department row, `original_due_date`
written once, the `created` event with the actor, the owner told — but writes them in batches
(`bulk_create`), so the number of queries grows with the batches, not with the rows:
10,000 tasks are a few dozen statements instead of ~150,000.

What it does differently, on purpose:
- Each owner gets **one** message for everything handed to them in the call (`task.assigned`
  when it is a single task, else `task.assigned_many` listing them), through
  `notify.services.notify_each` in the same transaction — not 10,000 pings.
- A task may start in the state an existing record gives it (`NewTask.status` / `progress`:
  the sheet says 进行中, 60%): the status machine starts every task at 未开始 and only the
  owner may start it, so that state (未开始, 进行中, 阻塞 or 已取消 — never one of
  acceptance) is taken over as is, stamped (started/cancelled now), and logged as an
  `imported` event after `created`, with `state_note`.
- Top-level tasks only, without collaborators (what a sheet row holds); subtasks and helpers
  go through `task_create`, which rolls progress up and tells collaborators.

`tasks_bulk_update` applies changed rows to existing tasks, one row at a time through the
services (`task_update`, `task_transition`, `task_reassign`: their checks, events and
messages), after checking every row's status first.

All or nothing: every row is checked before anything is written; the first bad row raises
`BulkRowError` (a ValidationFailed carrying the row's `index`) and nothing is stored. Call
it inside the caller's transaction to make it part of a larger all-or-nothing write.
"""

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any

from django.db import transaction
from django.db.models import CharField, F, Value
from django.db.models.functions import Cast, Concat, LPad
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import DomainError, NotAllowed, ValidationFailed
from closeloop.notify.services import notify_each
from closeloop.orgs.models import Department, User
from closeloop.tasks import permissions
from closeloop.tasks.models import AcceptanceCriterion, Priority, Source, Task, TaskEvent, TaskType
from closeloop.tasks.search import task_index_text
from closeloop.tasks.services import task_message, task_reassign, task_transition, task_update
from closeloop.tasks.states import ACCEPTANCE_STATES, Status
from closeloop.tasks.validation import TEXT_MAX, CriterionIn, _check_fields, _clean_criteria, text_errors

# Rows per INSERT of our own (the database may split further: SQLite takes 999 parameters).
BATCH = 1000
# Tasks listed in a `task.assigned_many` message; the rest are counted.
DIGEST_LISTED = 20

# The timestamps a task taken over in a state already has (set to the moment of the import).
STATE_STAMPS: dict[str, tuple[str, ...]] = {
    Status.IN_PROGRESS: ("started_at",),
    Status.BLOCKED: ("started_at",),
    Status.CANCELLED: ("cancelled_at",),
}


@dataclass
class NewTask:
    """One task to create: the fields of `task_create` a sheet row carries, plus the state an
    existing record gives it (`status`: a `Status` value other than 待验收 / 已完成 / 返工;
    `progress` 0–100 or None for 0)."""

    title: str
    owner: User | None
    due_date: date | None
    task_type: str = TaskType.PROJECT
    priority: int = Priority.MEDIUM
    notes: str = ""
    start_date: date | None = None
    criteria: Sequence[CriterionIn] = ()
    status: str = Status.NOT_STARTED
    progress: int | None = None


@dataclass
class TaskChange:
    """Changes to one existing task, as a sheet row gives them: `task_id` (the task's pk) and
    `changes`, field name → new value, of `title`, `task_type`, `priority`, `due_date` (a
    date), `notes`, `progress` (0–100), `status` (a `Status` value other than 待验收 / 已完成
    / 返工) and `owner` (a User). Only the fields that differ from the task."""

    task_id: int
    changes: dict[str, Any]


class BulkRowError(ValidationFailed):
    """Row `index` (0-based, in the order given) is refused; nothing was written. `reason` is
    the sentence about the row (the first of `fields`, or the service's refusal); `message`
    names the row too ("Row 3: …", counted from 1 in the order given)."""

    def __init__(self, index: int, reason: str, fields: dict[str, list[str]]):
        super().__init__(_("Row %(row)s: %(message)s") % {"row": index + 1, "message": reason}, fields=fields)
        self.index = index
        self.reason = str(reason)


def _acceptance_error(status: Any) -> str:
    return _(
        "%(status)s is reached only through acceptance on the task page (the owner submits key results, the reviewer checks each criterion), never by a bulk write such as an import."
    ) % {"status": Status(status).label}


def _row_errors(row: NewTask, require_criteria: bool) -> tuple[dict[str, list[str]], list]:
    errors: dict[str, list[str]] = {}
    _check_fields(
        errors=errors,
        title=row.title,
        start_date=row.start_date,
        due_date=row.due_date,
        owner=row.owner,
        task_type=row.task_type,
        priority=row.priority,
    )
    text_errors(errors, "notes", row.notes, TEXT_MAX)
    criteria = _clean_criteria(row.criteria, errors)
    if require_criteria and not criteria and "criteria" not in errors:
        errors.setdefault("criteria", []).append(_("Write at least one acceptance criterion."))
    if row.status not in Status.values:
        errors.setdefault("status", []).append(_("Unknown status."))
    elif row.status in ACCEPTANCE_STATES:
        errors.setdefault("status", []).append(_acceptance_error(row.status))
    if row.progress is not None and (not isinstance(row.progress, int) or not 0 <= row.progress <= 100):
        errors.setdefault("progress", []).append(_("Progress is a whole number from 0 to 100."))
    return errors, criteria


def tasks_bulk_create(
    *,
    actor: User,
    department: Department,
    rows: Sequence[NewTask],
    require_criteria: bool = True,
    state_note: str = "",
    batch_size: int = BATCH,
) -> list[Task]:
    """Create `rows` as top-level tasks of `department`, in order, numbered consecutively
    (T001, T002, … after the department's last). Returns the tasks (with pk, code and path).

    Raises NotAllowed unless `actor` may create tasks in `department` (a member, or one who
    leads it: `permissions.can_create_in`), BulkRowError for the first row that breaks a
    rule of `task_create` (`require_criteria` as there) or asks for a state of acceptance
    (field `status`). Queries: a constant handful plus
    about three per `batch_size` rows (SQLite splits an INSERT at 999 parameters)."""
    if not permissions.can_create_in(actor, department.pk):
        raise NotAllowed(_("Only members of %(dept)s can create tasks there.") % {"dept": department.name})
    checked: list[list[AcceptanceCriterion]] = []
    for index, row in enumerate(rows):
        errors, criteria = _row_errors(row, require_criteria)
        if errors:
            first = next(iter(errors.values()))[0]
            raise BulkRowError(index, first, errors)
        checked.append(criteria)
    if not rows:
        return []

    now = timezone.now()
    tasks: list[Task] = []
    with transaction.atomic():
        locked = Department.objects.select_for_update().only("next_task_number").get(pk=department.pk)
        first_number = locked.next_task_number
        Department.objects.filter(pk=department.pk).update(next_task_number=F("next_task_number") + len(rows))
        for offset, row in enumerate(rows):
            code = f"T{first_number + offset:03d}"
            title = row.title.strip()
            task = Task(
                department=department,
                initiator=actor,
                code=code,
                depth=0,
                title=title,
                task_type=row.task_type,
                priority=row.priority,
                owner=row.owner,
                start_date=row.start_date,
                due_date=row.due_date,
                original_due_date=row.due_date,
                notes=(row.notes or "").strip(),
                source=Source.PLANNED,
                status=row.status,
                progress=row.progress or 0,
                search_text=task_index_text(department_code=department.code, code=code, title=title),
            )
            for stamp in STATE_STAMPS.get(row.status, ()):
                setattr(task, stamp, now)
            tasks.append(task)
        for start in range(0, len(tasks), batch_size):
            batch = tasks[start : start + batch_size]
            Task.objects.bulk_create(batch)
            ids = [t.pk for t in batch]
            # path = '/' + the id in 10 digits + '/' (Task.make_path), computed by the database
            # for the whole batch: the ids exist only now.
            Task.objects.filter(pk__in=ids).update(
                path=Concat(
                    Value("/"), LPad(Cast("id", output_field=CharField()), 10, Value("0")), Value("/")
                )
            )
            for t in batch:
                t.path = Task.make_path(None, t.pk)

        criteria_rows = []
        for task, criteria in zip(tasks, checked, strict=True):
            for c in criteria:
                c.task = task
                criteria_rows.append(c)
        AcceptanceCriterion.objects.bulk_create(criteria_rows, batch_size=batch_size)

        events = []
        for task, criteria in zip(tasks, checked, strict=True):
            events.append(
                TaskEvent(
                    task=task,
                    actor=actor,
                    verb="created",
                    before={},
                    after={
                        "code": task.code,
                        "title": task.title,
                        "owner": task.owner_id,
                        "due_date": task.due_date.isoformat(),
                        "priority": task.priority,
                        "criteria": len(criteria),
                        "collaborators": [],
                    },
                    note="",
                )
            )
            state = {
                k: v for k, v in (("status", task.status), ("progress", task.progress)) if v != _START[k]
            }
            if state:
                events.append(
                    TaskEvent(
                        task=task,
                        actor=actor,
                        verb="imported",
                        before=dict(_START),
                        after=state,
                        note=state_note,
                    )
                )
        TaskEvent.objects.bulk_create(events, batch_size=batch_size)
        _tell_owners(actor, tasks, note=state_note)
    return tasks


_START: dict[str, Any] = {"status": str(Status.NOT_STARTED), "progress": 0}

# The fields of a TaskChange that `task_update` takes.
UPDATE_FIELDS = ("title", "task_type", "priority", "due_date", "notes", "progress")


def tasks_bulk_update(*, actor: User, rows: Sequence[TaskChange], note: str) -> None:
    """Apply `rows` to their tasks in order, `note` (text, the reason logged with each change)
    given to every service. Every row's `status` is checked before anything is written:
    an unknown one, or 待验收 / 已完成 / 返工 (`ACCEPTANCE_STATES`, reached only through
    acceptance), raises BulkRowError for that row on field `status`.

    Each row goes through the services, in the order that makes every message carry the row's
    final values: the fields first (title, due date…: `task_update`), then the status
    (`task_transition`), then the owner (`task_reassign`) — so the new owner's 给你分配了任务
    names the due date the same row sets; a cancellation comes after the hand-over (a closed
    task is handed to nobody). A service refusing a row (NotAllowed, Conflict, bad input: the
    task changed since it was read) raises BulkRowError for that row with the service's
    sentence as `reason` and its `fields` (or `{"row": [reason]}`); the transaction is rolled
    back, nothing of any row is kept. Rows that cancel a task (已取消) go last, deepest first:
    cancelling a task cancels its open subtasks with it (`task_transition`), so a subtask's own
    row is applied before its parent's takes it along; a row cancelling a task that is already
    cancelled that way changes nothing more. Queries: those of the services, per row, and one
    for the depths of the rows that cancel."""
    for index, row in enumerate(rows):
        status = row.changes.get("status")
        if status is None:
            continue
        if status not in Status.values:
            raise BulkRowError(index, _("Unknown status."), {"status": [_("Unknown status.")]})
        if status in ACCEPTANCE_STATES:
            reason = _acceptance_error(status)
            raise BulkRowError(index, reason, {"status": [reason]})
    cancelling = [i for i, row in enumerate(rows) if row.changes.get("status") == Status.CANCELLED]
    order = [i for i, row in enumerate(rows) if row.changes.get("status") != Status.CANCELLED]
    if cancelling:
        depth = dict(
            Task.objects.filter(pk__in={rows[i].task_id for i in cancelling}).values_list("pk", "depth")
        )
        order += sorted(cancelling, key=lambda i: -depth.get(rows[i].task_id, 0))
    with transaction.atomic():
        for index in order:
            row = rows[index]
            try:
                _update_one(actor, row, note)
            except DomainError as exc:
                raise BulkRowError(index, exc.message, exc.fields or {"row": [exc.message]}) from exc


def _update_one(actor: User, row: TaskChange, note: str) -> None:
    changes = row.changes
    task = Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=row.task_id)
    fields = {k: v for k, v in changes.items() if k in UPDATE_FIELDS}
    if fields:
        task = task_update(actor=actor, task=task, expected_version=task.version, reason=note, **fields)
    status = changes.get("status")
    if status is not None and status != Status.CANCELLED:
        task = task_transition(actor=actor, task=task, to=status, note=note)
    if "owner" in changes:
        task = task_reassign(actor=actor, task=task, owner=changes["owner"], reason=note)
    if status == Status.CANCELLED and task.status != Status.CANCELLED:
        task_transition(actor=actor, task=task, to=status, note=note)


def _tell_owners(actor: User, tasks: list[Task], *, note: str) -> None:
    """One message per owner: the task itself when it is one, else the list of them."""
    by_owner: dict[int, list[Task]] = defaultdict(list)
    for task in tasks:
        by_owner[task.owner_id].append(task)
    single: list[tuple[User, dict, str]] = []
    many: list[tuple[User, dict, str]] = []
    for owned in by_owner.values():
        owner = owned[0].owner
        if len(owned) == 1:
            task = owned[0]
            single.append((owner, task_message(task, actor), task.get_absolute_url()))
            continue
        listed = sorted(owned, key=lambda t: (t.due_date, t.pk))[:DIGEST_LISTED]
        data = {
            "by": actor.display_name,
            "count": len(owned),
            "note": note,
            "tasks": [
                {"task": t.pk, "code": t.full_code, "title": t.title, "due": t.due_date.isoformat()}
                for t in listed
            ],
        }
        many.append((owner, data, f"{reverse('tasks:list')}?owner={owner.pk}"))
    if single:
        notify_each(kind="task.assigned", messages=single, actor=actor)
    if many:
        notify_each(kind="task.assigned_many", messages=many, actor=actor)
