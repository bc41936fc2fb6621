"""A department ticked as involved (涉及部门) in an issue: its head (and deputy) are told, and
may read the issue — not the task, which stays need-to-know (DESIGN.md "Who sees what": a
collaborator from another department sees only what they are on). Someone of a department
the issue does not involve, or a plain member of the involved one, still gets 404; the head
reads but may not resolve. And the raise form says who may be the resolver, and how to ask
someone of another department."""

import json

import pytest
from django.test import Client

from closeloop.collab import services
from closeloop.collab.models import Issue, IssueStatus
from closeloop.core.errors import NotAllowed
from closeloop.notify.models import Notification
from closeloop.orgs.models import Membership
from closeloop.orgs.services import api_token_create
from closeloop.testing.clients import english_client
from closeloop.testing.factories import DepartmentFactory, UserFactory, add_member

pytestmark = pytest.mark.django_db


def chinese_client(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


@pytest.fixture
def mkt_head(marketing):
    user = UserFactory(username="marketing_head", name="陈静")
    add_member(user, marketing, Membership.Role.MANAGER)
    marketing.head = user
    marketing.save(update_fields=["head"])
    return user


@pytest.fixture
def mkt_member(marketing):
    user = UserFactory(username="marketing_other", name="市场新人")
    add_member(user, marketing)
    return user


@pytest.fixture
def ops_head(company):
    ops = DepartmentFactory(code="OPS", name="运营部", parent=company)
    user = UserFactory(username="ops_head", name="运营头")
    add_member(user, ops, Membership.Role.MANAGER)
    ops.head = user
    ops.save(update_fields=["head"])
    return user


@pytest.fixture
def issue(task, member, head, marketing, mkt_head):
    """Raised on a SALES task by its owner, for the SALES head, 市场部 ticked as involved."""
    return services.issue_raise(
        actor=member, task=task, problem="渠道数据需市场部确认", resolver=head, party_departments=[marketing]
    )


def test_the_involved_departments_head_is_told_and_reads_the_issue_not_the_task(
    client, issue, task, mkt_head, mkt_member, ops_head
):
    note = Notification.objects.get(recipient=mkt_head, kind="issue.raised")
    assert note.link == f"/issues/{issue.pk}/"
    assert not Notification.objects.filter(recipient=mkt_member).exists()
    assert not Notification.objects.filter(recipient=ops_head).exists()
    c = chinese_client(mkt_head)
    page = c.get(f"/issues/{issue.pk}/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "渠道数据需市场部确认" in html and "你负责的部门是涉及部门" in html
    assert f'href="{task.get_absolute_url()}"' not in html  # named, not linked
    assert "标记为已解决" not in html and "撤回问题" not in html
    assert c.get(task.get_absolute_url()).status_code == 404
    _t, raw = api_token_create(actor=mkt_head, name="t")
    h = {"HTTP_AUTHORIZATION": f"Bearer {raw}"}
    assert client.get(f"/api/v1/issues/{issue.pk}", **h).json()["problem"] == "渠道数据需市场部确认"
    assert client.get(f"/api/v1/tasks/{task.pk}/issues", **h).status_code == 404
    # Reads, but resolves nothing: 403, as for anyone who sees an issue they may not close.
    assert c.post(f"/issues/{issue.pk}/resolve/", {"resolution": "好"}).status_code == 403
    with pytest.raises(NotAllowed):
        services.issue_withdraw(actor=mkt_head, issue=Issue.objects.get(pk=issue.pk))
    r = client.post(
        f"/api/v1/issues/{issue.pk}/resolve",
        json.dumps({"resolution": "好"}),
        content_type="application/json",
        **h,
    )
    assert r.status_code == 403
    assert Issue.objects.get(pk=issue.pk).status == IssueStatus.OPEN
    # Listed under "involving my departments" for her.
    listed = c.get("/issues/", {"show": "departments"}).content.decode()
    assert "渠道数据需市场部确认" in listed


def test_someone_of_an_uninvolved_department_or_a_plain_member_still_gets_404(
    client, issue, mkt_member, ops_head, outsider
):
    for person in (ops_head, mkt_member, outsider):
        c = english_client(person)
        assert c.get(f"/issues/{issue.pk}/").status_code == 404, person.username
        assert c.post(f"/issues/{issue.pk}/resolve/", {"resolution": "x"}).status_code == 404
        assert c.post(f"/issues/{issue.pk}/withdraw/").status_code == 404
        for show in ("mine", "departments", "escalated"):
            assert "渠道数据需市场部确认" not in c.get("/issues/", {"show": show}).content.decode()
        _t, raw = api_token_create(actor=person, name="t")
        r = client.get(f"/api/v1/issues/{issue.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}")
        assert r.status_code == 404 and r.json()["code"] == "not_found"


def test_the_raise_form_says_who_may_resolve_and_how_to_ask_another_department(
    head, member, task, outsider, sales
):
    # The owner may add collaborators: the hint links to the people picker.
    form = chinese_client(member).get(f"/tasks/{task.pk}/issues/new/").content.decode()
    assert "只列出能看到此任务的人。要请其他部门的人解决，请先把他加为协作人。" in form
    assert f'href="/tasks/{task.pk}/?open=collaborators#people"' in form
    assert outsider.name not in form  # not on the task: not offered
    # A colleague who may not add collaborators is told whom to ask, without the link.
    other = UserFactory(username="sales_peer", name="同事")
    add_member(other, sales)
    form = chinese_client(other).get(f"/tasks/{task.pk}/issues/new/").content.decode()
    assert "请先请负责人或部门负责人把他加为协作人" in form
    assert "?open=collaborators" not in form
    # And the departments ticked as involved: their heads are told and may read the issue.
    assert "这些部门的负责人和代理负责人会收到通知" in form
