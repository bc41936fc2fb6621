import datetime as dt

import pytest

from closeloop.core.errors import Conflict, NotAllowed, NotFound, ValidationFailed
from closeloop.notify.models import Notification
from closeloop.testing.factories import UserFactory
from closeloop.tracking.jobs import escalate_delay_warnings
from closeloop.tracking.models import DelayWarning
from closeloop.tracking.selectors import access_warning
from closeloop.tracking.services import delay_warning_decide, delay_warning_raise
from closeloop.tracking.tests.conftest import at, fresh

pytestmark = pytest.mark.django_db
NEW = dt.date(2026, 4, 10)


def raise_on(task, who, when, **kw):
    return delay_warning_raise(
        actor=who,
        task=task,
        reason=kw.pop("reason", "resources"),
        explanation="人手不够",
        new_due_date=kw.pop("new", NEW),
        now=when,
    )


def test_it_marks_a_warning_on_time_one_working_day_before_the_due_date(started, member, head):
    w = raise_on(started, member, at(2026, 3, 30))  # due Tue 03-31; Mon 03-30 is the working day before
    assert w.on_time
    assert Notification.objects.filter(recipient=head, kind="delay_warning.raised").count() == 1


def test_it_marks_a_warning_raised_on_the_due_date_late(started, member):
    assert not raise_on(started, member, at(2026, 3, 31)).on_time


@pytest.mark.parametrize(
    ("kw", "field"),
    [
        ({"new": dt.date(2026, 3, 20)}, "new_due_date"),
        ({"new": dt.date(2026, 3, 9)}, "new_due_date"),
        ({"reason": "bored"}, "reason"),
    ],
)
def test_it_refuses_a_bad_warning(started, member, kw, field):
    with pytest.raises(ValidationFailed) as exc:
        raise_on(started, member, at(2026, 3, 10), **kw)
    assert field in exc.value.fields
    assert not DelayWarning.objects.exists()


def test_it_keeps_one_pending_warning_per_task(started, member):
    raise_on(started, member, at(2026, 3, 10))
    with pytest.raises(Conflict):
        raise_on(started, member, at(2026, 3, 11))


def test_approval_moves_the_due_date_and_keeps_the_original(started, member, head):
    w = raise_on(started, member, at(2026, 3, 10))
    delay_warning_decide(actor=head, warning=w, approve=True, comment="同意", now=at(2026, 3, 10, 15))
    task = fresh(started)
    assert task.due_date == NEW and task.original_due_date == dt.date(2026, 3, 31)
    assert Notification.objects.filter(recipient=member, kind="delay_warning.decided").count() == 1
    with pytest.raises(Conflict):
        delay_warning_decide(actor=head, warning=w, approve=False, comment="改主意", now=at(2026, 3, 10, 16))


def test_a_rejection_needs_a_comment_and_leaves_the_due_date(started, member, head):
    w = raise_on(started, member, at(2026, 3, 10))
    with pytest.raises(ValidationFailed):
        delay_warning_decide(actor=head, warning=w, approve=False, comment="")
    delay_warning_decide(actor=head, warning=w, approve=False, comment="先加班赶一赶")
    assert fresh(started).due_date == dt.date(2026, 3, 31)
    assert DelayWarning.objects.get().status == "rejected"


def test_a_specialist_cannot_decide_and_an_outsider_cannot_see_it(started, member, outsider):
    w = raise_on(started, member, at(2026, 3, 10))
    with pytest.raises(NotAllowed):
        delay_warning_decide(actor=member, warning=w, approve=True)
    with pytest.raises(NotFound):
        access_warning(outsider, w.pk)
    assert DelayWarning.objects.get().status == "pending"


def test_an_undecided_warning_escalates_to_the_superior_after_one_working_day(started, member, company):
    ceo = UserFactory(username="ceo")
    company.head = ceo
    company.save(update_fields=["head"])
    raise_on(started, member, at(2026, 3, 27, 10))  # Friday → decide by Monday 10:00
    assert escalate_delay_warnings(at(2026, 3, 30, 9, 59)) == 0
    assert escalate_delay_warnings(at(2026, 3, 30, 10, 0)) == 1
    assert escalate_delay_warnings(at(2026, 3, 30, 10, 5)) == 0  # twice: once
    assert Notification.objects.filter(recipient=ceo, kind="delay_warning.escalated").count() == 1
    w = DelayWarning.objects.get()
    assert w.escalated_to == ceo and w.status == "pending"
    # The superior leads the department from above, so may decide.
    delay_warning_decide(actor=ceo, warning=w, approve=True)
    assert fresh(started).due_date == NEW


def test_an_escalation_reaches_the_departments_group_channels(started, member, company):
    """Issue 11, item 10: it reached only the superior's own channels and the webhooks."""
    from closeloop.notify.models import Channel, Delivery

    robot = Channel.objects.create(
        name="销售部群",
        kind="wecom_robot",
        department=started.department,
        url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=k",
    )
    other = Channel.objects.create(
        name="别的部门群",
        kind="wecom_robot",
        department=company,
        url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=o",
    )
    ceo = UserFactory(username="ceo")
    company.head = ceo
    company.save(update_fields=["head"])
    raise_on(started, member, at(2026, 3, 27, 10))
    assert escalate_delay_warnings(at(2026, 3, 30, 10, 0)) == 1
    group = Delivery.objects.filter(channel=robot, kind="delay_warning.escalated")
    assert group.count() == 1 and group.get().recipient_id is None
    assert started.code in str(group.get().data) or started.title in str(group.get().data)
    assert not Delivery.objects.filter(channel=other).exists()
