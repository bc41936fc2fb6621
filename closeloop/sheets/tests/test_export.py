"""Export of the handbook's templates: what the sheet looks like, who gets which rows, and
the web, API and CLI ways to get it."""

import datetime as dt
import io
import re
import zipfile

import pytest
from django.core.management import call_command
from django.test import Client
from openpyxl import load_workbook

from closeloop.orgs.models import User
from closeloop.sheets.exporting import Scope, template_for, write_workbook
from closeloop.sheets.tests.conftest import read_rows
from closeloop.tasks.models import Task
from closeloop.tasks.services import task_transition
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task


@pytest.fixture
def tasks(head, member, sales):
    t1 = make_task(
        actor=head, department=sales, owner=member, title="老用户召回活动", due=dt.date(2026, 10, 15)
    )
    task_transition(actor=member, task=t1, to="in_progress")
    t2 = make_task(
        actor=head, department=sales, owner=head, title='=HYPERLINK("http://evil")', due=dt.date(2026, 10, 8)
    )
    return t1, t2


def test_the_task_list_has_the_handbooks_header_title_row_and_typed_cells(head, sales, tasks):
    data = write_workbook(template_for("task-list"), Scope(user=head, department=sales)).read()

    wb = load_workbook(io.BytesIO(data))
    ws = wb.active
    assert ws.title == "日常任务清单表"
    assert ws["A1"].value.startswith("销售部 日常任务清单表")
    assert [c.value for c in ws[2]][:9] == [
        "任务ID",
        "任务名称",
        "任务类型",
        "优先级",
        "负责人",
        "截止日期",
        "当前进度",
        "状态",
        "备注(如关联项目/客户)",
    ]
    assert ws.freeze_panes == "A3"
    assert ws["F3"].value == dt.datetime(2026, 10, 15) and ws["F3"].number_format == "yyyy-mm-dd"
    assert ws["G3"].number_format == "0%"
    assert [c.value for c in ws[3]][:5] == ["T001", "老用户召回活动", "项目型", "中", "李专员"]
    assert ws["H3"].value == "进行中"
    lists = {str(dv.sqref)[0]: dv.formula1 for dv in ws.data_validations.dataValidation}
    assert lists == {
        "C": '"项目型,事务型,协作型"',
        "D": '"高,中,低"',
        "H": '"未开始,进行中,阻塞,待验收,已完成,返工,已取消"',
    }
    assert ws.column_dimensions["B"].width > 20
    # After the handbook's nine, a hidden column: the version each task had when exported.
    assert ws["J2"].value.startswith("数据版本") and ws.column_dimensions["J"].hidden
    assert ws["J3"].value == Task.objects.get(code="T001").version


def test_a_cell_that_starts_like_a_formula_is_written_as_text(head, sales, tasks):
    data = write_workbook(template_for("task-list"), Scope(user=head, department=sales)).read()

    xml = zipfile.ZipFile(io.BytesIO(data)).read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in xml
    cell = re.search(r'<c r="B4"[^>]*>', xml).group(0)
    assert 't="inlineStr"' in cell
    ws = load_workbook(io.BytesIO(data)).active
    assert ws["B4"].value == '=HYPERLINK("http://evil")'
    assert ws["B4"].data_type == "s" and ws["B4"].quotePrefix


def test_someone_who_may_not_see_the_department_gets_none_of_its_tasks(outsider, sales, tasks):
    data = write_workbook(template_for("task-list"), Scope(user=outsider, department=sales)).read()

    assert len(read_rows(data)) == 2  # title and header only


def test_the_progress_sheet_lists_subtasks_milestones_and_the_latest_update(head, member, sales, tasks):
    from closeloop.planning.services.decomposition import milestone_add

    t1 = tasks[0]
    make_task(
        actor=head, department=sales, owner=member, title="用户画像分析", parent=t1, due=dt.date(2026, 10, 10)
    )
    milestone_add(actor=head, task=t1, title="方案评审", date_=dt.date(2026, 10, 9))

    rows = read_rows(write_workbook(template_for("progress"), Scope(user=head, task=t1)).read())

    assert rows[1][:4] == ("任务ID", "任务名称", "上级任务", "负责人")
    assert [r[0] for r in rows[2:]] == ["T001", "T001-1"]
    assert rows[2][9:11] == ("方案评审", dt.datetime(2026, 10, 9))
    assert rows[3][2] == "T001"


def test_collaboration_and_retrospective_say_what_they_wait_for(head):
    from django.apps import apps

    from closeloop.core.errors import ValidationFailed

    for key, app in (("collaboration", "collab"), ("retrospective", "review")):
        if apps.is_installed(f"closeloop.{app}"):
            assert template_for(key).key == key
        else:
            with pytest.raises(ValidationFailed, match=app):
                template_for(key)


def test_the_task_list_page_exports_with_its_filters(head, sales, tasks):
    c = english_client(head)

    response = c.get(f"/sheets/export/task-list.xlsx?department={sales.pk}&priority=2&q=老用户")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment")
    rows = read_rows(b"".join(response.streaming_content))
    assert [r[0] for r in rows[2:]] == ["T001"]
    page = c.get("/tasks/").content.decode()
    assert "/sheets/export/task-list.xlsx" in page


def test_the_task_list_links_every_export_it_can_make(head, sales, tasks):
    page = english_client(head).get(f"/tasks/?department={sales.pk}").content.decode()

    for template in ("task-list", "collaboration", "retrospective"):
        assert f"/sheets/export/{template}.xlsx?department={sales.pk}" in page
    # The handbook's names, glossed in English (a tester read "Export 跨部门协作任务表" as
    # half-translated); the name alone in Chinese.
    for name in (
        "日常任务清单表 (daily task list)",
        "跨部门协作任务表 (cross-department collaboration sheet)",
        "任务复盘总结表 (retrospective summary)",
    ):
        assert f"Export {name}</a>" in page
    zh = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    zh.force_login(head)
    User.objects.filter(pk=head.pk).update(language="zh-hans")
    page = zh.get(f"/tasks/?department={sales.pk}").content.decode()
    assert "导出日常任务清单表</a>" in page and "导出跨部门协作任务表</a>" in page and "(daily" not in page
    panel = english_client(head).get(f"/tasks/{tasks[0].pk}/").content.decode()
    assert "Export 任务进度跟踪表 (progress tracking sheet)</a>" in panel


@pytest.mark.parametrize("value", ["abc", "99999"])
def test_an_unknown_department_is_named_not_replaced_by_all(head, sales, tasks, value):
    for template in ("task-list", "collaboration", "retrospective"):
        response = english_client(head).get(f"/sheets/export/{template}.xlsx?department={value}")

        assert response.status_code == 400
        assert f"?department={value} is not a department you can see" in response.content.decode()


def test_the_task_page_exports_its_progress_sheet_and_hides_it_from_outsiders(head, outsider, tasks):
    t1 = tasks[0]
    assert english_client(head).get(f"/sheets/export/progress.xlsx?task={t1.pk}").status_code == 200
    assert english_client(outsider).get(f"/sheets/export/progress.xlsx?task={t1.pk}").status_code == 404
    assert (
        f"/sheets/export/progress.xlsx?task={t1.pk}"
        in english_client(head).get(f"/tasks/{t1.pk}/").content.decode()
    )


def test_the_api_exports_a_template(head, outsider, sales, tasks):
    from closeloop.orgs.services import api_token_create

    _, raw = api_token_create(actor=head, name="t")
    response = english_client(head).get(
        "/api/v1/exports/task-list?department=SALES", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 200
    assert len(read_rows(b"".join(response.streaming_content))) == 4

    _, raw = api_token_create(actor=outsider, name="t")
    response = english_client(outsider).get(
        "/api/v1/exports/task-list?department=SALES", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert len(read_rows(b"".join(response.streaming_content))) == 2
    response = english_client(outsider).get(
        "/api/v1/exports/nope?department=SALES", HTTP_AUTHORIZATION=f"Bearer {raw}"
    )
    assert response.status_code == 422 and response.json()["code"] == "validation_error"


def test_the_cli_exports(tmp_path, head, sales, tasks):
    out = tmp_path / "sales.xlsx"
    call_command("export_sheet", "task-list", "--department", "SALES", "-o", str(out))
    assert len(read_rows(out.read_bytes())) == 4
    call_command("export_sheet", "progress", "--department", "SALES", "-o", str(out))
    assert read_rows(out.read_bytes())[1][0] == "任务ID"


def test_the_export_runs_the_same_queries_for_3_or_30_tasks(head, member, sales):
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            write_workbook(template_for("progress"), Scope(user=head, department=sales)).close()
        return len(ctx.captured_queries)

    for i in range(3):
        make_task(actor=head, department=sales, owner=member, title=f"任务{i}", due=dt.date(2026, 10, 15))
    few = count()
    for i in range(27):
        make_task(actor=head, department=sales, owner=member, title=f"任务{i}", due=dt.date(2026, 10, 15))
    assert count() == few
