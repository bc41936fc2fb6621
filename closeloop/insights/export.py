"""The weekly review as an .xlsx workbook (openpyxl): a summary sheet and one sheet per list."""

from io import BytesIO

from django.utils.translation import gettext as _
from openpyxl import Workbook
from openpyxl.styles import Font

from closeloop.insights.selectors import WeekData


def _task_rows(tasks):
    for t in tasks:
        yield [
            f"{t.department.code}-{t.code}",
            t.title,
            t.owner.display_name,
            str(t.get_priority_display()),
            str(t.get_status_display()),
            t.due_date,
            t.original_due_date,
            t.progress / 100,
        ]


def weekly_review_xlsx(data: WeekData) -> bytes:
    wb = Workbook()
    ws = wb.active
    ws.title = _("Summary")
    bold = Font(bold=True)
    ws.append([_("Weekly review"), data.department.name])
    ws.append([_("Week"), f"{data.week_start.isoformat()} – {data.week_end.isoformat()}"])
    ws.append([])
    for label, value in [
        (_("Completed"), data.totals.get("completed", 0)),
        (_("Overdue"), data.totals.get("overdue", 0)),
        (_("Slipped (delay warnings)"), len(data.slipped)),
        (_("Blocked"), data.totals.get("blocked", 0)),
        (_("Due next week"), data.totals.get("due_next_week", 0)),
        (_("On-time rate (approved due date)"), None if data.rate is None else data.rate / 100),
        (
            _("On-time rate (original due date)"),
            None if data.rate_original is None else data.rate_original / 100,
        ),
    ]:
        ws.append([label, value])
        if isinstance(value, float):
            ws.cell(ws.max_row, 2).number_format = "0%"
    ws.append([])
    ws.append([_("Slip reasons"), _("Count")])
    for label, n in data.slipped_by_reason:
        ws.append([label, n])
    ws.append([])
    ws.append([_("Meeting notes")])
    ws.append([data.review.notes if data.review else ""])
    for row in ws.iter_rows(min_row=1, max_row=1):
        for c in row:
            c.font = bold
    ws.column_dimensions["A"].width = 34
    ws.column_dimensions["B"].width = 40

    header = [
        _("Task ID"),
        _("Title"),
        _("Owner"),
        _("Priority"),
        _("Status"),
        _("Due date"),
        _("Original due date"),
        _("Progress"),
    ]
    for title, tasks in [
        (_("Completed"), data.completed),
        (_("Overdue"), data.overdue),
        (_("Blocked"), data.blocked),
        (_("Due next week"), data.due_next_week),
    ]:
        sheet = wb.create_sheet(title[:31])
        sheet.append(header)
        for c in sheet[1]:
            c.font = bold
        for row in _task_rows(tasks):
            sheet.append(row)
            sheet.cell(sheet.max_row, 6).number_format = "yyyy-mm-dd"
            sheet.cell(sheet.max_row, 7).number_format = "yyyy-mm-dd"
            sheet.cell(sheet.max_row, 8).number_format = "0%"
        sheet.column_dimensions["B"].width = 40
    sheet = wb.create_sheet(_("Slipped")[:31])
    sheet.append(
        [
            _("Task ID"),
            _("Title"),
            _("Reason"),
            _("Explanation"),
            _("Due date before"),
            _("New due date"),
            _("On time"),
            _("Status"),
        ]
    )
    for c in sheet[1]:
        c.font = bold
    for w in data.slipped:
        sheet.append(
            [
                f"{w.task.department.code}-{w.task.code}",
                w.task.title,
                str(w.get_reason_display()),
                w.explanation,
                w.old_due_date,
                w.new_due_date,
                _("yes") if w.on_time else _("no"),
                str(w.get_status_display()),
            ]
        )
    buf = BytesIO()
    wb.save(buf)
    return buf.getvalue()
