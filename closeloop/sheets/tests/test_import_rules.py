"""What a tester found the import doing quietly: percents misread, tasks imported as done, the
activity log in English, a message with a date the same import moved, synonyms and past dates
without a note, old exports reverting later changes, the wrong sheet or file accepted."""

import datetime as dt
import io

import pytest
from django.test import Client
from openpyxl import Workbook, load_workbook

from closeloop.core.errors import ValidationFailed
from closeloop.notify.models import Notification
from closeloop.sheets.exporting import Scope, template_for, write_workbook
from closeloop.sheets.importing import plan_task_import
from closeloop.sheets.services import ImportRefused, task_import_apply
from closeloop.sheets.tests.conftest import HEADER, write_csv, write_xlsx
from closeloop.tasks.models import Task
from closeloop.tasks.services import task_reassign, task_update
from closeloop.tasks.states import Status
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.usefixtures("zh")

LATER = dt.date.today() + dt.timedelta(days=60)


def _row(title="报表", *, priority="高", owner="李娜", due=None, progress="", status="", code=""):
    return [code, title, "项目型", priority, owner, due or LATER, progress, status, ""]


def _percent_sheet(path, values):
    """A task list whose 当前进度 cells are numbers formatted as percent, as Excel stores
    what one types as 60% or 150%: the fraction (0.6, 1.5)."""
    wb = Workbook()
    ws = wb.active
    ws.append(HEADER)
    for i, value in enumerate(values, start=2):
        ws.append(_row(f"任务{i}", progress=value))
        ws[f"G{i}"].number_format = "0%"
    wb.save(path)
    return path


# -- 1. percents -------------------------------------------------------------------------------


def test_a_fraction_above_one_in_a_percent_cell_is_a_row_error_not_two_percent(
    tmp_path, head, sales, manager
):
    path = _percent_sheet(tmp_path / "p.xlsx", [1.5, 1.0, 0.6, 0.005])

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert [r.action for r in plan.rows] == ["error", "create", "create", "create"]
    assert plan.rows[0].errors == ["第2行 当前进度：150% 不在 0–100% 之间"]
    assert [r.values.get("progress") for r in plan.rows[1:]] == [100, 60, 1]


def test_a_percent_cell_holding_a_whole_number_is_read_as_excel_shows_it(tmp_path, head, sales, manager):
    # 60 typed into a cell formatted as percent shows as 6000%: that is what the sheet says.
    path = _percent_sheet(tmp_path / "p.xlsx", [60])

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert plan.rows[0].errors == ["第2行 当前进度：6000% 不在 0–100% 之间"]


def test_a_plain_number_between_one_and_two_is_refused_as_ambiguous(tmp_path, head, sales, manager):
    path = write_csv(tmp_path / "p.csv", [HEADER, _row(progress="1.5"), _row("乙", progress="60")])

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert plan.rows[0].action == "error"
    assert plan.rows[0].errors[0].startswith("第2行 当前进度：1.5 含义不明")
    assert plan.rows[1].values["progress"] == 60


# -- 2. no 已完成 without acceptance ----------------------------------------------------------


@pytest.mark.parametrize("status", ["已完成", "待验收", "返工"])
def test_a_new_task_cannot_be_imported_as_done_or_awaiting_acceptance(tmp_path, head, sales, manager, status):
    path = write_xlsx(tmp_path / "d.xlsx", [HEADER, _row(status=status, progress="100%")])

    with pytest.raises(ImportRefused) as refused:
        task_import_apply(actor=head, department=sales, path=path)

    (error,) = refused.value.plan.rows[0].errors
    assert error.startswith(f"第2行 状态：新任务不能直接导入为“{status}”")
    assert not Task.objects.exists()


def test_an_update_row_cannot_accept_a_submitted_task(tmp_path, head, member, sales):
    """The head may accept — through the review, against the criteria — never by a sheet."""
    task = make_task(actor=head, department=sales, owner=member, title="报表", due=LATER)
    Task.objects.filter(pk=task.pk).update(status=Status.SUBMITTED)
    path = write_xlsx(tmp_path / "u.xlsx", [HEADER, _row(owner="李专员", status="已完成", code="T001")])

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert plan.rows[0].errors == [
        "第2行 状态：“已完成”只能在任务页面通过验收流程达成（负责人提交关键成果，验收人逐条核对验收标准），不能通过导入设置。"
    ]
    with pytest.raises(ImportRefused):
        task_import_apply(actor=head, department=sales, path=path)
    assert Task.objects.get(pk=task.pk).status == Status.SUBMITTED


# -- 3. the activity log in Chinese -------------------------------------------------------------


def test_the_imported_event_reads_in_chinese_on_the_task_page(tmp_path, head, sales, manager):
    path = write_xlsx(tmp_path / "imp-ok.xlsx", [HEADER, _row(status="进行中", progress="60%")])
    plan = task_import_apply(actor=head, department=sales, path=path, source_name="imp-ok.xlsx")
    c = Client()
    c.force_login(head)

    html = c.get(Task.objects.get(pk=plan.rows[0].task_id).get_absolute_url()).content.decode()

    assert "王总 按表格中记录的状态导入了任务：进行中 · 60%" in html
    assert "imported" not in html


# -- 4. messages carry the row's final values ----------------------------------------------------


def test_messages_of_an_import_row_carry_its_final_values(tmp_path, head, member, manager, sales):
    task = make_task(actor=head, department=sales, owner=member, title="报表", due=dt.date(2026, 12, 4))
    path = write_xlsx(
        tmp_path / "r.xlsx",
        [HEADER, _row("报表（年终版）", owner="李娜", due=dt.date(2026, 12, 31), priority="中", code="T001")],
    )

    task_import_apply(actor=head, department=sales, path=path)

    task.refresh_from_db()
    assert (task.owner, task.due_date) == (manager, dt.date(2026, 12, 31))
    (told,) = Notification.objects.filter(recipient=manager, kind="task.assigned")
    assert (told.data["due"], told.data["title"]) == ("2026-12-31", "报表（年终版）")
    (moved,) = Notification.objects.filter(recipient=member, kind="task.due_date_changed")
    assert (moved.data["due"], moved.data["title"]) == ("2026-12-31", "报表（年终版）")


# -- 5. notes the preview owes ------------------------------------------------------------------


def test_a_synonym_is_read_with_a_note(tmp_path, head, sales, manager):
    path = write_xlsx(tmp_path / "s.xlsx", [HEADER, _row(priority="紧急", status="doing")])

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert plan.rows[0].values["priority"] == 1
    assert "第2行 优先级：“紧急”按“高”处理" in plan.rows[0].warnings
    assert "第2行 状态：“doing”按“进行中”处理" in plan.rows[0].warnings


def test_a_new_task_due_in_the_past_is_flagged(tmp_path, head, sales, manager):
    path = write_xlsx(tmp_path / "p.xlsx", [HEADER, _row(due=dt.date(2020, 1, 1))])

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert plan.ok
    assert plan.rows[0].warnings == [
        f"第2行 截止日期：2020-01-01 已经过去（今天是 {sales.local_today()}）：新任务一创建就已逾期"
    ]


def test_reimporting_an_old_export_warns_on_each_row_changed_since(tmp_path, head, member, manager, sales):
    t1 = make_task(actor=head, department=sales, owner=member, title="报表", due=LATER)
    make_task(actor=head, department=sales, owner=member, title="调研", due=LATER)
    old = write_workbook(template_for("task-list"), Scope(user=head, department=sales)).read()
    # Meanwhile, in Closeloop: T001 goes to 李娜 and its due date moves.
    task_reassign(actor=head, task=t1, owner=manager)
    t1.refresh_from_db()
    task_update(actor=head, task=t1, due_date=LATER + dt.timedelta(days=5), reason="客户延期")
    wb = load_workbook(io.BytesIO(old))
    wb.active["B4"] = "调研（第二期）"  # the one edit made in the old file
    path = tmp_path / "old.xlsx"
    wb.save(path)

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert [(r.code, r.action) for r in plan.rows] == [("T001", "update"), ("T002", "update")]
    (stale,) = plan.rows[0].warnings
    assert stale.startswith("第3行 数据版本：此行在导出后已被修改")
    assert "负责人、截止日期" in stale
    assert plan.rows[1].warnings == []


@pytest.mark.parametrize(
    "template,name", [("progress", "任务进度跟踪表"), ("collaboration", "跨部门协作任务表")]
)
def test_another_of_the_handbooks_sheets_is_refused_by_name(tmp_path, head, member, sales, template, name):
    make_task(actor=head, department=sales, owner=member, title="报表", due=LATER)
    path = tmp_path / "x.xlsx"
    path.write_bytes(write_workbook(template_for(template), Scope(user=head, department=sales)).read())

    with pytest.raises(ValidationFailed) as refused:
        plan_task_import(actor=head, department=sales, path=path)

    assert refused.value.message.startswith(
        f"该文件是{name}（表头在工作表“{name}”第 2 行），不是日常任务清单表。"
    )
    assert "只供导出查看" in refused.value.message


# -- 6. what the file is, and which sheet was read ----------------------------------------------


def test_a_file_renamed_to_xlsx_is_said_to_be_no_excel_file(tmp_path, head, sales):
    path = tmp_path / "upload"
    path.write_text("这不是表格，只是一段文字\n", encoding="utf-8")

    with pytest.raises(ValidationFailed) as refused:
        plan_task_import(actor=head, department=sales, path=path, name="任务清单.xlsx")
    assert refused.value.message.startswith("该文件不是有效的 Excel（.xlsx）文件")

    png = tmp_path / "picture"
    png.write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8)
    with pytest.raises(ValidationFailed, match="Excel"):
        plan_task_import(actor=head, department=sales, path=png, name="任务清单")


def test_the_header_is_looked_for_in_every_sheet_and_the_one_read_is_named(tmp_path, head, sales, manager):
    wb = Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["请在“任务清单”工作表中填写"])
    ws = wb.create_sheet("任务清单")
    ws.append(HEADER)
    ws.append(_row())
    path = tmp_path / "two.xlsx"
    wb.save(path)

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert (plan.sheet, plan.sheets, [r.action for r in plan.rows]) == (
        "任务清单",
        ["填表说明", "任务清单"],
        ["create"],
    )


def test_no_header_in_any_sheet_names_the_sheets_read(tmp_path, head, sales):
    wb = Workbook()
    wb.active.title = "填表说明"
    wb.active.append(["说明"])
    wb.create_sheet("数据").append(["a", "b"])
    path = tmp_path / "none.xlsx"
    wb.save(path)

    with pytest.raises(ValidationFailed) as refused:
        plan_task_import(actor=head, department=sales, path=path)

    assert refused.value.message.startswith("工作簿的所有工作表（填表说明、数据）中都找不到表头")
