"""A real Chromium on the task page's forms that load when opened (issue 16, item 2): at
phone width, opening "Add a subtask" brings its form in place and it adds the subtask; with
JavaScript off, the panel's link opens the page with the form, which works the same."""

import datetime as dt

import pytest
from django.utils import timezone

from closeloop.orgs.models import Membership
from closeloop.tasks.models import Task
from closeloop.testing.browser import PASSWORD, PHONE, no_horizontal_scroll, sign_in
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task

pytestmark = pytest.mark.browser


def _login(page, url):
    sign_in(page, url, "sales_head")


def test_the_subtask_form_loads_when_opened_with_and_without_javascript(
    browser, live_server, transactional_db
):
    company = DepartmentFactory(code="HQ", name="总公司")
    sales = DepartmentFactory(code="SALES", name="销售部", parent=company)
    head = UserFactory(username="sales_head", name="王总", password=PASSWORD, language="en")
    add_member(head, sales, Membership.Role.MANAGER)
    sales.head = head
    sales.save(update_fields=["head"])
    today = timezone.localdate()
    task = make_task(
        actor=head, department=sales, owner=head, title="老用户召回活动", due=today + dt.timedelta(10)
    )
    due = (today + dt.timedelta(days=5)).isoformat()

    context = browser.new_context(viewport=PHONE, locale="en-US", has_touch=True, is_mobile=True)
    page = context.new_page()
    _login(page, live_server.url)
    page.goto(live_server.url + task.get_absolute_url())
    assert page.locator("#subtask_title").count() == 0  # not built until opened
    page.click("#plan summary:has-text('Add a subtask')")
    page.fill("#subtask_title", "用户画像分析")
    page.fill("#subtask_due_date", due)
    page.click("#plan button:has-text('Add subtask')")
    page.wait_for_selector("#plan .plan-tree__row:has-text('用户画像分析')")
    assert no_horizontal_scroll(page)
    context.close()

    context = browser.new_context(viewport=PHONE, locale="en-US", java_script_enabled=False)
    page = context.new_page()
    _login(page, live_server.url)
    page.goto(live_server.url + task.get_absolute_url())
    page.click("#plan summary:has-text('Add a milestone')")
    page.click("#plan details[open] a:has-text('Add a milestone')")
    page.fill("#plan input[name=title]", "方案评审")
    page.fill("#plan input[name=date]", due)
    page.click("#plan button:has-text('Add milestone')")
    page.wait_for_selector("#plan li:has-text('方案评审')")
    context.close()
    assert Task.objects.filter(parent=task, title="用户画像分析").exists()
