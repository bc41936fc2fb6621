"""A real Chromium on the board: a drag the status machine refuses snaps back with the reason,
an allowed one sticks; on a phone the "move to" menu does the same. Screenshots of the board,
timeline, workload and calendar at 375 and 1440 px go to test-artifacts/."""

import datetime as dt

import pytest
from django.utils import timezone

from closeloop.orgs.models import Membership
from closeloop.planning.services import decomposition as decomposition_services
from closeloop.tasks.models import Task
from closeloop.tasks.states import Status
from closeloop.testing.browser import ARTIFACTS, DESKTOP, PASSWORD, PHONE, no_horizontal_scroll, sign_in
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task

pytestmark = pytest.mark.browser


def _login(chromium, live_server, username, viewport):
    context = chromium.new_context(viewport=viewport, locale="en-US")
    page = context.new_page()
    sign_in(page, live_server.url, username)
    return context, page


def test_a_refused_drag_snaps_back_with_the_reason(browser, live_server, transactional_db):
    ARTIFACTS.mkdir(exist_ok=True)
    company = DepartmentFactory(code="HQ", name="总公司")
    sales = DepartmentFactory(code="SALES", name="销售部", parent=company)
    head = UserFactory(username="sales_head", name="王总", password=PASSWORD, language="en")
    add_member(head, sales, Membership.Role.MANAGER)
    sales.head = head
    sales.save(update_fields=["head"])
    member = UserFactory(username="sales_specialist", name="李专员", password=PASSWORD, language="en")
    add_member(member, sales, Membership.Role.SPECIALIST)
    today = timezone.localdate()
    task = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="老用户召回活动",
        due=today + dt.timedelta(days=10),
        start_date=today,
    )
    for i, title in enumerate(["用户画像分析", "召回策略制定", "活动页面原型设计", "文案撰写"]):
        decomposition_services.subtask_add(
            actor=head,
            parent=task,
            title=title,
            owner=member,
            start_date=today + dt.timedelta(days=i),
            due_date=today + dt.timedelta(days=i + 2),
        )
    decomposition_services.milestone_add(
        actor=head, task=task, title="方案评审", date_=today + dt.timedelta(days=3)
    )

    context, page = _login(browser, live_server, "sales_specialist", DESKTOP)
    page.goto(live_server.url + "/board/")
    card = page.locator(f"#card-{task.pk}")
    assert card.locator("xpath=ancestor::section[1]").get_attribute("data-status") == "not_started"
    # Not started → Done is not in the status machine: the card comes back, the reason shows.
    page.drag_and_drop(f"#card-{task.pk}", '.board-col[data-status="done"]')
    page.wait_for_selector(".board-error:not([hidden])")
    assert "cannot become" in page.inner_text(".board-error")
    assert card.locator("xpath=ancestor::section[1]").get_attribute("data-status") == "not_started"
    assert Task.objects.get(pk=task.pk).status == Status.NOT_STARTED
    page.screenshot(path=str(ARTIFACTS / "board-refused-desktop.png"), full_page=True)
    # Not started → In progress is the owner's move: it sticks.
    page.drag_and_drop(f"#card-{task.pk}", '.board-col[data-status="in_progress"]')
    # A locator, not wait_for_function: that evaluates strings, which the CSP forbids.
    page.locator(f'.board-col[data-status="in_progress"] #card-{task.pk}').wait_for()
    page.wait_for_timeout(300)
    assert Task.objects.get(pk=task.pk).status == Status.IN_PROGRESS
    page.reload()
    assert page.locator(f'.board-col[data-status="in_progress"] #card-{task.pk}').count() == 1
    for path, name in (
        (f"/timeline/?task={task.pk}", "timeline"),
        ("/workload/", "workload"),
        ("/calendar/", "calendar"),
        (f"/tasks/{task.pk}/", "task-plan"),
    ):
        page.goto(live_server.url + path)
        page.screenshot(path=str(ARTIFACTS / f"{name}-desktop.png"), full_page=True)
    context.close()

    # On a phone: the "move to" menu, same rules. The head may not submit the member's task.
    context, page = _login(browser, live_server, "sales_head", PHONE)
    page.goto(live_server.url + "/board/")
    assert no_horizontal_scroll(page)
    sub = Task.objects.get(parent=task, title="用户画像分析")
    page.locator(f"#card-{sub.pk} .board-card__move summary").click()
    page.screenshot(path=str(ARTIFACTS / "board-move-menu-phone.png"), full_page=True)
    page.locator(f"#card-{sub.pk} form.board-move select").select_option("cancelled")
    page.locator(f"#card-{sub.pk} form.board-move input[name=note]").fill("合并到策略制定")
    page.locator(f"#card-{sub.pk} form.board-move button").click()
    page.wait_for_timeout(500)
    assert Task.objects.get(pk=sub.pk).status == Status.CANCELLED
    for path, name in (
        (f"/timeline/?task={task.pk}", "timeline"),
        ("/workload/", "workload"),
        ("/calendar/", "calendar"),
        (f"/tasks/{task.pk}/", "task-plan"),
    ):
        page.goto(live_server.url + path)
        assert no_horizontal_scroll(page), path
        page.screenshot(path=str(ARTIFACTS / f"{name}-phone.png"), full_page=True)
    context.close()
