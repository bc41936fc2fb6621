"""Writes of the sheets app: applying a validated import.

Every change goes through the tasks services with the importer as actor (`task_create`,
`task_reassign`, `task_update`, `task_transition`), so the event log and the notifications
are those of the same change made by hand. One write cannot go that way: the state a
department's sheet records for a task that is new to Closeloop (已完成, 60%) — the status
machine starts every task at 未开始 and only the owner may start it. `_record_sheet_state`
writes that state on the task the importer has just created, compare-and-set on `version`,
with an `imported` event through `tasks.services.record_event`, as tracking does for an
approved delay.
"""

from pathlib import Path
from typing import Any

from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import Conflict, DomainError, ValidationFailed
from closeloop.orgs.models import Department, User
from closeloop.sheets.importing import ImportPlan, plan_task_import
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import forget_visibility
from closeloop.tasks.services import record_event, task_create, task_reassign, task_transition, task_update
from closeloop.tasks.states import Status

_STAMPS = {
    Status.IN_PROGRESS: ("started_at",),
    Status.BLOCKED: ("started_at",),
    Status.SUBMITTED: ("started_at", "submitted_at"),
    Status.REWORK: ("started_at", "submitted_at"),
    Status.DONE: ("started_at", "submitted_at", "completed_at"),
    Status.CANCELLED: ("cancelled_at",),
}


class ImportRefused(ValidationFailed):
    """The plan has errors (or one appeared while writing): nothing was stored. `plan`
    carries every row's result for the preview."""

    def __init__(self, message: str, *, plan: ImportPlan):
        super().__init__(message, fields={"file": plan.errors()[:50]})
        self.plan = plan


def _record_sheet_state(*, actor: User, task: Task, status: str, progress: int | None, source: str) -> None:
    updates: dict[str, Any] = {}
    if status != task.status:
        updates["status"] = status
        now = timezone.now()
        for stamp in _STAMPS.get(Status(status), ()):
            updates[stamp] = now
    if progress is not None and progress != task.progress:
        updates["progress"] = progress
    if not updates:
        return
    rows = Task.objects.filter(pk=task.pk, version=task.version).update(
        **updates, version=F("version") + 1, updated_at=timezone.now()
    )
    if rows != 1:
        raise Conflict(
            _("Someone else changed this task meanwhile; reload and try again."), code="version_conflict"
        )
    record_event(
        task=task,
        actor=actor,
        verb="imported",
        before={"status": task.status, "progress": task.progress},
        after={k: updates[k] for k in ("status", "progress") if k in updates},
        note=_("State as recorded in %(file)s") % {"file": source},
    )


def task_import_apply(
    *, actor: User, department: Department, path: Path | str, source_name: str = "", dry_run: bool = False
) -> ImportPlan:
    """Validate the whole file (`importing.plan_task_import`), then, unless `dry_run`, write
    every row in one transaction: create, update or leave each task. All or nothing: a row
    error found before writing raises ImportRefused with the plan and stores nothing; a
    service refusing a row while writing (state changed meanwhile) rolls everything back and
    raises ImportRefused naming that row. NotFound when the actor may not see the department.
    Returns the plan (each created row's `task_id` filled in)."""
    plan = plan_task_import(actor=actor, department=department, path=path)
    if dry_run:
        return plan
    if not plan.ok:
        raise ImportRefused(
            _("Nothing was imported: %(n)s rows have errors.") % {"n": plan.counts()["error"]}, plan=plan
        )
    source = source_name or Path(path).name
    note = _("Imported from %(file)s") % {"file": source}
    current_row = None
    try:
        with transaction.atomic():
            if connection.vendor == "postgresql":
                # Check foreign keys as each statement ends instead of queueing them all to the
                # commit: PostgreSQL's queue of deferred checks grows superlinearly with the
                # rows a 10,000-row import writes (3,000 rows: 366 s of writes and 23 s of
                # checks at commit, against 131 s and none).
                with connection.cursor() as cursor:
                    cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            for current_row in plan.rows:
                if current_row.action == "create":
                    _apply_create(actor, department, current_row.values, source, current_row)
                elif current_row.action == "update":
                    _apply_update(actor, current_row.task_id, current_row.values, note)
    except DomainError as exc:
        if current_row is not None:
            current_row.errors.append(
                _("Row %(row)s: %(message)s") % {"row": current_row.row, "message": exc.message}
            )
            current_row.action = "error"
        raise ImportRefused(
            _("Nothing was imported: %(message)s") % {"message": exc.message}, plan=plan
        ) from exc
    forget_visibility(actor)
    return plan


def _apply_create(actor: User, department: Department, values: dict, source: str, row) -> None:
    task = task_create(
        actor=actor,
        department=department,
        title=values["title"],
        owner=values["owner"],
        due_date=values["due_date"],
        task_type=values["task_type"],
        priority=values["priority"],
        notes=values.get("notes", ""),
        require_criteria=False,
    )
    row.task_id = task.pk
    row.code = task.code
    _record_sheet_state(
        actor=actor, task=task, status=values["status"], progress=values.get("progress"), source=source
    )


def _apply_update(actor: User, task_id: int, changes: dict, note: str) -> None:
    task = Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=task_id)
    if "owner" in changes:
        task = task_reassign(actor=actor, task=task, owner=changes["owner"], reason=note)
    fields = {
        k: v
        for k, v in changes.items()
        if k in ("title", "task_type", "priority", "due_date", "notes", "progress")
    }
    if fields:
        task = task_update(actor=actor, task=task, expected_version=task.version, reason=note, **fields)
    if "status" in changes:
        task_transition(actor=actor, task=task, to=changes["status"], note=note)
