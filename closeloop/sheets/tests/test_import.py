"""Import of the 日常任务清单表 from the messy files departments really have."""

import datetime as dt
import io

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError
from django.utils import translation
from openpyxl import load_workbook

from closeloop.core.errors import NotFound, ValidationFailed
from closeloop.sheets.exporting import Scope, template_for, write_workbook
from closeloop.sheets.importing import plan_task_import
from closeloop.sheets.services import ImportRefused, task_import_apply
from closeloop.sheets.tests.conftest import HEADER, write_csv, write_xlsx
from closeloop.tasks.models import Priority, Task, TaskEvent, TaskType
from closeloop.tasks.states import Status
from closeloop.testing.factories import make_task

MESSY_HEADER = ["任务编号", "任务名称", "任务类型", "优先级", "负责人", "截止时间", "进度", "状态", "备注"]


def _summary(plan):
    return [(r.row, r.action) for r in plan.rows], [n for n, _ in plan.ignored]


@pytest.fixture
def messy_rows(manager, member):
    serial = (dt.date(2026, 10, 8) - dt.date(1899, 12, 30)).days
    return [
        ["销售部 2026年10月 日常任务清单"],
        ["填表说明：每周五下班前更新"],
        MESSY_HEADER,
        [
            "",
            "老用户召回活动",
            "项目型",
            "高",
            "李娜",
            dt.date(2026, 10, 15),
            0.6,
            "进行中",
            "关联Q3用户活跃度目标",
        ],
        [
            "",
            "月度销售报表",
            "事务型",
            None,
            "sales_specialist",
            serial,
            "100%",
            "进行中",  # 已完成 only through acceptance: a sheet's word is refused (see below)
            "需包含区域/产品线数据对比",
        ],
        ["", "客户需求调研", "协作型", "低", "13800000001", "2026/10/20", 60, "未开始", None],
        ["", "产品推介会筹备", "project", "medium", "李专员", "2026年10月25日", "30%", "in_progress", None],
        ["", "渠道拜访", "routine", "high", "王五", "10月15日", None, None, None],
        [None] * 9,
        ["合计", None, None, None, None, None, None, None, None],
        ["注：本表由销售部维护"],
    ]


def test_it_previews_a_messy_xlsx_row_by_row(tmp_path, head, sales, messy_rows, zh):
    path = write_xlsx(tmp_path / "清单.xlsx", messy_rows, merges=["A1:I1", "A2:I2"])

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert plan.header_row == 3
    assert _summary(plan) == (
        [(4, "create"), (5, "create"), (6, "create"), (7, "create"), (8, "error")],
        [9, 10, 11],
    )
    assert plan.rows[4].errors == ["第8行 负责人：找不到 '王五'"]
    first, report, survey, launch = (r.values for r in plan.rows[:4])
    assert (first["owner"].username, first["due_date"], first["progress"], first["status"]) == (
        "li_na",
        dt.date(2026, 10, 15),
        60,
        Status.IN_PROGRESS,
    )
    assert (report["owner"].username, report["due_date"], report["progress"], report["priority"]) == (
        "sales_specialist",
        dt.date(2026, 10, 8),
        100,
        Priority.MEDIUM,
    )
    assert plan.rows[1].warnings == [
        "第5行 优先级：为空，按“中”处理",
        f"第5行 截止时间：2026-10-08 已经过去（今天是 {sales.local_today()}）：新任务一创建就已逾期",
    ]
    assert (survey["owner"].username, survey["due_date"], survey["progress"], survey["task_type"]) == (
        "li_na",
        dt.date(2026, 10, 20),
        60,
        TaskType.COLLABORATIVE,
    )
    assert (launch["due_date"], launch["progress"], launch["status"], launch["priority"]) == (
        dt.date(2026, 10, 25),
        30,
        Status.IN_PROGRESS,
        Priority.MEDIUM,
    )
    assert plan.rows[4].values["due_date"] == dt.date(2026, 10, 15)  # the title's year
    assert not plan.ok


def test_nothing_is_imported_when_one_row_has_an_error(tmp_path, head, sales, messy_rows):
    path = write_xlsx(tmp_path / "清单.xlsx", messy_rows)

    with pytest.raises(ImportRefused) as refused:
        task_import_apply(actor=head, department=sales, path=path)

    assert refused.value.plan.counts()["error"] == 1
    assert not Task.objects.filter(department=sales).exists()


def test_it_imports_every_row_through_the_services_with_the_importer_as_actor(
    tmp_path, head, sales, messy_rows
):
    path = write_xlsx(tmp_path / "清单.xlsx", messy_rows[:7])

    plan = task_import_apply(actor=head, department=sales, path=path, source_name="清单.xlsx")

    assert plan.counts()["create"] == 4
    tasks = {t.title: t for t in Task.objects.filter(department=sales)}
    assert [tasks[t].code for t in ("老用户召回活动", "月度销售报表", "客户需求调研", "产品推介会筹备")] == [
        "T001",
        "T002",
        "T003",
        "T004",
    ]
    first = tasks["老用户召回活动"]
    assert (first.status, first.progress, first.priority, first.owner.username) == (
        "in_progress",
        60,
        1,
        "li_na",
    )
    assert first.notes == "关联Q3用户活跃度目标"
    assert tasks["月度销售报表"].status == Status.IN_PROGRESS
    verbs = list(TaskEvent.objects.filter(task=first).order_by("id").values_list("verb", "actor__username"))
    assert verbs == [("created", "sales_head"), ("imported", "sales_head")]


def test_it_reads_a_gbk_csv_without_bom(tmp_path, head, sales, manager):
    rows = [
        ["销售部任务清单 2026年"],
        HEADER,
        ["", "客户回访", "事务型", "高", "李娜", "10月15日", "60%", "进行中", "客户A"],
    ]
    path = write_csv(tmp_path / "gbk.csv", rows, encoding="gbk")
    assert path.read_bytes()[:3] != b"\xef\xbb\xbf"

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert plan.ok
    row = plan.rows[0]
    assert (row.title, row.values["owner"], row.values["due_date"], row.values["progress"]) == (
        "客户回访",
        manager,
        dt.date(2026, 10, 15),
        60,
    )
    assert row.values["notes"] == "客户A"


@pytest.mark.parametrize("encoding,bom", [("utf-8", True), ("utf-8", False), ("gb18030", False)])
def test_it_detects_the_csv_encoding_without_asking(tmp_path, head, sales, manager, encoding, bom):
    rows = [HEADER, ["", "客户回访𠀀", "事务型", "高", "李娜", "2026-10-15", "0.6", "未开始", ""]]
    path = write_csv(tmp_path / "x.csv", rows, encoding=encoding, bom=bom)

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert plan.rows[0].title == "客户回访𠀀"
    assert plan.rows[0].values["progress"] == 60


def test_formulas_are_read_as_their_cached_values_or_the_row_is_refused(tmp_path, head, sales, manager, zh):
    rows = [
        HEADER,
        ["", "有缓存值", "项目型", "高", "李娜", "2026-10-15", "=3/5", "进行中", ""],
        ["", "没有缓存值", "项目型", "高", "李娜", "2026-10-15", "=3/5", "进行中", ""],
    ]
    path = write_xlsx(tmp_path / "f.xlsx", rows, cached={"G2": "0.6"})

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert [(r.row, r.action) for r in plan.rows] == [(2, "create"), (3, "error")]
    assert plan.rows[0].values["progress"] == 60
    assert plan.rows[1].errors[0].startswith("第3行 当前进度：")


@pytest.mark.parametrize(
    "cells,field,message",
    [
        (["", "", "项目型", "高", "李娜", "2026-10-15", "", "", ""], "任务名称", "必填"),
        (["", "报表", "大项目", "高", "李娜", "2026-10-15", "", "", ""], "任务类型", "不是任务类型"),
        (["", "报表", "项目型", "最高", "李娜", "2026-10-15", "", "", ""], "优先级", "不是优先级"),
        (["", "报表", "项目型", "高", "李娜", "1899-12-01", "", "", ""], "截止日期", "1900–2100"),
        (["", "报表", "项目型", "高", "李娜", "明天", "", "", ""], "截止日期", "不是日期"),
        (["", "报表", "项目型", "高", "李娜", "2026-10-15", "150%", "", ""], "当前进度", "0–100%"),
        (["", "报表", "项目型", "高", "李娜", "2026-10-15", "", "搁置", ""], "状态", "不是状态"),
        (["", "报" * 201, "项目型", "高", "李娜", "2026-10-15", "", "", ""], "任务名称", "200"),
    ],
)
def test_each_bad_cell_is_named_with_its_row(tmp_path, head, sales, manager, zh, cells, field, message):
    path = write_xlsx(tmp_path / "bad.xlsx", [HEADER, cells])

    plan = plan_task_import(actor=head, department=sales, path=path)

    assert plan.rows[0].action == "error"
    assert any(e.startswith(f"第2行 {field}：") and message in e for e in plan.rows[0].errors), plan.rows[
        0
    ].errors


def test_an_ambiguous_owner_is_an_error_unless_one_is_in_the_department(tmp_path, head, sales, marketing, zh):
    from closeloop.testing.factories import UserFactory, add_member

    add_member(UserFactory(username="wang1", name="王芳"), marketing)
    add_member(UserFactory(username="wang2", name="王芳"), marketing)
    add_member(UserFactory(username="zhao1", name="赵敏"), marketing)
    add_member(UserFactory(username="zhao2", name="赵敏"), sales)
    rows = [HEADER, ["", "甲", "", "高", "王芳", "2026-10-15"], ["", "乙", "", "高", "赵敏", "2026-10-15"]]

    plan = plan_task_import(actor=head, department=sales, path=write_xlsx(tmp_path / "a.xlsx", rows))

    assert plan.rows[0].errors == ["第2行 负责人：'王芳' 有 2 人同名；请写用户名"]
    assert plan.rows[1].values["owner"].username == "zhao2"


def test_reimporting_an_edited_export_updates_the_same_tasks_and_shows_the_diff(
    tmp_path, head, member, sales
):
    t1 = make_task(
        actor=head, department=sales, owner=member, title="老用户召回活动", due=dt.date(2026, 10, 15)
    )
    t2 = make_task(actor=head, department=sales, owner=head, title="月度销售报表", due=dt.date(2026, 10, 8))
    exported = write_workbook(template_for("task-list"), Scope(user=head, department=sales)).read()
    path = tmp_path / "export.xlsx"
    path.write_bytes(exported)

    unchanged = plan_task_import(actor=head, department=sales, path=path)
    assert [r.action for r in unchanged.rows] == ["unchanged", "unchanged"]

    wb = load_workbook(io.BytesIO(exported))
    ws = wb.active
    ws["B3"] = "老用户召回活动（第二期）"
    ws["D3"] = "低"
    ws["F3"] = dt.date(2026, 10, 30)
    ws["G4"] = 0.5  # the head owns T002 and may report its progress
    ws["H4"] = "进行中"
    wb.save(path)

    with translation.override("zh-hans"):
        plan = task_import_apply(actor=head, department=sales, path=path)

    assert [(r.code, r.action) for r in plan.rows] == [("T001", "update"), ("T002", "update")]
    assert plan.rows[0].changes == {
        "title": ("老用户召回活动", "老用户召回活动（第二期）"),
        "priority": ("中", "低"),
        "due_date": ("2026-10-15", "2026-10-30"),
    }
    t1.refresh_from_db()
    t2.refresh_from_db()
    assert (t1.title, t1.priority, t1.due_date) == (
        "老用户召回活动（第二期）",
        Priority.LOW,
        dt.date(2026, 10, 30),
    )
    assert (t2.progress, t2.status) == (50, Status.IN_PROGRESS)
    assert Task.objects.filter(department=sales).count() == 2
    assert TaskEvent.objects.filter(task=t1, verb="updated", actor=head).exists()
    assert TaskEvent.objects.filter(task=t2, verb="status_changed", actor=head).exists()


def test_an_update_the_importer_may_not_make_is_a_row_error(tmp_path, head, member, sales, zh):
    make_task(actor=head, department=sales, owner=member, title="老用户召回活动", due=dt.date(2026, 10, 15))
    rows = [HEADER, ["T001", "老用户召回活动", "项目型", "中", "李专员", "2026-10-15", "50%", "已完成", ""]]

    plan = plan_task_import(actor=head, department=sales, path=write_xlsx(tmp_path / "u.xlsx", rows))

    assert plan.rows[0].errors == [
        "第2行 当前进度：只有负责人可以汇报进度",
        "第2行 状态：“已完成”只能在任务页面通过验收流程达成（负责人提交关键成果，验收人逐条核对验收标准），不能通过导入设置。",
    ]


def test_someone_who_may_not_see_the_department_cannot_import_into_it(tmp_path, outsider, sales, manager):
    path = write_xlsx(tmp_path / "x.xlsx", [HEADER, ["", "甲", "", "高", "李娜", "2026-10-15"]])

    with pytest.raises(NotFound):
        task_import_apply(actor=outsider, department=sales, path=path)
    assert not Task.objects.exists()


@translation.override("en")  # the messages matched are the English ones, whatever ran before
def test_a_file_over_the_limit_or_a_zip_bomb_is_refused(tmp_path, head, sales, settings):
    import zipfile

    settings.SHEETS_MAX_UPLOAD_BYTES = 1000
    big = write_csv(tmp_path / "big.csv", [HEADER] + [["", "任务" * 20, "", "", "", ""]] * 50)
    with pytest.raises(ValidationFailed, match="limit"):
        plan_task_import(actor=head, department=sales, path=big)

    settings.SHEETS_MAX_UPLOAD_BYTES = 10 * 1024 * 1024
    bomb = tmp_path / "bomb.xlsx"
    with zipfile.ZipFile(bomb, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("xl/worksheets/sheet1.xml", b"<a>" + b" " * (50 * 1024 * 1024) + b"</a>")
    with pytest.raises(ValidationFailed, match="suspicious"):
        plan_task_import(actor=head, department=sales, path=bomb)


@translation.override("en")  # the messages matched are the English ones, whatever ran before
def test_a_file_that_is_not_a_sheet_is_a_clear_error(tmp_path, head, sales):
    xls = tmp_path / "old.xls"
    xls.write_bytes(b"\xd0\xcf\x11\xe0" + b"\x00" * 100)
    with pytest.raises(ValidationFailed, match=".xlsx"):
        plan_task_import(actor=head, department=sales, path=xls)
    broken = tmp_path / "broken.xlsx"
    broken.write_bytes(b"PK\x03\x04garbage")
    with pytest.raises(ValidationFailed, match="readable"):
        plan_task_import(actor=head, department=sales, path=broken)
    no_header = write_csv(tmp_path / "n.csv", [["a", "b"], ["c", "d"]])
    with pytest.raises(ValidationFailed, match="header"):
        plan_task_import(actor=head, department=sales, path=no_header)


def test_the_cli_dry_run_writes_nothing_and_fails_on_errors(tmp_path, head, sales, messy_rows, capsys):
    good = write_xlsx(tmp_path / "good.xlsx", messy_rows[:7])
    call_command("import_tasks", str(good), "--department", "SALES", "--dry-run")
    assert "create 4" in capsys.readouterr().out
    assert not Task.objects.exists()

    bad = write_xlsx(tmp_path / "bad.xlsx", messy_rows)
    with pytest.raises(CommandError):
        call_command("import_tasks", str(bad), "--department", "SALES")
    assert "第8行 负责人：找不到 '王五'" in capsys.readouterr().out
    assert not Task.objects.exists()

    call_command("import_tasks", str(good), "--department", "SALES")
    assert Task.objects.filter(department=sales).count() == 4


def test_ten_thousand_rows_import(tmp_path, head, sales, manager):
    rows = [HEADER] + [
        [
            "",
            f"任务{i:05d}",
            "事务型",
            "高低中"[i % 3],
            "李娜",
            dt.date(2026, 10, 1) + dt.timedelta(days=i % 60),
            (i % 101) / 100,
            "未开始",
            f"备注{i}",
        ]
        for i in range(10_000)
    ]
    path = write_xlsx(tmp_path / "big.xlsx", rows)

    plan = task_import_apply(actor=head, department=sales, path=path)

    assert plan.counts()["create"] == 10_000
    assert Task.objects.filter(department=sales).count() == 10_000
    last = Task.objects.get(department=sales, code="T10000")
    assert (last.title, last.priority, last.progress, last.notes) == (
        "任务09999",
        Priority.HIGH,
        0,
        "备注9999",
    )
    assert Task.objects.get(department=sales, code="T101").progress == 100  # 1.0 is 100%


def _import_queries(tmp_path, head, sales, n):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    rows = [HEADER] + [
        ["", f"任务{i:05d}", "事务型", "高", "李娜", dt.date(2026, 10, 1), 0.5, "进行中", ""]
        for i in range(n)
    ]
    path = write_xlsx(tmp_path / f"q{n}.xlsx", rows)
    with CaptureQueriesContext(connection) as ctx:
        task_import_apply(actor=head, department=sales, path=path)
    return len(ctx.captured_queries)


def test_the_import_runs_a_number_of_queries_bounded_by_batches_not_rows(tmp_path, head, sales, manager):
    from django.db import connection

    from closeloop.tasks.models import TaskEvent

    small = _import_queries(tmp_path, head, sales, 100)
    large = _import_queries(tmp_path, head, sales, 1000)

    def inserts(model, n):  # statements the database needs for n rows (SQLite: 999 parameters)
        fields = [f for f in model._meta.concrete_fields if not f.primary_key]
        return -(-n // min(connection.ops.bulk_batch_size(fields, [None] * n) or n, n))

    # Each row is a task and two events (created, then the sheet's state imported); + one
    # statement per table where the service's own batches cut the database's.
    extra = inserts(Task, 1000) - inserts(Task, 100) + inserts(TaskEvent, 2000) - inserts(TaskEvent, 200) + 2
    assert large <= small + extra
    assert large < 1000 / 10  # far from a query per row


def test_a_nul_byte_in_a_cell_is_a_row_error(tmp_path, head, sales, manager, zh):
    rows = [HEADER, ["", "报表\x00", "项目型", "高", "李娜", "2026-10-15"]]
    path = write_csv(tmp_path / "nul.csv", rows)

    with pytest.raises(ValidationFailed, match="NUL"):
        plan_task_import(actor=head, department=sales, path=path)


# -- 实际开始 (Task.started_at) through an import -------------------------------------------------

LATER = dt.date.today() + dt.timedelta(days=60)


def _list_row(title, owner, status, *, code="", progress="", due=LATER):
    return [code, title, "项目型", "中", owner, due, progress, status, ""]


def test_a_row_imported_as_in_progress_is_started_and_a_reimport_keeps_its_start(
    tmp_path, head, sales, manager
):
    rows = [
        HEADER,
        _list_row("老用户召回活动", "李娜", "进行中", progress="60%"),
        _list_row("客户需求调研", "李娜", "未开始"),
    ]

    task_import_apply(actor=head, department=sales, path=write_xlsx(tmp_path / "清单.xlsx", rows))

    started, waiting = Task.objects.filter(department=sales).order_by("code")
    assert started.status == Status.IN_PROGRESS and started.started_at is not None
    assert waiting.status == Status.NOT_STARTED and waiting.started_at is None
    # The same rows again, now naming the tasks; and the department's export: nothing moves.
    rows = [HEADER, _list_row("老用户召回活动", "李娜", "进行中", code="T001", progress="60%")]
    again = task_import_apply(actor=head, department=sales, path=write_xlsx(tmp_path / "again.xlsx", rows))
    exported = tmp_path / "export.xlsx"
    exported.write_bytes(write_workbook(template_for("task-list"), Scope(user=head, department=sales)).read())
    export = task_import_apply(actor=head, department=sales, path=exported)
    assert [r.action for r in again.rows + export.rows] == ["unchanged"] * 3
    assert Task.objects.get(pk=started.pk).started_at == started.started_at


def test_an_existing_task_an_import_starts_is_started_once(tmp_path, head, sales):
    task = make_task(actor=head, department=sales, owner=head, title="月度销售报表", due=LATER)
    assert task.started_at is None

    def reimport(status: str) -> Task:
        rows = [HEADER, _list_row("月度销售报表", "王总", status, code="T001", progress=0)]
        plan = task_import_apply(actor=head, department=sales, path=write_xlsx(tmp_path / "t.xlsx", rows))
        assert [r.action for r in plan.rows] == ["update"]
        return Task.objects.get(pk=task.pk)

    started = reimport("进行中")
    assert started.status == Status.IN_PROGRESS and started.started_at is not None
    # Blocked and resumed by later imports: still the first start, never the latest.
    assert reimport("阻塞").started_at == started.started_at
    resumed = reimport("进行中")
    assert resumed.status == Status.IN_PROGRESS and resumed.started_at == started.started_at


def test_rows_without_ids_imported_again_are_warned_as_twins_of_the_tasks_they_made(
    tmp_path, head, sales, manager, zh
):
    """A sheet without task IDs imported twice made every row again with no word (a tester's
    find): the second preview names the task each new row repeats (same name, owner and due
    date, still open); a row that differs in any of them is not warned, nor one whose twin
    is closed. The rows are still created if the importer goes on."""
    rows = [
        HEADER,
        _list_row("老用户召回活动", "李娜", "进行中", progress="60%"),
        _list_row("客户需求调研", "李娜", "未开始"),
        _list_row("渠道对账", "李娜", "未开始"),
    ]
    task_import_apply(actor=head, department=sales, path=write_xlsx(tmp_path / "第一次.xlsx", rows))
    recall, survey, billing = Task.objects.filter(department=sales).order_by("code")
    Task.objects.filter(pk=billing.pk).update(status=Status.CANCELLED)
    again = rows[:3] + [
        _list_row("客户需求调研", "李娜", "未开始", due=LATER + dt.timedelta(days=1)),
        rows[3],
    ]

    plan = plan_task_import(actor=head, department=sales, path=write_xlsx(tmp_path / "第二次.xlsx", again))

    assert [r.action for r in plan.rows] == ["create"] * 4
    assert [len(r.warnings) for r in plan.rows] == [1, 1, 0, 0]
    assert plan.rows[0].warnings[0].startswith("第2行 任务名称：") and recall.code in plan.rows[0].warnings[0]
    assert f"请在“任务ID”列填写 {survey.code}" in plan.rows[1].warnings[0]
    applied = task_import_apply(
        actor=head, department=sales, path=write_xlsx(tmp_path / "第三次.xlsx", again)
    )
    assert len(applied.rows) == 4 and Task.objects.filter(department=sales).count() == 7
    # Rows naming their task (the department's export) are updates or unchanged: never warned.
    exported = tmp_path / "export.xlsx"
    exported.write_bytes(write_workbook(template_for("task-list"), Scope(user=head, department=sales)).read())
    plan = plan_task_import(actor=head, department=sales, path=exported)
    assert {r.action for r in plan.rows} == {"unchanged"} and not any(r.warnings for r in plan.rows)
