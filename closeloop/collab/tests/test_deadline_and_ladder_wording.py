"""An issue's deadline (解决期限, by when its resolver should resolve it) and its escalation
ladder (the handbook's 24 hours from when it was raised, whatever the deadline) are two
different clocks: the raise form and the issue page say so. An open issue past its deadline
is flagged overdue, as tasks are, on its page, in the task's issue log and in /issues/. The
Chinese UI names levels 第 1 级 / 第 2 级 everywhere, never "L1"; the English one says to
which level and whom ("Escalated to level 1 (department head)"), and so do the messages."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.collab import jobs, services
from closeloop.collab.models import CollabSettings, Issue
from closeloop.notify.models import Notification
from closeloop.orgs.models import User
from closeloop.testing.clients import english_client

pytestmark = pytest.mark.django_db


def chinese_client(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


def _section(html: str, marker: str) -> str:
    return html.split(marker, 1)[1].split("</section>", 1)[0]


def test_the_raise_form_says_the_ladder_runs_whatever_the_deadline(member, shared, sales):
    form = chinese_client(member).get(f"/tasks/{shared.pk}/issues/new/").content.decode()
    assert "无论期限如何，提出后 24 小时仍未解决将升级给部门负责人。" in form
    # The department's own settings.
    CollabSettings.objects.create(department=sales, first_after_hours=8)
    form = chinese_client(member).get(f"/tasks/{shared.pk}/issues/new/").content.decode()
    assert "提出后 8 小时仍未解决将升级给部门负责人" in form


def test_the_issue_page_shows_the_deadline_and_the_next_escalation_with_their_meanings(
    member, outsider, head, shared
):
    now = timezone.now()
    deadline = now + dt.timedelta(days=5)  # the task is due in 7: no later (issue_raise)
    issue = services.issue_raise(
        actor=member, task=shared, problem="活动预算待批", resolver=outsider, deadline=deadline, now=now
    )
    html = chinese_client(member).get(f"/issues/{issue.pk}/").content.decode()
    shown = _section(html, 'id="issue-deadline"')
    assert timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M") in shown
    assert "解决人应在此时间前解决。" in shown
    rung = html.split('id="issue-next-escalation"', 1)[1].split("</dd>", 1)[0]
    at = timezone.localtime(now + dt.timedelta(hours=24)).strftime("%Y-%m-%d %H:%M")
    assert at in rung and "王总" in rung and "销售部" in rung
    assert "届时仍未解决则升级至第 1 级。升级从提出时间算起（第 1 级为 24 小时），与解决期限无关。" in rung
    assert "下次升级" in html and "flag-overdue" not in html


def test_an_open_issue_past_its_deadline_is_flagged_overdue_on_its_page_and_in_the_lists(
    member, outsider, shared
):
    now = timezone.now()
    late = services.issue_raise(
        actor=member, task=shared, problem="迟了的问题", resolver=outsider, now=now - dt.timedelta(hours=3)
    )
    Issue.objects.filter(pk=late.pk).update(deadline=now - dt.timedelta(hours=1))
    fine = services.issue_raise(actor=member, task=shared, problem="按期的问题", resolver=outsider)
    c = chinese_client(member)
    page = c.get(f"/issues/{late.pk}/").content.decode()
    flag = 'class="flag-overdue">逾期<'
    assert flag in _section(page, 'class="page-head"')
    assert flag in page.split('id="issue-deadline"', 1)[1].split("</dd>", 1)[0]
    assert flag not in c.get(f"/issues/{fine.pk}/").content.decode()
    for html in (c.get("/issues/").content.decode(), c.get(shared.get_absolute_url()).content.decode()):
        rows = html.split('class="issue-row__problem">迟了的问题', 1)[1].split("</li>", 1)[0]
        assert flag in rows
        assert flag not in html.split('class="issue-row__problem">按期的问题', 1)[1].split("</li>", 1)[0]
    # The filter: only those past their deadline.
    only = c.get("/issues/", {"overdue": "on"}).content.decode()
    assert "迟了的问题" in only and "按期的问题" not in only
    # Closed, it is no longer overdue.
    services.issue_withdraw(actor=member, issue=Issue.objects.get(pk=late.pk), reason="不需要了")
    assert flag not in c.get(f"/issues/{late.pk}/").content.decode()


def test_the_chinese_ui_names_levels_di_n_ji_never_l1(client, member, outsider, head, shared):
    raised = timezone.now() - dt.timedelta(hours=25)
    issue = services.issue_raise(
        actor=member, task=shared, problem="数据不完整", resolver=outsider, now=raised
    )
    jobs.escalate_issues(timezone.now())
    assert Issue.objects.get(pk=issue.pk).level == 1
    c = chinese_client(head)
    for url in ("/issues/?show=escalated", shared.get_absolute_url(), "/dashboard/", "/"):
        html = c.get(url).content.decode()
        assert "第 1 级" in html, url
        # What the page says, not its markup: a CSRF token or a hash may hold "L1".
        text = re.sub(r"<[^>]*>", " ", html)
        assert "L1" not in text and "(L" not in text, url
    assert "已升级至第 1 级" in c.get(shared.get_absolute_url()).content.decode()


def test_the_english_ui_says_to_which_level_and_whom_it_escalated(member, outsider, head, ceo, shared):
    raised = timezone.now() - dt.timedelta(hours=49)
    issue = services.issue_raise(
        actor=member, task=shared, problem="数据不完整", resolver=outsider, now=raised
    )
    jobs.escalate_issues(raised + dt.timedelta(hours=24, minutes=1))
    flag = "Escalated to level 1 (department head)"
    web = english_client(head)
    for url in ("/issues/?show=escalated", shared.get_absolute_url(), "/dashboard/"):
        html = web.get(url).content.decode()
        assert flag in html, url
        assert "Escalated L" not in html and "(level 1," not in html, url
    decide = _section(web.get("/").content.decode(), 'id="group-decide"')
    assert "数据不完整 (escalated to level 1, department head; resolver 赵市场)" in decide
    # The member who raised it reads the flag in their box on 我的工作.
    assert flag in _section(english_client(member).get("/").content.decode(), 'id="my-issues"')
    # Level 2 goes to the superior, and says so.
    jobs.escalate_issues(timezone.now())
    assert Issue.objects.get(pk=issue.pk).level == 2
    assert "Escalated to level 2 (superior)" in web.get("/issues/?show=escalated").content.decode()
    User.objects.filter(pk=head.pk).update(language="zh-hans")
    html = chinese_client(head).get("/issues/?show=escalated").content.decode()
    assert "已升级至第 2 级（上级主管）" in html
    decide = _section(english_client(ceo).get("/").content.decode(), 'id="group-decide"')
    assert "数据不完整 (escalated to level 2, superior; resolver 赵市场)" in decide
    # The messages name the level and whom it went to, in the reader's language.
    note = Notification.objects.get(recipient=head, kind="issue.escalated")
    code = shared.full_code
    assert note.render("en").title == (
        f"An issue on {code} 老用户召回活动 is unresolved: escalated to level 1, 王总 (销售部)"
    )
    assert (
        note.render("zh-hans").title
        == f"{code}“老用户召回活动”的问题仍未解决，已升级至第 1 级：王总（销售部）"
    )
    top = Notification.objects.get(recipient=ceo, kind="issue.escalated")
    assert top.render("en").title.endswith("escalated to level 2, 周总 (总公司)")
    # A rung with nobody to name still says where it went.
    top.data = {**top.data, "to": ""}
    assert top.render("en").title.endswith("escalated to level 2 (总公司)")
