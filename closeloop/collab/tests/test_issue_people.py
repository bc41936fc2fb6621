"""The people on an issue (its raiser, resolver and the people involved) and its deadline —
three of a tester's findings, on the service, the issue page and the API:

- the resolver does not withdraw an issue, they resolve it with a written result (they had
  「撤回问题」 beside 「标记为已解决」 and closed someone else's issue as 已撤回 with no
  result); the head or deputy may withdraw it for the department, saying why;
- the raiser removed as collaborator of the task still reads the issue they raised and finds
  it under 「我提出的」 (it was a 404 while it stayed open and escalating) — so do the
  resolver and the people involved — without gaining the task;
- the deadline is no later than the task's due date (2026-12-31 on a task due 2026-12-09 was
  taken)."""

import datetime as dt
import json

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.collab import selectors, services
from closeloop.collab.models import Issue, IssueStatus
from closeloop.core.errors import NotAllowed, NotFound, ValidationFailed
from closeloop.orgs.models import Membership
from closeloop.orgs.services import api_token_create
from closeloop.tasks.services import task_collaborator_add, task_collaborator_remove
from closeloop.testing.factories import UserFactory, add_member, make_task

pytestmark = pytest.mark.django_db


def chinese_client(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


def api(client, user, method, url, body=None):
    _t, raw = api_token_create(actor=user, name="t")
    h = {"HTTP_AUTHORIZATION": f"Bearer {raw}", "HTTP_ACCEPT_LANGUAGE": "zh-hans"}
    if method == "get":
        return client.get(url, **h)
    return client.post(url, json.dumps(body or {}), content_type="application/json", **h)


# -- who withdraws -----------------------------------------------------------------------------


def test_the_resolver_resolves_and_does_not_withdraw(client, shared, member, outsider):
    # 刘洋 (市场部, a collaborator) raises on the SALES task; 张伟 (the member) resolves it.
    issue = services.issue_raise(actor=outsider, task=shared, problem="缺少渠道数据", resolver=member)
    page = chinese_client(member).get(f"/issues/{issue.pk}/").content.decode()
    assert "标记为已解决" in page and "撤回问题" not in page
    r = chinese_client(member).post(f"/issues/{issue.pk}/withdraw/", {"reason": "不需要了"})
    assert r.status_code == 403 and "解决人请填写解决结果" in r.content.decode()
    r = api(client, member, "post", f"/api/v1/issues/{issue.pk}/withdraw", {"reason": "不需要了"})
    assert r.status_code == 403 and r.json()["code"] == "forbidden"
    with pytest.raises(NotAllowed):
        services.issue_withdraw(actor=member, issue=Issue.objects.get(pk=issue.pk), reason="不需要了")
    fresh = Issue.objects.get(pk=issue.pk)
    assert fresh.status == IssueStatus.OPEN and fresh.next_escalation_at is not None
    # The raiser still may, without a reason.
    page = chinese_client(outsider).get(f"/issues/{issue.pk}/").content.decode()
    assert "撤回问题" in page and "撤回原因" in page
    assert chinese_client(outsider).post(f"/issues/{issue.pk}/withdraw/").status_code == 302
    assert Issue.objects.get(pk=issue.pk).status == IssueStatus.WITHDRAWN


def test_a_deputy_withdraws_someone_elses_issue_only_saying_why(client, shared, member, outsider, deputy):
    issue = services.issue_raise(actor=outsider, task=shared, problem="缺少渠道数据", resolver=member)
    page = chinese_client(deputy).get(f"/issues/{issue.pk}/").content.decode()
    assert "标记为已解决" in page and "撤回问题" in page and "请写明原因" in page
    # No reason: refused on the field, nothing closed.
    r = chinese_client(deputy).post(f"/issues/{issue.pk}/withdraw/", {"reason": "  "})
    assert r.status_code == 422 and "撤回他人提出的问题，请写明撤回原因。" in r.content.decode()
    r = api(client, deputy, "post", f"/api/v1/issues/{issue.pk}/withdraw", {})
    assert r.status_code == 422 and "reason" in json.dumps(r.json(), ensure_ascii=False)
    assert Issue.objects.get(pk=issue.pk).status == IssueStatus.OPEN
    # With one: withdrawn, the reason kept as what closed it.
    r = chinese_client(deputy).post(f"/issues/{issue.pk}/withdraw/", {"reason": "与 #3 重复提出"})
    assert r.status_code == 302
    fresh = Issue.objects.get(pk=issue.pk)
    assert fresh.status == IssueStatus.WITHDRAWN and fresh.resolution == "与 #3 重复提出"
    assert fresh.next_escalation_at is None


# -- the people on an issue read it ------------------------------------------------------------


@pytest.fixture
def removed(shared, head, member, outsider):
    """刘洋 raised an issue on the SALES task he helped on, then was removed as collaborator."""
    issue = services.issue_raise(actor=outsider, task=shared, problem="渠道报价单缺失", resolver=member)
    task_collaborator_remove(actor=head, task=shared, user=outsider)
    return issue


def test_the_raiser_removed_from_the_task_still_reads_the_issue_but_not_the_task(
    client, removed, shared, outsider
):
    c = chinese_client(outsider)
    page = c.get(f"/issues/{removed.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "渠道报价单缺失" in html and "你是它的提出人、解决人或涉及人员" in html
    assert f'href="{shared.get_absolute_url()}"' not in html  # named, not linked
    assert "撤回问题" in html  # still theirs to withdraw
    assert c.get(shared.get_absolute_url()).status_code == 404
    assert "渠道报价单缺失" in c.get("/issues/", {"show": "raised"}).content.decode()
    assert "渠道报价单缺失" in c.get("/issues/").content.decode()
    assert [i.pk for i in selectors.my_issues(outsider).raised] == [removed.pk]
    r = api(client, outsider, "get", f"/api/v1/issues/{removed.pk}")
    assert r.status_code == 200 and r.json()["problem"] == "渠道报价单缺失"
    assert api(client, outsider, "get", f"/api/v1/tasks/{shared.pk}/issues").status_code == 404
    assert api(client, outsider, "get", f"/api/v1/tasks/{shared.pk}").status_code == 404


def test_the_resolver_and_a_person_involved_keep_the_issue_too_and_others_do_not(
    client, shared, head, member, marketing
):
    helper = UserFactory(username="mkt_helper", name="孙市场")
    add_member(helper, marketing, Membership.Role.SPECIALIST)
    party = UserFactory(username="mkt_party", name="钱市场")
    add_member(party, marketing, Membership.Role.SPECIALIST)
    bystander = UserFactory(username="mkt_other", name="周市场")
    add_member(bystander, marketing, Membership.Role.SPECIALIST)
    for u in (helper, party):
        task_collaborator_add(actor=head, task=shared, user=u)
    issue = services.issue_raise(
        actor=member, task=shared, problem="物料尺寸待确认", resolver=helper, party_users=[party]
    )
    for u in (helper, party):
        task_collaborator_remove(actor=head, task=shared, user=u)
    for u in (helper, party):
        assert chinese_client(u).get(f"/issues/{issue.pk}/").status_code == 200, u.username
        assert "物料尺寸待确认" in chinese_client(u).get("/issues/").content.decode()
        assert api(client, u, "get", f"/api/v1/issues/{issue.pk}").status_code == 200
        assert chinese_client(u).get(shared.get_absolute_url()).status_code == 404
    assert [i.pk for i in selectors.my_issues(helper).to_resolve] == [issue.pk]
    # The resolver still resolves it, with a result; the person involved does not.
    with pytest.raises(NotAllowed):
        services.issue_resolve(actor=party, issue=selectors.access_issue(party, issue.pk), resolution="好")
    r = chinese_client(helper).post(f"/issues/{issue.pk}/resolve/", {"resolution": "按 A4 尺寸"})
    assert r.status_code == 302
    assert Issue.objects.get(pk=issue.pk).status == IssueStatus.RESOLVED
    # Someone not on it still gets 404 everywhere.
    assert chinese_client(bystander).get(f"/issues/{issue.pk}/").status_code == 404
    assert "物料尺寸待确认" not in chinese_client(bystander).get("/issues/?state=all").content.decode()
    assert api(client, bystander, "get", f"/api/v1/issues/{issue.pk}").status_code == 404
    with pytest.raises(NotFound):
        selectors.access_issue(bystander, issue.pk)


# -- the deadline is no later than the task's due date ------------------------------------------


def test_a_deadline_after_the_tasks_due_date_is_refused_naming_the_field(client, head, member, sales):
    today = timezone.localdate()
    due = today + dt.timedelta(days=7)
    task = make_task(actor=head, department=sales, owner=member, title="客户需求调研", due=due)
    late = dt.datetime.combine(due + dt.timedelta(days=22), dt.time(18, 0), tzinfo=sales.tzinfo)
    with pytest.raises(ValidationFailed) as err:
        services.issue_raise(actor=member, task=task, problem="样本不足", resolver=head, deadline=late)
    assert list(err.value.fields) == ["deadline"]
    # The web form: the field's own message, nothing written.
    r = chinese_client(member).post(
        f"/tasks/{task.pk}/issues/new/",
        {"problem": "样本不足", "resolver": head.pk, "deadline": late.strftime("%Y-%m-%dT%H:%M")},
    )
    assert r.status_code == 422
    assert f"解决期限不能晚于任务的截止日期（{due.isoformat()}）。" in r.content.decode()
    # The API: 422 naming the field.
    r = api(
        client,
        member,
        "post",
        f"/api/v1/tasks/{task.pk}/issues",
        {"problem": "样本不足", "resolver_id": head.pk, "deadline": late.isoformat()},
    )
    assert r.status_code == 422 and "deadline" in r.json()["fields"]
    assert not Issue.objects.exists()
    # The last minute of the due date (department time) is fine.
    last = dt.datetime.combine(due, dt.time(23, 59), tzinfo=sales.tzinfo)
    ok = services.issue_raise(actor=member, task=task, problem="样本不足", resolver=head, deadline=last)
    assert ok.deadline == last


def test_the_default_deadline_stops_at_the_due_date_and_an_overdue_task_takes_any(head, member, sales):
    now = timezone.now()
    due_today = make_task(
        actor=head, department=sales, owner=member, title="日报", due=sales.local_today(now)
    )
    issue = services.issue_raise(actor=member, task=due_today, problem="数据源中断", resolver=head, now=now)
    end = dt.datetime.combine(due_today.due_date + dt.timedelta(days=1), dt.time.min, tzinfo=sales.tzinfo)
    assert now < issue.deadline < end
    # A task already past its due date: a deadline after it cannot be avoided.
    later = now + dt.timedelta(days=2)
    overdue = services.issue_raise(
        actor=member,
        task=due_today,
        problem="补数据",
        resolver=head,
        deadline=later,
        now=end + dt.timedelta(hours=1),
    )
    assert overdue.deadline == later
