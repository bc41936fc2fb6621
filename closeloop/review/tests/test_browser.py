"""A real Chromium at phone width (390 px): the owner submits with a file, the head accepts
criterion by criterion (the measured value judged as it is typed)."""

import pytest

from closeloop.orgs.models import Membership
from closeloop.review.models import Submission
from closeloop.tasks.models import Task
from closeloop.tasks.services import CriterionIn, task_transition, task_update
from closeloop.testing.browser import ARTIFACTS, PASSWORD
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task

pytestmark = pytest.mark.browser
PHONE = {"width": 390, "height": 844}


def _login(page, base, username):
    page.goto(base + "/login/")
    page.fill("input[name=username]", username)
    page.fill("input[name=password]", PASSWORD)
    page.locator("form button[type=submit]").first.click()
    page.wait_for_url(base + "/")


def test_it_submits_with_a_file_and_the_head_accepts_criterion_by_criterion(
    browser,
    live_server,
    transactional_db,
    tmp_path,
    settings,
):
    settings.MEDIA_ROOT = str(tmp_path)
    sales = DepartmentFactory(code="SALES", name="销售部")
    head = UserFactory(username="sales_head", name="王总", password=PASSWORD)
    member = UserFactory(username="sales_specialist", name="李专员", password=PASSWORD)
    add_member(head, sales, Membership.Role.MANAGER)
    add_member(member, sales)
    sales.head = head
    sales.save(update_fields=["head"])
    t = make_task(
        actor=head,
        department=sales,
        owner=member,
        title="月度销售报表",
        criteria=[
            CriterionIn(text="数据准确率达标", metric="数据准确率", comparator=">=", threshold=95, unit="%"),
            CriterionIn(text="包含区域对比"),
        ],
    )
    task_update(actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=100)
    report = tmp_path / "报表.pdf"
    report.write_bytes(b"%PDF-1.4\n%%EOF\n")
    ARTIFACTS.mkdir(exist_ok=True)

    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    _login(page, live_server.url, "sales_specialist")
    page.goto(f"{live_server.url}/tasks/{t.pk}/")
    page.locator(f'a[href="/tasks/{t.pk}/submit/"]').first.click()
    page.fill("textarea[name=key_results]", "完成10个区域的月报,准确率97%")
    page.set_input_files("input[name=files]", str(report))
    page.screenshot(path=str(ARTIFACTS / "review-submit-phone.png"), full_page=True)
    page.locator("#submit-form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/tasks/{t.pk}/")
    assert Task.objects.get(pk=t.pk).status == "submitted"
    assert "报表.pdf" in page.content()
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    ctx.close()

    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    _login(page, live_server.url, "sales_head")
    page.goto(f"{live_server.url}/tasks/{t.pk}/review/")
    sub = Submission.objects.get(task=t)
    measured, plain = sub.checks.order_by("position")
    page.fill(f"#measured-{measured.pk}", "97")
    page.wait_for_selector(f"#judge-{measured.pk} .verdict--accepted")
    page.check(f"input[name=passed-{plain.pk}][value='1']")
    page.screenshot(path=str(ARTIFACTS / "review-accept-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.locator("#review-form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/tasks/{t.pk}/")
    assert Task.objects.get(pk=t.pk).status == "done"
    page.screenshot(path=str(ARTIFACTS / "review-task-done-phone.png"), full_page=True)
    ctx.close()


def test_files_chosen_once_survive_the_progress_question_at_phone_width(
    browser, live_server, transactional_db, tmp_path, settings
):
    """The tester's round: a task at 71 %, three files chosen, 提交验收 without ticking the
    box — the form comes back asking, the browser's file input is empty, but the three files
    are listed as kept; ticking the box hands all three in."""
    settings.MEDIA_ROOT = str(tmp_path / "media")
    sales = DepartmentFactory(code="SALES", name="销售部")
    head = UserFactory(username="sales_head", name="王总", password=PASSWORD)
    member = UserFactory(username="sales_specialist", name="张伟", password=PASSWORD)
    add_member(head, sales, Membership.Role.MANAGER)
    add_member(member, sales)
    sales.head = head
    sales.save(update_fields=["head"])
    t = make_task(actor=head, department=sales, owner=member, title="华东区渠道拓展")
    task_update(actor=member, task=task_transition(actor=member, task=t, to="in_progress"), progress=71)
    paths = []
    for name in ("方案.pdf", "数据.pdf", "纪要.pdf"):
        path = tmp_path / name
        path.write_bytes(b"%PDF-1.4\n%%EOF\n")
        paths.append(str(path))
    ARTIFACTS.mkdir(exist_ok=True)

    ctx = browser.new_context(viewport=PHONE, locale="zh-CN")
    page = ctx.new_page()
    _login(page, live_server.url, "sales_specialist")
    page.goto(f"{live_server.url}/tasks/{t.pk}/submit/")
    assert page.locator("#confirm-progress").is_visible()  # asked before posting
    page.fill("textarea[name=key_results]", "完成七成：3 个渠道签约")
    page.set_input_files("input[name=files]", paths)
    page.locator("#submit-form button[type=submit]").click()
    page.wait_for_selector("#kept-files")
    assert page.locator("#kept-files input[name=staged]:checked").count() == 3
    assert page.evaluate("document.querySelector('input[name=files]').files.length") == 0
    page.screenshot(path=str(ARTIFACTS / "review-submit-kept-files-phone.png"), full_page=True)
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth + 1")
    page.check("#confirm-progress")
    page.locator("#submit-form button[type=submit]").click()
    page.wait_for_url(f"{live_server.url}/tasks/{t.pk}/")
    sub = Submission.objects.get(task=t)
    assert sorted(sub.deliverables.values_list("name", flat=True)) == sorted(
        ["方案.pdf", "数据.pdf", "纪要.pdf"]
    )
    ctx.close()
