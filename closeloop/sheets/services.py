"""Writes of the sheets app: applying a validated import.

Every change goes through the tasks services with the importer as actor, so the event log
and the notifications are those of the same change made by hand. New rows go in one call of
`tasks.bulk.tasks_bulk_create` (the rules of `task_create`, written in batches, one message
per owner, the sheet's own state — 进行中, 60% — taken over with an `imported` event; never a
state of acceptance, which the plan refuses);
changed rows through `tasks.bulk.tasks_bulk_update` (`task_update`, `task_transition`,
`task_reassign`, one row at a time; only the rows that differ: the plan compared them all in
one read). Both refuse 待验收 / 已完成 / 返工 themselves; the plan says so first, in the
import's own words.
"""

from pathlib import Path

from django.db import connection, transaction
from django.utils.translation import gettext as _

from closeloop.core.errors import DomainError, ValidationFailed
from closeloop.orgs.models import Department, User
from closeloop.sheets.importing import ImportPlan, RowResult, plan_task_import
from closeloop.tasks.bulk import BulkRowError, NewTask, TaskChange, tasks_bulk_create, tasks_bulk_update
from closeloop.tasks.selectors import forget_visibility
from closeloop.tasks.validation import CriterionIn


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
            updates = [r for r in plan.rows if r.action == "update"]
            try:
                _apply_creates(actor, department, creates, source)
            except BulkRowError as exc:
                current_row = creates[exc.index]
                raise
            try:
                tasks_bulk_update(
                    actor=actor, rows=[TaskChange(r.task_id, r.values) for r in updates], note=note
                )
            except BulkRowError as exc:
                current_row = updates[exc.index]
                raise
    except DomainError as exc:
        # A BulkRowError's message counts rows of the call; the sheet's row is named here.
        message = exc.reason if isinstance(exc, BulkRowError) else exc.message
        if current_row is not None:
            current_row.errors.append(
                _("Row %(row)s: %(message)s") % {"row": current_row.row, "message": message}
            )
            current_row.action = "error"
        raise ImportRefused(_("Nothing was imported: %(message)s") % {"message": message}, plan=plan) from exc
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
            criteria=[CriterionIn(text=text) for text in r.values.get("criteria", [])],
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
