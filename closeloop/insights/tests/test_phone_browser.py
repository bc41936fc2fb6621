"""仪表盘 in a real Chromium at phone width (390 px), in English and Chinese: a delay warning
raised late carries its "Raised late" flag on one line inside its border (the English words
wrapped inside the flag's fixed height). Screenshots go to test-artifacts/."""

import datetime as dt

import pytest

from closeloop.orgs.models import User
from closeloop.tasks.models import Task
from closeloop.tasks.services import task_transition
from closeloop.testing.browser import ARTIFACTS, PASSWORD, no_horizontal_scroll, sign_in
from closeloop.testing.factories import (
    DepartmentFactory,
    UserFactory,
    add_member,
    department_with_head,
    make_task,
)
from closeloop.tracking.services import delay_warning_raise

pytestmark = pytest.mark.browser

PHONE = {"width": 390, "height": 844}


def test_the_raised_late_flag_stays_on_one_line_at_phone_width(browser, live_server, transactional_db):
    ARTIFACTS.mkdir(exist_ok=True)
    company = DepartmentFactory(code="HQ", name="总公司")
    sales, head = department_with_head(
        "SALES", "销售部", company, username="sales_head", head_name="王总", password=PASSWORD
    )
    member = UserFactory(username="sales_specialist", name="李专员", password=PASSWORD)
    add_member(member, sales)
    today = sales.local_today()
    task = make_task(actor=head, department=sales, owner=member, title="华东区重点客户季度回访与续约方案准备")
    task_transition(actor=member, task=task, to="in_progress")
    Task.objects.filter(pk=task.pk).update(due_date=today - dt.timedelta(days=1))
    delay_warning_raise(
        actor=member,
        task=Task.objects.get(pk=task.pk),
        reason="resources",
        explanation="客户推迟会议",
        new_due_date=today + dt.timedelta(days=5),
    )
    for lang, label in (("en", "Raised late"), ("zh-hans", "预警过晚")):
        User.objects.filter(pk=head.pk).update(language=lang)
        context = browser.new_context(viewport=PHONE)
        page = context.new_page()
        sign_in(page, live_server.url, "sales_head")
        page.goto(f"{live_server.url}/dashboard/")
        flag = page.locator(".flag--late").first
        flag.wait_for()
        assert flag.inner_text().strip() == label
        box = flag.bounding_box()
        # One line, and the words inside the border: no wrap, nothing spills over.
        assert box["height"] <= 24, (lang, box)
        assert flag.evaluate("el => el.scrollWidth <= el.clientWidth && el.scrollHeight <= el.clientHeight")
        row = flag.locator("xpath=..").bounding_box()
        assert box["x"] + box["width"] <= row["x"] + row["width"] + 0.5  # within its row
        assert no_horizontal_scroll(page)
        flag.locator("xpath=ancestor::*[contains(@class,'card')][1]").screenshot(
            path=str(ARTIFACTS / f"dashboard-raised-late-{lang}-phone.png")
        )
        context.close()
