"""A tester's findings on the collaboration pages: a head's 与我有关 was empty while their
department's issue was open (only under ?show=departments) and the empty text claimed
otherwise; 我的工作's 协作问题 said "0" beside "1 issue escalated to you"; the minutes form
called its subject 任务名称, left 日期 empty and showed an action item's error without the
banner; a refused resolve or withdraw left the address bar on the action's URL."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.collab import jobs, services
from closeloop.collab.models import Issue, IssueStatus, Minutes
from closeloop.orgs.models import User
from closeloop.testing.browser import PASSWORD, shoot, sign_in
from closeloop.testing.clients import english_client
from closeloop.testing.factories import UserFactory, add_member, department_with_head, make_task

pytestmark = pytest.mark.django_db


def chinese_client(user) -> Client:
    User.objects.filter(pk=user.pk).update(language="zh-hans")  # as `english_client` sets "en"
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


def test_a_heads_default_list_has_the_issues_of_their_departments(member, outsider, shared, head):
    services.issue_raise(actor=member, task=shared, problem="需要市场部补数据", resolver=outsider)

    assert "需要市场部补数据" in chinese_client(head).get("/issues/").content.decode()
    # The marketing specialist resolves it; a sales colleague who is not on it does not see it
    # under 与我有关, and the empty text says what the tab holds and links the departments view.
    other = UserFactory(username="sales_other", name="旁观者")
    add_member(other, shared.department)
    html = chinese_client(other).get("/issues/").content.decode()
    assert "需要市场部补数据" not in html
    assert "你负责的部门的问题也在这里" in html and 'href="/issues/?show=departments"' in html
    assert "需要市场部补数据" in chinese_client(other).get("/issues/?show=departments").content.decode()
    html = english_client(other).get("/issues/").content.decode()
    assert "those of the departments you lead" in html


def test_the_home_card_counts_the_issues_escalated_to_me(member, outsider, shared, head, ceo):
    raised = timezone.now() - dt.timedelta(hours=25)
    services.issue_raise(actor=outsider, task=shared, problem="用户数据不完整", resolver=member, now=raised)
    jobs.escalate_issues(timezone.now())

    home = chinese_client(head).get("/").content.decode()
    card = home.split('id="my-issues"', 1)[1].split("</section>", 1)[0]
    assert '<span class="count">1</span>' in card and "1 个升级给你的问题" in card


def test_the_minutes_form_names_the_subject_and_dates_today_in_the_department(shared, member, monkeypatch):
    # 23:30 UTC is already tomorrow in Shanghai, the department's time zone.
    now = dt.datetime(2026, 12, 2, 23, 30, tzinfo=dt.UTC)
    monkeypatch.setattr(timezone, "now", lambda: now)
    url = f"/tasks/{shared.pk}/minutes/new/"

    zh = chinese_client(member).get(url).content.decode()
    en = english_client(member).get(url).content.decode()

    assert re.search(r'<label for="id_title"[^>]*>\s*会议主题', zh) and "任务名称" not in zh
    assert re.search(r'<label for="id_title"[^>]*>\s*Meeting subject', en)
    assert 'name="held_on" value="2026-12-03"' in zh


def test_an_action_items_error_shows_the_banner_too(shared, member, outsider):
    n = Minutes.objects.count()
    data = {"title": "周会", "held_on": "2026-12-01", "attendees": [member.pk], "ai-1-title": "补数据"}
    for client, banner in (
        (english_client, "Nothing was saved. Please correct the marked fields."),
        (chinese_client, "未保存任何内容"),
    ):
        c = client(member)
        response = c.post(f"/tasks/{shared.pk}/minutes/new/", {**data, "ai-1-due": "2026-13-40"})
        assert response.status_code == 422
        html = response.content.decode()
        assert 'class="alert alert--error"' in html and banner in html
    assert Minutes.objects.count() == n


@pytest.mark.parametrize("action", ["resolve", "withdraw"])
def test_a_refused_action_from_htmx_swaps_the_card_in_place(shared, member, outsider, action):
    issue = services.issue_raise(actor=outsider, task=shared, problem="数据不完整", resolver=member)
    actor = member if action == "resolve" else outsider
    url = f"/issues/{issue.pk}/{action}/"
    c = english_client(actor)

    refused = c.post(url, {"resolution": " ", "reason": "x" * 3000}, HTTP_HX_REQUEST="true")
    plain = c.post(url, {"resolution": " ", "reason": "x" * 3000})

    # htmx swaps 2xx only: the card comes back with the error, the address stays the issue's.
    assert refused.status_code == 200 and 'id="issue-actions"' in refused.content.decode()
    assert 'class="field-error"' in refused.content.decode() or "alert--error" in refused.content.decode()
    assert plain.status_code == 422
    assert Issue.objects.get(pk=issue.pk).status == IssueStatus.OPEN
    html = c.get(issue.get_absolute_url()).content.decode()
    assert f'hx-post="/issues/{issue.pk}/{action}/"' in html and 'hx-target="#issue-actions"' in html

    done = c.post(url, {"resolution": "已补齐", "reason": "重复"}, HTTP_HX_REQUEST="true")
    assert done["HX-Redirect"] == issue.get_absolute_url()
    assert Issue.objects.get(pk=issue.pk).status != IssueStatus.OPEN


@pytest.mark.browser
def test_an_empty_resolve_stays_on_the_issues_address(browser, live_server, transactional_db):
    from closeloop.orgs.models import Department

    company = Department.objects.create(code="HQ", name="总公司")
    sales, head = department_with_head(
        "SALES", "销售部", company, username="sales_head", head_name="王强", password=PASSWORD
    )
    member = UserFactory(username="sales_specialist", name="张伟", password=PASSWORD)
    add_member(member, sales)
    task = make_task(actor=head, department=sales, owner=member, title="老用户召回活动")
    issue = services.issue_raise(actor=head, task=task, problem="需要补充渠道数据", resolver=member)
    context = browser.new_context(viewport={"width": 390, "height": 844}, locale="zh-CN")
    page = context.new_page()
    sign_in(page, live_server.url, "sales_specialist")
    page.goto(live_server.url + issue.get_absolute_url())

    page.click("#issue-actions form button[type=submit]")
    page.locator("#issue-actions .field-error").first.wait_for()

    assert page.url == live_server.url + issue.get_absolute_url()
    shoot(page, "collab-issue-refused-390.png")
    page.fill("#issue-actions textarea[name=resolution]", "已补齐渠道数据")
    page.click("#issue-actions form button[type=submit]")
    page.wait_for_url(live_server.url + issue.get_absolute_url())
    page.locator(".alert, .messages").first.wait_for()
    assert Issue.objects.get(pk=issue.pk).status == IssueStatus.RESOLVED
    context.close()
