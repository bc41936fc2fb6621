"""`notify_batch` (the job sweeps' path) queues exactly what one `notify()` per message
queues — the same in-app rows, personal channels by preference, digests, group posts,
company-wide webhooks and held rows of disabled channels — in a constant number of queries."""

import datetime as dt

import pytest
from django.db import connection, transaction

from closeloop.notify.models import Channel, Delivery, Notification, Preference
from closeloop.notify.services import Message, notify, notify_batch, notify_group, notify_group_batch
from closeloop.testing.factories import UserFactory, add_people

pytestmark = pytest.mark.django_db


@pytest.fixture
def channels(sales, marketing):
    Channel.objects.create(name="mail", kind="email")
    Channel.objects.create(name="wecom", kind="wecom_app", config={"corp_id": "c", "agent_id": "1"})
    Channel.objects.create(
        name="销售部群", kind="wecom_robot", department=sales, url="https://qyapi.weixin.qq.com/x?key=s"
    )
    Channel.objects.create(
        name="市场部群", kind="feishu_bot", department=marketing, url="https://open.feishu.cn/x/m"
    )
    Channel.objects.create(name="ERP", kind="webhook", url="https://erp.example.com/hook")
    Channel.objects.create(name="旧系统", kind="webhook", url="https://old.example.com/hook", enabled=False)


def _rows():
    """What was queued, without ids and timestamps (the digest delay kept in minutes)."""
    notes = sorted(
        (n.recipient_id, n.kind, repr(n.data), n.link, n.actor_id) for n in Notification.objects.all()
    )
    deliveries = sorted(
        (
            d.channel.name,
            d.recipient_id,
            d.kind,
            repr(d.data),
            d.link,
            tuple(d.mentions),
            d.digest,
            d.state,
            round((d.run_after - d.created_at).total_seconds() / 60),
            d.notification.recipient_id if d.notification_id else None,
        )
        for d in Delivery.objects.select_related("channel", "notification")
    )
    return notes, deliveries


def _messages(sales, marketing, head, member, outsider, idle, quiet):
    return [
        Message(
            recipients=[member, head, None, member], data={"code": "A", "n": 1}, link="/a", department=sales
        ),
        Message(recipients=[outsider, idle], data={"code": "B"}, link="/b", department=marketing.pk),
        Message(recipients=[quiet], data={"code": "C"}, link="/c"),
        Message(recipients=[quiet, member], data={"code": "D"}, link="/d", department=sales, mention=False),
        Message(recipients=[], data={"code": "E"}, link="/e", department=sales),
    ]


def test_a_batch_queues_what_one_notify_per_message_queues(
    channels, sales, marketing, head, member, outsider, admin_user
):
    head.wecom_id, outsider.email = "wang", "zhao@example.com"
    head.save(update_fields=["wecom_id"])
    outsider.save(update_fields=["email"])
    idle = UserFactory(username="left", is_active=False, email="left@example.com")
    quiet = UserFactory(username="quiet", email="quiet@example.com", wecom_id="q")
    Preference.objects.create(user=quiet, digest_minutes=30, routes={"task.assigned": ["email", "wecom_app"]})
    messages = _messages(sales, marketing, head, member, outsider, idle, quiet)
    with transaction.atomic():
        for m in messages:
            notify(
                recipients=m.recipients,
                kind="task.assigned",
                data=m.data,
                link=m.link,
                actor=admin_user,
                department=m.department,
                mention=m.mention,
            )
        notify_group(department=marketing, kind="task.assigned", data={"code": "F"}, link="/f")
    one_by_one = _rows()
    Delivery.objects.all().delete()
    Notification.objects.all().delete()
    with transaction.atomic():
        notify_batch(kind="task.assigned", messages=messages, actor=admin_user)
        notify_group_batch(kind="task.assigned", posts=[(marketing.pk, {"code": "F"}, "/f")])
    assert _rows() == one_by_one
    notes, deliveries = one_by_one
    assert len(notes) == 6  # member, head, outsider, quiet ×2, member: never the inactive one
    # quiet's second message joins the digest the first one opened, on both channels
    assert sum(1 for d in deliveries if d[1] == quiet.pk and d[6] and d[8] == 30) == 4


@pytest.mark.parametrize("n", [5, 50])
def test_a_batch_costs_the_same_queries_for_5_and_50_messages(
    channels, sales, n, django_assert_max_num_queries
):
    people = add_people(sales, n)
    Preference.objects.create(user=people[0], digest_minutes=30)
    messages = [
        Message(recipients=[p], data={"code": p.username}, link="/x", department=sales) for p in people
    ]
    # in-app rows, channels, preferences, open digests, deliveries, held count; SQLite
    # splits inserts in batches of its parameter limit (a few more at 50)
    with django_assert_max_num_queries(6 + (4 if n > 40 and connection.vendor == "sqlite" else 0)):
        notify_batch(kind="task.assigned", messages=messages)
    assert Notification.objects.count() == n
    assert Delivery.objects.filter(channel__name="mail").count() == n


def test_an_empty_batch_queues_nothing(channels, django_assert_num_queries):
    with django_assert_num_queries(0):
        assert notify_group_batch(kind="task.assigned", posts=[]) == []


def test_quiet_hours_and_digests_are_left_to_delivery(channels, sales, member):
    """A digest opened before the batch is joined, as `notify()` joins it."""
    Preference.objects.create(user=member, digest_minutes=60)
    member.email = "li@example.com"
    member.save(update_fields=["email"])
    notify(recipients=[member], kind="task.assigned", data={"code": "X"}, link="/x")
    opened = Delivery.objects.get(recipient=member, digest=True)
    notify_batch(kind="task.assigned", messages=[Message(recipients=[member], data={"code": "Y"}, link="/y")])
    later = Delivery.objects.exclude(pk=opened.pk).get(recipient=member, digest=True)
    assert later.run_after == opened.run_after
    assert opened.run_after - opened.created_at == dt.timedelta(minutes=60)
