"""A real Chromium at phone width (390 px): open a shared task, raise an issue in two taps
(open the form, send — the resolver defaults to the owner), see it in the issue log without
a reload, then the resolver resolves it. Screenshots go to test-artifacts/."""

import pytest

from closeloop.collab.models import Issue
from closeloop.orgs.models import Membership
from closeloop.tasks.services import task_collaborator_add
from closeloop.testing.browser import ARTIFACTS, PASSWORD, no_horizontal_scroll, shoot, sign_in
from closeloop.testing.factories import (
    DepartmentFactory,
    UserFactory,
    add_member,
    department_with_head,
    make_task,
)

PHONE = {"width": 390, "height": 844}

pytestmark = pytest.mark.browser


def test_it_raises_and_resolves_an_issue_at_phone_width(browser, live_server, transactional_db):
    ARTIFACTS.mkdir(exist_ok=True)
    company = DepartmentFactory(code="HQ", name="总公司")
    mkt, head = department_with_head(
        "MKT", "市场部", company, username="marketing_head", head_name="陈静", password=PASSWORD
    )
    prod = DepartmentFactory(code="PROD", name="产品部", parent=company)
    owner = UserFactory(username="marketing_specialist", name="刘洋", password=PASSWORD)
    add_member(owner, mkt)
    product = UserFactory(username="product_head", name="杨帆", password=PASSWORD)
    add_member(product, prod, Membership.Role.MANAGER)
    task = make_task(actor=head, department=mkt, owner=owner, title="新功能上线联合推进")
    task_collaborator_add(actor=head, task=task, user=product)

    context = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server.url, "product_head")
    page.goto(live_server.url + task.get_absolute_url())
    # A send with nothing typed: the panel says what is missing, in place.
    page.click("#collab summary:has-text('提出问题')")
    page.click("#collab button[type=submit]")
    page.wait_for_selector("#collab .field-error")
    assert Issue.objects.count() == 0
    page.reload()
    page.click("#collab summary:has-text('提出问题')")  # tap 1
    page.fill("#collab textarea[name=problem]", "市场部提供的用户数据不完整")
    # The people and departments involved: each a box beside its name, under its heading
    # (the list was once wrapped in one more <label>: boxes centred on lines of their own).
    page.click("#collab details.issue-more summary")
    boxes = page.locator("#collab fieldset.checks label")
    shoot(page, "collab-issue-parties-phone.png")
    assert boxes.count() >= 3
    for i in range(boxes.count()):
        box, tick = boxes.nth(i).bounding_box(), boxes.nth(i).locator("input").bounding_box()
        assert (
            box["height"] < 48
            and tick["x"] < box["x"] + 8
            and abs((tick["y"] + tick["height"] / 2) - (box["y"] + box["height"] / 2)) < 4
        ), (i, box, tick)
    legend = page.locator("#collab fieldset.checks legend").first.bounding_box()
    assert legend["y"] < boxes.first.bounding_box()["y"]
    assert page.locator("#collab label label").count() == 0
    page.check("#collab fieldset.checks label:has-text('产品部') input")
    shoot(page, "collab-issue-parties-phone.png")
    page.click("#collab button[type=submit]")  # tap 2
    page.wait_for_selector("#collab .issue-row:has-text('市场部提供的用户数据不完整')")
    assert no_horizontal_scroll(page)
    shoot(page, "collab-issue-raised-phone.png")
    issue = Issue.objects.get()
    assert issue.resolver == owner and issue.raised_by == product
    assert list(issue.party_departments.values_list("code", flat=True)) == ["PROD"]
    context.close()

    context = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server.url, "marketing_specialist")
    assert "市场部提供的用户数据不完整" in page.locator("#my-issues").inner_text()
    page.click("#my-issues a:has-text('市场部提供的用户数据不完整')")
    page.wait_for_url(f"**/issues/{issue.pk}/")
    page.fill("textarea[name=resolution]", "10月12日前补充数据")
    assert no_horizontal_scroll(page)
    page.click("button:has-text('标记为已解决')")
    page.wait_for_url(f"**/issues/{issue.pk}/")
    page.locator(".ladder__step--end").wait_for()
    shoot(page, "collab-issue-resolved-phone.png")
    assert no_horizontal_scroll(page)
    issue.refresh_from_db()
    assert issue.status == "resolved" and issue.resolution == "10月12日前补充数据"
    context.close()


def test_the_issue_list_works_at_phone_width(browser, live_server, transactional_db):
    """/issues/ at 390 px: reached from 我的工作's box, filtered with the form, an overdue and
    an escalated row flagged, nothing wider than the phone."""
    import datetime as dt

    from django.utils import timezone

    from closeloop.collab import services

    ARTIFACTS.mkdir(exist_ok=True)
    company = DepartmentFactory(code="HQ", name="总公司")
    mkt, head = department_with_head(
        "MKT", "市场部", company, username="marketing_head", head_name="陈静", password=PASSWORD
    )
    owner = UserFactory(username="marketing_specialist", name="刘洋", password=PASSWORD)
    add_member(owner, mkt)
    task = make_task(actor=head, department=mkt, owner=owner, title="新功能上线联合推进")
    now = timezone.now()
    late = services.issue_raise(
        actor=owner,
        task=task,
        problem="推广物料的版权授权还没有拿到，需要法务确认后才能投放" * 2,
        resolver=head,
        now=now - dt.timedelta(hours=30),
    )
    Issue.objects.filter(pk=late.pk).update(deadline=now - dt.timedelta(hours=2), level=1)
    services.issue_raise(actor=owner, task=task, problem="上线日期待确认", resolver=head)

    context = browser.new_context(viewport=PHONE, locale="zh-CN", has_touch=True, is_mobile=True)
    page = context.new_page()
    sign_in(page, live_server.url, "marketing_specialist")
    page.click("#my-issues a:has-text('我的全部协作问题')")
    page.wait_for_url("**/issues/")
    rows = page.locator("#issue-list .issue-row")
    assert rows.count() == 2
    assert "逾期" in rows.first.inner_text() and "第 1 级" in rows.first.inner_text()
    assert no_horizontal_scroll(page)
    shoot(page, "collab-issue-list-phone.png")
    page.select_option("#id_show", "resolve")
    page.click("#issue-filters button[type=submit]")
    page.wait_for_url("**/issues/?show=resolve*")
    assert page.locator("#issue-list").count() == 0 and "这里没有问题" in page.inner_text("main")
    page.check("#id_overdue")
    page.select_option("#id_show", "raised")
    page.click("#issue-filters button[type=submit]")
    page.wait_for_url("**overdue=on*")
    assert page.locator("#issue-list .issue-row").count() == 1
    assert no_horizontal_scroll(page)
    # The issue: its deadline and its next escalation, each with what it means.
    page.click("#issue-list .issue-row a")
    page.wait_for_url(f"**/issues/{late.pk}/")
    assert "解决人应在此时间前解决" in page.inner_text("#issue-deadline")
    assert "与解决期限无关" in page.inner_text("#issue-next-escalation")
    assert no_horizontal_scroll(page)
    shoot(page, "collab-issue-overdue-phone.png")
    context.close()
