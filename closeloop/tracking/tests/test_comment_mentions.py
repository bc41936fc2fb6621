"""Issue 10 item 7: a comment's @李娜 in running Chinese text notifies 李娜, and only what
notified someone is highlighted."""

from closeloop.notify.models import Notification
from closeloop.orgs.models import Membership
from closeloop.tasks import comments
from closeloop.testing.factories import UserFactory, add_member, make_task


def test_chinese_mentions_notify_and_only_they_are_highlighted(head, member, outsider, sales):
    lina = UserFactory(username="sales_manager", name="李娜")
    add_member(lina, sales, Membership.Role.MANAGER)
    task = make_task(actor=head, department=sales, owner=member, title="老用户召回活动")
    c = comments.comment_add(actor=member, task=task, body="@李娜请确认预算，麻烦@赵市场 也看一下 @张三丰")
    assert c.mentions == [lina.pk]
    assert Notification.objects.filter(recipient=lina, kind="mentioned").count() == 1
    # 赵市场 (the outsider) may not see the task: neither told nor highlighted.
    assert not Notification.objects.filter(recipient=outsider).exists()
    assert '<span class="mention">@李娜</span>请确认预算' in c.html
    assert c.html.count('class="mention"') == 1

    c2 = comments.comment_add(actor=head, task=task, body="麻烦@李娜 确认, 抄送 a@example.com")
    assert c2.mentions == [lina.pk] and c2.html.count('class="mention"') == 1
    assert Notification.objects.filter(recipient=lina, kind="mentioned").count() == 2


def test_the_owner_is_told_the_due_date_when_assigned(head, member, sales):
    import datetime as dt

    from closeloop.notify.kinds import render

    make_task(actor=head, department=sales, owner=member, title="编写销售周报", due=dt.date(2026, 12, 18))
    n = Notification.objects.get(recipient=member, kind="task.assigned")
    assert "2026-12-18" in render(n.kind, n.data, language="zh-hans").title
