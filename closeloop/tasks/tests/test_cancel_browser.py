"""A department head cancels a task with subtasks on a 390 px phone, in Chinese: the cancel
panel says how many open subtasks go with it (and that a done one stays) before the head
confirms; after it, the page says what happened and the subtasks are cancelled."""

import pytest

from closeloop.orgs.models import Membership
from closeloop.tasks.models import Task
from closeloop.tasks.services import task_transition
from closeloop.testing.browser import PASSWORD, no_horizontal_scroll, shoot, sign_in
from closeloop.testing.factories import (
    DepartmentFactory,
    UserFactory,
    add_member,
    department_with_head,
    make_task,
)

pytestmark = pytest.mark.browser


def test_the_head_sees_the_count_confirms_and_the_subtasks_are_cancelled(
    browser, live_server, transactional_db
):
    company = DepartmentFactory(code="HQ", name="总公司")
    sales, head = department_with_head(
        "SALES", "销售部", company, username="sales_head", head_name="王总", password=PASSWORD
    )
    manager = UserFactory(username="sales_manager", name="张经理", password=PASSWORD)
    add_member(manager, sales, Membership.Role.MANAGER)
    parent = make_task(actor=head, department=sales, owner=manager, title="老用户召回活动")
    first = make_task(actor=head, department=sales, owner=manager, title="用户画像分析", parent=parent)
    make_task(actor=head, department=sales, owner=manager, title="数据清洗", parent=first)
    make_task(actor=head, department=sales, owner=manager, title="召回策略制定", parent=parent)
    done = make_task(actor=head, department=sales, owner=manager, title="活动页面原型", parent=parent)
    for to, actor in (("in_progress", manager), ("submitted", manager), ("done", head)):
        done = task_transition(actor=actor, task=Task.objects.get(pk=done.pk), to=to)

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, "sales_head")
    page.goto(f"{live_server.url}/tasks/{parent.pk}/")
    page.click(".note-action summary:has-text('取消任务')")
    panel = page.locator(".note-action[open] .alert[role=note]")
    panel.wait_for()
    assert [line for line in panel.inner_text().splitlines() if line.strip()] == [
        "其下 3 个未关闭的子任务（含各级）将随之取消。",
        "1 个子任务已完成，保持不变。",
    ]
    box = panel.bounding_box()
    assert box is not None and box["x"] >= 0 and box["x"] + box["width"] <= 390
    assert no_horizontal_scroll(page)
    shoot(page, "task-cancel-with-subtasks-390.png")

    page.fill("textarea#note-cancelled", "客户取消需求")
    page.click(".note-action[open] form button[type=submit]")
    page.wait_for_selector(".badge.status--cancelled")
    assert "其下 3 个未关闭的子任务已随之取消。" in page.content()
    assert "1 个子任务已完成，保持不变。" in page.content()
    statuses = dict(Task.objects.exclude(pk=parent.pk).values_list("title", "status"))
    assert statuses == {
        "用户画像分析": "cancelled",
        "数据清洗": "cancelled",
        "召回策略制定": "cancelled",
        "活动页面原型": "done",
    }
    assert no_horizontal_scroll(page)
    context.close()
