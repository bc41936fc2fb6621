"""Writes of the sheets app: applying a validated import.

Every change goes through the tasks services with the importer as actor, so the event log
and the notifications are those of the same change made by hand. New rows go in one call of
`tasks.bulk.tasks_bulk_create` (the rules of `task_create`, written in batches, one message
per owner, the sheet's own state — 进行中, 60% — taken over with an `imported` event; never a
state of acceptance, which the plan refuses);
changed rows through `task_reassign`, `task_update` and `task_transition`, one row at a time
(only the rows that differ: the plan compared them all in one read).
"""

from pathlib import Path

from django.db import connection, transaction
from django.utils.translation import gettext as _

from closeloop.core.errors import DomainError, ValidationFailed
from closeloop.orgs.models import Department, User
from closeloop.sheets.importing import ImportPlan, RowResult, plan_task_import
from closeloop.tasks.bulk import BulkRowError, NewTask, tasks_bulk_create
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import forget_visibility
from closeloop.tasks.services import task_reassign, task_transition, task_update
from closeloop.tasks.states import Status


class ImportRefused(ValidationFailed):
    """The plan has errors (or one appeared while writing): nothing was stored. `plan`
    carries every row's result for the preview."""

    def __init__(self, message: str, *, plan: ImportPlan):
        super().__init__(message, fields={"file": plan.errors()[:50]})
        self.plan = plan


def task_import_apply(
    *, actor: User, department: Department, path: Path | str, source_name: str = "", dry_run: bool = False
) -> ImportPlan:
    """Validate the whole file (`importing.plan_task_import`), then, unless `dry_run`, write
    every row in one transaction: create, update or leave each task. All or nothing: a row
    error found before writing raises ImportRefused with the plan and stores nothing; a
    service refusing a row while writing (state changed meanwhile) rolls everything back and
    raises ImportRefused naming that row. NotFound when the actor may not see the department.
    Returns the plan (each created row's `task_id` filled in)."""
    plan = plan_task_import(
        actor=actor, department=department, path=path, name=source_name or Path(path).name
    )
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
            creates = [r for r in plan.rows if r.action == "create"]
            try:
                _apply_creates(actor, department, creates, source)
            except BulkRowError as exc:
                current_row = creates[exc.index]
                raise
            for current_row in plan.rows:
                if current_row.action == "update":
                    _apply_update(actor, current_row.task_id, current_row.values, note)
            current_row = None
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


def _apply_creates(actor: User, department: Department, rows: list[RowResult], source: str) -> None:
    new = [
        NewTask(
            title=r.values["title"],
            owner=r.values["owner"],
            due_date=r.values["due_date"],
            task_type=r.values["task_type"],
            priority=r.values["priority"],
            notes=r.values.get("notes", ""),
            status=r.values["status"],
            progress=r.values.get("progress"),
        )
        for r in rows
    ]
    tasks = tasks_bulk_create(
        actor=actor,
        department=department,
        rows=new,
        require_criteria=False,
        state_note=_("State as recorded in %(file)s") % {"file": source},
    )
    for row, task in zip(rows, tasks, strict=True):
        row.task_id = task.pk
        row.code = task.code


def _apply_update(actor: User, task_id: int, changes: dict, note: str) -> None:
    """One row's changes, in the order that makes every message carry the row's final
    values: the fields first (title, due date…), then the status, then the owner — so the new
    owner's 给你分配了任务 names the due date the same row sets. A cancellation comes after the
    hand-over (a closed task is handed to nobody). Each step is checked against the owner
    before the import, as the preview was."""
    task = Task.objects.select_related("department", "owner", "initiator", "reviewer").get(pk=task_id)
    fields = {
        k: v
        for k, v in changes.items()
        if k in ("title", "task_type", "priority", "due_date", "notes", "progress")
    }
    if fields:
        task = task_update(actor=actor, task=task, expected_version=task.version, reason=note, **fields)
    status = changes.get("status")
    if status is not None and status != Status.CANCELLED:
        task = task_transition(actor=actor, task=task, to=status, note=note)
    if "owner" in changes:
        task = task_reassign(actor=actor, task=task, owner=changes["owner"], reason=note)
    if status == Status.CANCELLED:
        task_transition(actor=actor, task=task, to=status, note=note)
