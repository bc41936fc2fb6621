"""A real Chromium walks through the UI: log in, create a task with two acceptance criteria,
find it in the list (and, at 390 px, by a phrase that falls back to its words), open it; screenshots at phone and desktop width go to test-artifacts/."""

import datetime as dt

import pytest
from django.utils import timezone

from closeloop.orgs.models import Membership
from closeloop.testing.browser import ARTIFACTS, DESKTOP, PASSWORD, PHONE, no_horizontal_scroll, shoot
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, department_with_head

pytestmark = pytest.mark.browser


def test_it_creates_finds_and_opens_a_task_in_a_real_browser(browser, live_server, transactional_db):
    ARTIFACTS.mkdir(exist_ok=True)
    company = DepartmentFactory(code="HQ", name="总公司")
    sales, head = department_with_head(
        "SALES", "销售部", company, username="sales_head", head_name="王总", password=PASSWORD
    )
    manager = UserFactory(username="sales_manager", name="张经理", password=PASSWORD)
    add_member(manager, sales, Membership.Role.MANAGER)

    context = browser.new_context(viewport=DESKTOP, locale="zh-CN")
    page = context.new_page()
    page.goto(live_server.url + "/")
    assert "/login/" in page.url
    shoot(page, "login-desktop.png")
    page.fill("input[name=username]", "sales_manager")
    page.fill("input[name=password]", PASSWORD)
    page.check("input[name=remember_me]")
    page.click("button[type=submit]:not(.visually-hidden)")
    page.wait_for_url(live_server.url + "/")
    shoot(page, "my-work-empty-desktop.png")

    # Create a task with two acceptance criteria through the form.
    page.goto(live_server.url + "/tasks/new/")
    # First a mistake: due before start. The page says so at the field and keeps the input.
    page.fill("input[name=title]", "月度销售报表（浏览器）")
    page.fill("input[name=start_date]", (timezone.localdate() + dt.timedelta(days=5)).isoformat())
    page.fill("input[name=due_date]", timezone.localdate().isoformat())
    page.fill("textarea[name=goal]", "汇总本月各区域销售数据，按时发送给区域经理")
    page.fill("textarea[name=expected_outcome]", "月度销售报表，5日前发出")
    page.fill("textarea[name=value]", "支撑月度经营决策")
    page.locator("input[name=c_text]").nth(0).fill("数据准确率达标")
    page.click(".form-actions button[type=submit]")
    page.wait_for_selector("#id_due_date_error")
    assert page.input_value("input[name=title]") == "月度销售报表（浏览器）"
    page.set_viewport_size(PHONE)
    shoot(page, "task-form-errors-phone.png")
    page.set_viewport_size(DESKTOP)
    page.fill("input[name=start_date]", "")
    due = (timezone.localdate() + dt.timedelta(days=3)).isoformat()
    page.fill("input[name=title]", "月度销售报表（浏览器）")
    page.fill("textarea[name=goal]", "汇总本月各区域销售数据，按时发送给区域经理")
    page.fill("textarea[name=expected_outcome]", "月度销售报表，5日前发出")
    page.fill("textarea[name=value]", "支撑月度经营决策")
    page.select_option("select[name=priority]", "1")
    page.fill("input[name=due_date]", due)
    page.fill("input[name=customer]", "A客户")
    texts = page.locator("input[name=c_text]")
    assert texts.count() >= 3
    assert texts.nth(0).input_value() == "数据准确率达标"
    page.locator("input[name=c_metric]").nth(0).fill("数据准确率")
    page.locator("select[name=c_comparator]").nth(0).select_option(">=")
    page.locator("input[name=c_threshold]").nth(0).fill("95")
    page.locator("input[name=c_unit]").nth(0).fill("%")
    texts.nth(1).fill("每月5日前发送给所有区域经理")
    # htmx adds a fourth row without reloading the form.
    page.click("button[name=add_criterion]")
    page.locator("input[name=c_text]").nth(3).wait_for()  # (wait_for_function would need eval: CSP)
    assert page.input_value("input[name=title]") == "月度销售报表（浏览器）"
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    shoot(page, "task-form-phone.png")
    page.set_viewport_size(DESKTOP)
    shoot(page, "task-form-desktop.png")
    page.click(".form-actions button[type=submit]")
    page.wait_for_url("**/tasks/*/")
    assert page.locator("h1").inner_text() == "月度销售报表（浏览器）"
    assert page.locator(".criteria li").count() == 2

    # Find it in the list with the text filter (htmx swaps the table), then open it.
    page.goto(live_server.url + "/tasks/")
    page.fill("input[name=q]", "浏览器")
    page.wait_for_url("**/tasks/?*q=*")
    link = page.locator("#task-table a", has_text="月度销售报表（浏览器）")
    link.wait_for()
    shoot(page, "task-list-desktop.png")
    page.set_viewport_size(PHONE)
    assert no_horizontal_scroll(page)
    shoot(page, "task-list-phone.png")
    # At 390 px (a common phone inside WeCom): a phrase no title holds as written falls back
    # to its words (月度 报表 浏览 览器), and the swapped table says so above the rows, as 知识库.
    page.set_viewport_size({"width": 390, "height": 844})
    page.fill("input[name=q]", "月度报表浏览器")
    notice = page.locator("#task-table p.alert[role=status]")
    notice.wait_for()
    assert notice.inner_text() == "没有任务原样包含“月度报表浏览器”；以下任务包含其中的每个词。"
    assert link.is_visible()
    box = notice.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert no_horizontal_scroll(page)
    shoot(page, "task-list-fallback-390.png")
    page.fill("input[name=q]", "浏览器")  # the phrase itself: no notice
    notice.wait_for(state="detached")
    link.wait_for()
    page.set_viewport_size(PHONE)
    link.click()
    page.wait_for_url("**/tasks/*/")
    assert "SALES-T001" in page.content()

    # Start it, then block it with a note: the activity log tells the story.
    # The person's UI is Chinese (the default): the buttons read 开始 / 标记阻塞.
    page.click("form button:has-text('开始')")
    page.wait_for_selector(".badge.status--in_progress")
    page.click(".note-action summary:has-text('标记阻塞')")
    page.fill("textarea#note-blocked", "等待技术部提供数据接口")
    page.click(".note-action form button[type=submit]")
    page.wait_for_selector(".badge.status--blocked")
    assert "等待技术部提供数据接口" in page.locator("#activity").inner_text()

    shoot(page, "task-detail-phone.png")
    assert no_horizontal_scroll(page)
    page.set_viewport_size(DESKTOP)
    shoot(page, "task-detail-desktop.png")

    # The phone menu opens without JavaScript trickery and names every view.
    page.set_viewport_size(PHONE)
    page.click(".nav-mobile summary")
    assert page.locator(".nav-mobile a").count() == 9
    shoot(page, "nav-menu-phone.png")
    page.goto(live_server.url + "/")
    assert no_horizontal_scroll(page)
    shoot(page, "my-work-phone.png")
    page.set_viewport_size(DESKTOP)
    shoot(page, "my-work-desktop.png")
    context.close()
