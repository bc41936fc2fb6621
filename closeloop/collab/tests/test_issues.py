import datetime as dt

import pytest
from django.utils import timezone

from closeloop.collab import services
from closeloop.collab.models import Issue, IssueStatus
from closeloop.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from closeloop.notify.models import Channel, ChannelKind, Delivery, Notification
from closeloop.tasks.models import TaskEvent
from closeloop.testing.factories import UserFactory, add_member

pytestmark = pytest.mark.django_db


def test_it_logs_an_issue_with_a_24_hour_deadline_and_tells_the_resolver(shared, member, outsider, marketing):
    now = timezone.now()
    issue = services.issue_raise(
        actor=member,
        task=shared,
        problem="市场部提供的用户数据不完整",
        resolver=outsider,
        party_departments=[marketing],
        now=now,
    )
    assert issue.status == IssueStatus.OPEN
    assert issue.deadline == now + dt.timedelta(hours=24)
    assert issue.next_escalation_at == now + dt.timedelta(hours=24)
    note = Notification.objects.get(recipient=outsider, kind="issue.raised")
    assert note.link == f"/issues/{issue.pk}/"
    assert note.data["note"] == "市场部提供的用户数据不完整"
    assert not Notification.objects.filter(recipient=member, kind="issue.raised").exists()  # the actor
    assert TaskEvent.objects.filter(task=shared, verb="issue_raised").exists()


def test_it_posts_to_the_im_groups_of_the_task_and_of_every_department_involved(
    shared, member, outsider, sales, marketing
):
    for dept in (sales, marketing):
        Channel.objects.create(
            name=f"{dept.name}群",
            kind=ChannelKind.WECOM_ROBOT,
            department=dept,
            url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=x",
        )
    Channel.objects.create(name="邮件", kind=ChannelKind.EMAIL)
    services.issue_raise(
        actor=member, task=shared, problem="数据口径不一致", resolver=outsider, party_departments=[marketing]
    )
    groups = set(
        Delivery.objects.filter(kind="issue.raised", recipient__isnull=True).values_list(
            "channel__department__code", flat=True
        )
    )
    assert groups == {"SALES", "MKT"}
    assert Delivery.objects.filter(kind="issue.raised", recipient=outsider, channel__kind="email").exists()


@pytest.mark.parametrize(
    ("field", "kwargs"),
    [
        ("problem", {"problem": "   "}),
        ("problem", {"problem": "a\x00b"}),
        ("problem", {"problem": "长" * 1001}),
        ("resolver", {"resolver": None}),
        ("deadline", {"deadline": "past"}),
        ("deadline", {"deadline": "far"}),
    ],
)
def test_it_refuses_bad_input_naming_the_field_and_stores_nothing(shared, member, outsider, field, kwargs):
    now = timezone.now()
    args = {"actor": member, "task": shared, "problem": "数据不完整", "resolver": outsider, "now": now}
    if kwargs.get("deadline") == "past":
        kwargs = {"deadline": now - dt.timedelta(minutes=1)}
    elif kwargs.get("deadline") == "far":
        kwargs = {"deadline": now + dt.timedelta(days=800)}
    args.update(kwargs)
    events, notes = TaskEvent.objects.count(), Notification.objects.count()
    with pytest.raises(ValidationFailed) as exc:
        services.issue_raise(**args)
    assert field in exc.value.fields
    assert Issue.objects.count() == 0 and Notification.objects.count() == notes
    assert TaskEvent.objects.count() == events


def test_it_refuses_a_resolver_who_cannot_see_the_task(task, member, outsider):
    with pytest.raises(ValidationFailed) as exc:
        services.issue_raise(actor=member, task=task, problem="缺数据", resolver=outsider)
    assert "resolver" in exc.value.fields and "赵市场" in exc.value.fields["resolver"][0]
    assert not Issue.objects.exists()


def test_someone_who_does_not_see_the_task_cannot_raise_on_it(private, outsider, member):
    with pytest.raises(NotFound):
        services.issue_raise(actor=outsider, task=private, problem="x", resolver=member)


def test_only_the_resolver_or_a_head_resolves(shared, member, outsider, head):
    issue = services.issue_raise(actor=outsider, task=shared, problem="数据不完整", resolver=member)
    with pytest.raises(NotAllowed):
        services.issue_resolve(actor=outsider, issue=issue, resolution="我来关")  # the raiser
    assert Issue.objects.get(pk=issue.pk).status == IssueStatus.OPEN
    with pytest.raises(ValidationFailed) as exc:
        services.issue_resolve(actor=member, issue=issue, resolution=" ")
    assert "resolution" in exc.value.fields
    done = services.issue_resolve(actor=head, issue=issue, resolution="10月12日前补充数据")
    assert done.status == IssueStatus.RESOLVED and done.resolved_at and done.resolved_by == head
    assert done.next_escalation_at is None
    assert Notification.objects.filter(recipient=outsider, kind="issue.resolved").exists()
    with pytest.raises(Conflict):
        services.issue_resolve(actor=member, issue=done, resolution="again")


def test_the_raiser_may_withdraw_but_a_bystander_may_not(shared, member, outsider, sales):
    bystander = UserFactory(username="sales_other", name="旁观者")
    add_member(bystander, sales)
    issue = services.issue_raise(actor=member, task=shared, problem="需要确认口径", resolver=outsider)
    with pytest.raises(NotAllowed):
        services.issue_withdraw(actor=bystander, issue=issue)
    done = services.issue_withdraw(actor=member, issue=issue, reason="已在会上澄清")
    assert done.status == IssueStatus.WITHDRAWN and done.resolution == "已在会上澄清"


def test_a_closed_task_takes_no_new_issue(shared, head, member, outsider):
    from closeloop.tasks.services import task_cancel

    task = task_cancel(actor=head, task=shared, reason="取消")
    with pytest.raises(Conflict):
        services.issue_raise(actor=member, task=task, problem="x", resolver=outsider)


def test_an_issue_carries_its_tasks_department(shared, member, outsider, marketing):
    """The copy 仪表盘 counts by (issue 16): set by the service, filled from the task by
    `save()` when a caller leaves it out, in the task's department (not a party's)."""
    issue = services.issue_raise(
        actor=member, task=shared, problem="缺少数据", resolver=outsider, party_departments=[marketing]
    )
    assert Issue.objects.get(pk=issue.pk).task_department_id == shared.department_id != marketing.pk
    bare = Issue(
        task_id=shared.pk,
        problem="直接保存",
        raised_by=member,
        raised_at=timezone.now(),
        resolver=outsider,
        deadline=timezone.now() + dt.timedelta(hours=1),
    )
    bare.save()
    assert Issue.objects.get(pk=bare.pk).task_department_id == shared.department_id
