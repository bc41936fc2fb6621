"""A real Chromium at phone width: a head uploads the department's sheet, reads the preview,
confirms, and finds the tasks in the list. Screenshots go to test-artifacts/."""

import pytest

from closeloop.orgs.models import Membership
from closeloop.sheets.tests.conftest import HEADER, write_xlsx
from closeloop.tasks.models import Task
from closeloop.testing.browser import ARTIFACTS, PASSWORD, sign_in
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member

PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def test_a_head_uploads_previews_and_confirms_a_sheet_on_a_phone(
    browser, live_server, transactional_db, tmp_path, settings
):
    settings.SHEETS_UPLOAD_DIR = str(tmp_path / "uploads")
    ARTIFACTS.mkdir(exist_ok=True)
    sales = DepartmentFactory(code="SALES", name="销售部")
    head = UserFactory(username="sales_head", name="王强", password=PASSWORD)
    add_member(head, sales, Membership.Role.MANAGER)
    sales.head = head
    sales.save(update_fields=["head"])
    add_member(UserFactory(username="sales_manager", name="李娜"), sales, Membership.Role.MANAGER)
    sheet = write_xlsx(
        tmp_path / "销售部任务清单.xlsx",
        [
            ["销售部 2026年10月 日常任务清单"],
            HEADER,
            [
                "T001",
                "老用户召回活动",
                "项目型",
                "高",
                "李娜",
                "2026-10-15",
                "60%",
                "进行中",
                "关联Q3用户活跃度目标",
            ],
            [
                "T002",
                "月度销售报表",
                "事务型",
                "",
                "王强",
                "2026/10/08",
                1,
                "进行中",
                "需包含区域/产品线数据对比",
            ],
            [None] * 9,
            ["合计"],
        ],
        merges=["A1:I1"],
    )

    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    sign_in(page, live_server.url, "sales_head")

    page.goto(live_server.url + "/tasks/")
    page.click("text=从 Excel 导入")
    page.set_input_files("input[name=file]", str(sheet))
    page.click("button:has-text('检查文件')")
    page.wait_for_selector("text=导入预览")
    assert page.locator(".sheet-row--create").count() == 2
    assert "为空，按“中”处理" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "sheets-import-preview-phone.png"), full_page=True)
    assert not Task.objects.exists()

    page.click("button:has-text('确认导入')")
    page.wait_for_url("**/tasks/?department=*")
    assert "已导入：新建 2 个" in page.content()
    page.screenshot(path=str(ARTIFACTS / "sheets-import-done-phone.png"), full_page=True)
    assert sorted(Task.objects.values_list("title", "status", "progress")) == [
        ("月度销售报表", "in_progress", 100),
        ("老用户召回活动", "in_progress", 60),
    ]
    assert list((tmp_path / "uploads").glob("*.upload")) == []


def test_a_preview_with_errors_shows_them_first_in_red_and_folds_the_unchanged_rows_on_a_phone(
    browser, live_server, transactional_db, tmp_path, settings
):
    """A re-imported export of 20 tasks: 13 rows unchanged, 2 changed, 5 with errors among them. At 390 px
    the errors come first with a red badge, a filter (错误 / 变更 / 全部) works without
    reloading, and the unchanged rows are one line with their count."""
    import datetime as dt
    import io

    from openpyxl import load_workbook

    from closeloop.sheets.exporting import Scope, template_for, write_workbook
    from closeloop.testing.factories import make_task

    settings.SHEETS_UPLOAD_DIR = str(tmp_path / "uploads")
    sales = DepartmentFactory(code="SALES", name="销售部")
    head = UserFactory(username="sales_head", name="王强", password=PASSWORD)
    add_member(head, sales, Membership.Role.MANAGER)
    sales.head = head
    sales.save(update_fields=["head"])
    due = dt.date.today() + dt.timedelta(days=30)
    for i in range(20):
        make_task(actor=head, department=sales, title=f"客户回访{i + 1:02d}", due=due)
    wb = load_workbook(
        io.BytesIO(write_workbook(template_for("task-list"), Scope(user=head, department=sales)).read())
    )
    ws = wb.active
    ws["B4"] = "客户回访02（改）"
    ws["B9"] = "客户回访07（改）"
    for row in (6, 11, 13, 15, 17):  # T004, T009, T011, T013, T015
        ws[f"E{row}"] = "王五"
    sheet = tmp_path / "销售部任务清单.xlsx"
    wb.save(sheet)

    page = browser.new_context(viewport=PHONE, locale="zh-CN").new_page()
    sign_in(page, live_server.url, "sales_head")
    page.goto(live_server.url + "/sheets/import/")
    page.set_input_files("input[name=file]", str(sheet))
    page.click("button:has-text('检查文件')")
    page.wait_for_selector("text=导入预览")
    page.screenshot(path=str(ARTIFACTS / "sheets-preview-errors-phone.png"), full_page=True)

    rows = page.locator(".sheet-row")
    visible = [r for r in rows.all() if r.is_visible()]
    assert [r.get_attribute("data-row") for r in visible] == ["6", "11", "13", "15", "17"]
    badge = page.locator(".sheet-counts .badge--error")
    assert page.evaluate("(el) => getComputedStyle(el).color", badge.element_handle()) == "rgb(211, 58, 58)"
    assert "13 行未变化" in page.locator(".sheet-unchanged").inner_text()

    page.click("label[for=sheet-show-changes]")
    shown = [r.get_attribute("data-row") for r in rows.all() if r.is_visible()]
    assert shown == ["4", "9"]
    page.click("label[for=sheet-show-all]")
    shown = [r.get_attribute("data-row") for r in rows.all() if r.is_visible()]
    assert shown == ["6", "11", "13", "15", "17", "4", "9"]
    page.click("label[for=sheet-show-errors]")
    assert page.evaluate("document.documentElement.scrollHeight") < 2600
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.screenshot(path=str(ARTIFACTS / "sheets-preview-errors-phone-after.png"), full_page=True)
