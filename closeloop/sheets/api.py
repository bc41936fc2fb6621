"""API of the sheets app: `POST imports` (with dry run) and `GET exports/{template}`. Thin: the
same services and writers as the web pages and the CLI."""

import tempfile
from pathlib import Path

from django.http import FileResponse, HttpRequest
from ninja import File, Form, Router, Schema
from ninja.files import UploadedFile
from pydantic import Field

from closeloop.core.api_schemas import READ_ERRORS, WRITE_ERRORS, ErrorOut
from closeloop.sheets.exporting import Scope, department_scope, export_filename, template_for, write_workbook
from closeloop.sheets.reading import check_size
from closeloop.sheets.services import ImportRefused, task_import_apply
from closeloop.tasks.selectors import access_task

router = Router(tags=["sheets"])


class ImportRowOut(Schema):
    row: int = Field(description="Row number in the sheet, counting from 1.")
    action: str = Field(description="create, update, unchanged or error.")
    code: str
    title: str
    changes: dict[str, list[str]] = Field(description="field → [before, after] as the sheet shows them.")
    errors: list[str]
    warnings: list[str]


class IgnoredOut(Schema):
    row: int
    reason: str


class ImportOut(Schema):
    department: str
    ok: bool = Field(description="No row has an error.")
    applied: bool = Field(description="Whether anything was written (never on a dry run).")
    header_row: int
    sheet: str = Field(
        "", description="The worksheet read: the first with the task list's header; '' for a CSV."
    )
    counts: dict[str, int]
    problems: list[str]
    rows: list[ImportRowOut]
    ignored: list[IgnoredOut]


class ImportRefusedOut(ErrorOut):
    plan: ImportOut | None = None


@router.post(
    "/imports",
    response={200: ImportOut, 422: ImportRefusedOut, **{k: v for k, v in WRITE_ERRORS.items() if k != 422}},
    summary="Import a 日常任务清单表 (.xlsx or .csv)",
)
def import_tasks(
    request: HttpRequest,
    file: File[UploadedFile],
    department: Form[str],
    dry_run: Form[bool] = False,
):
    """Validate every row; with `dry_run` only preview. Without it, write all rows or none:
    any row error answers 422 with the preview in `plan` and stores nothing. Multipart form:
    `file`, `department` (code, e.g. SALES), `dry_run`."""
    check_size(file.size or 0)
    dept = department_scope(department)
    with tempfile.NamedTemporaryFile(suffix=".upload") as tmp:
        for chunk in file.chunks():
            tmp.write(chunk)
        tmp.flush()
        check_size(Path(tmp.name).stat().st_size)
        try:
            plan = task_import_apply(
                actor=request.user,
                department=dept,
                path=tmp.name,
                source_name=file.name or "",
                dry_run=dry_run,
            )
        except ImportRefused as exc:
            body = {"code": exc.code, "message": exc.message, "fields": exc.fields}
            body["plan"] = {**exc.plan.as_dict(), "applied": False}
            return 422, body
    return {**plan.as_dict(), "applied": not dry_run}


@router.get("/exports/{template}", response={200: None, **READ_ERRORS}, summary="Export a template as .xlsx")
def export_sheet(request: HttpRequest, template: str, department: str = "", task: int | None = None):
    """`template`: task-list, progress, collaboration or retrospective. Give `department`
    (code) for its tasks, or `task` (id) for a task with its subtasks. Only what the caller
    may see is in the sheet."""
    sheet = template_for(template)
    if task is not None:
        scope = Scope(user=request.user, task=access_task(request.user, task))
    else:
        scope = Scope(user=request.user, department=department_scope(department))
    out = write_workbook(sheet, scope)
    return FileResponse(out, as_attachment=True, filename=export_filename(sheet, scope))
