"""工作量 at phone width for a head: the two 外部门 columns are there and scroll inside the
table, not the page. Screenshot: test-artifacts/collab-workload-390.png."""

import pytest

from closeloop.collab import services
from closeloop.orgs.models import Membership
from closeloop.tasks.services import task_collaborator_add
from closeloop.testing.browser import ARTIFACTS, PASSWORD, sign_in
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member, make_task

pytestmark = pytest.mark.browser


def test_a_head_reads_the_cross_department_load_on_a_phone(browser, live_server, transactional_db):
    ARTIFACTS.mkdir(exist_ok=True)
    company = DepartmentFactory(code="HQ", name="总公司")
    sales = DepartmentFactory(code="SALES", name="销售部", parent=company)
    mkt = DepartmentFactory(code="MKT", name="市场部", parent=company)
    head = UserFactory(username="sales_head", name="王总", password=PASSWORD)
    add_member(head, sales, Membership.Role.MANAGER)
    sales.head = head
    sales.save(update_fields=["head"])
    member = UserFactory(username="sales_specialist", name="李专员")
    add_member(member, sales, Membership.Role.SPECIALIST)
    mkt_owner = UserFactory(username="mkt", name="赵市场")
    add_member(mkt_owner, mkt, Membership.Role.SPECIALIST)
    launch = make_task(actor=mkt_owner, department=mkt, owner=mkt_owner, title="新品发布")
    task_collaborator_add(actor=mkt_owner, task=launch, user=member)
    services.issue_raise(actor=mkt_owner, task=launch, problem="用户数据不完整", resolver=member)

    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    try:
        sign_in(page, live_server.url, "sales_head")
        page.goto(live_server.url + f"/workload/?department={sales.pk}")
        header = page.locator("table.workload th", has_text="外部门任务")
        assert header.count() == 1
        row = page.locator("table.workload tr", has_text="李专员")
        assert row.locator("td.workload-extra").all_inner_texts() == ["1", "1"]
        assert page.evaluate("document.documentElement.scrollWidth") <= 390
        header.scroll_into_view_if_needed()
        page.screenshot(path=str(ARTIFACTS / "collab-workload-390.png"), full_page=True)
    finally:
        context.close()
