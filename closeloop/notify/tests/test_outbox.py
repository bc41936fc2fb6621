"""The outbox: a row per (event, channel) written with the event; the worker sends each once,
retries, waits out outages and rate limits, and disables a channel on a permanent error."""

import base64
import datetime as dt
import hashlib
import hmac
import json
import threading
import time

import pytest
from django.db import connection, transaction
from django.utils import timezone

from closeloop.notify import outbox
from closeloop.notify.models import Channel, ChannelKind, Delivery, DeliveryState, Notification
from closeloop.notify.services import channel_create, notify, preference_update
from closeloop.notify.tests.receivers import closed_port
from closeloop.testing.factories import UserFactory

SECRET = "whsec_" + base64.b64encode(b"0123456789abcdef0123456789abcdef").decode()


def webhook(admin, url, **kw):
    return channel_create(actor=admin, name="ERP", kind=ChannelKind.WEBHOOK, url=url, secret=SECRET, **kw)


def drain_all(now, worker="w1"):
    total = 0
    while True:
        n = outbox.drain(now, worker, 50)
        total += n
        if n < 50:
            return total


def expected_signature(hit):
    key = base64.b64decode(SECRET.removeprefix("whsec_"))
    signed = f"{hit.headers['webhook-id']}.{hit.headers['webhook-timestamp']}.".encode() + hit.body
    return "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()


def test_it_writes_the_outbox_row_in_the_event_transaction(admin_user, member, receiver):
    channel = webhook(admin_user, receiver.base + "/hook")
    with pytest.raises(RuntimeError), transaction.atomic():
        notify(
            recipients=[member],
            kind="task.assigned",
            data={"code": "SALES-T001", "title": "报表"},
            link="/tasks/1/",
        )
        raise RuntimeError("the feature's write failed")
    assert not Delivery.objects.exists() and not Notification.objects.exists()
    notify(
        recipients=[member],
        kind="task.assigned",
        data={"code": "SALES-T001", "title": "报表"},
        link="/tasks/1/",
    )
    assert Delivery.objects.get().channel == channel
    assert receiver.hits == []  # nothing is sent inline


def test_it_signs_webhooks_as_standard_webhooks_with_the_wall_clock(admin_user, member, receiver):
    webhook(admin_user, receiver.base + "/hook")
    notify(
        recipients=[member],
        kind="task.assigned",
        data={"code": "SALES-T001", "title": "月度销售报表", "by": "王总"},
        link="/tasks/7/",
    )
    # The job's notion of "now" is a day off; the signature must still use the real time.
    assert drain_all(timezone.now() + dt.timedelta(days=1)) == 1
    (hit,) = receiver.hits
    assert hit.path == "/hook"
    assert hit.headers["webhook-signature"] == expected_signature(hit)
    assert abs(int(hit.headers["webhook-timestamp"]) - time.time()) < 5
    body = hit.json()
    assert body["type"] == "task.assigned"
    assert body["data"]["code"] == "SALES-T001"
    assert body["data"]["link"] == "https://closeloop.example.com/tasks/7/"
    assert Delivery.objects.get().state == DeliveryState.SENT


def test_it_keeps_the_message_id_across_retries_and_signs_afresh(admin_user, member, receiver):
    webhook(admin_user, receiver.base + "/hook")
    receiver.script = [(503, {"error": "busy"}, {})]
    notify(recipients=[member], kind="task.assigned", data={"code": "X"})
    now = timezone.now()
    drain_all(now)
    d = Delivery.objects.get()
    assert d.state == DeliveryState.QUEUED and "503" in d.last_error and d.run_after > now
    time.sleep(1.1)
    drain_all(d.run_after)
    first, second = receiver.hits
    assert first.headers["webhook-id"] == second.headers["webhook-id"]
    assert first.headers["webhook-timestamp"] != second.headers["webhook-timestamp"]
    assert second.headers["webhook-signature"] == expected_signature(second)
    assert Delivery.objects.get().state == DeliveryState.SENT


def test_it_loses_nothing_while_the_receiver_is_down_for_an_hour(admin_user, member, receiver):
    channel = webhook(admin_user, f"http://127.0.0.1:{closed_port()}/hook")
    for i in range(5):
        notify(recipients=[member], kind="task.assigned", data={"code": f"T{i}"})
    start = timezone.now()
    minute = start
    while minute < start + dt.timedelta(hours=1):
        drain_all(minute)
        minute += dt.timedelta(minutes=1)
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.QUEUED}
    assert "Network error" in Delivery.objects.first().last_error
    assert Delivery.objects.first().attempts >= 5
    # The receiver comes back.
    Channel.objects.filter(pk=channel.pk).update(url=receiver.base + "/hook")
    later = start + dt.timedelta(hours=2)
    drain_all(later)
    assert len(receiver.hits) == 5
    assert sorted(h.json()["data"]["code"] for h in receiver.hits) == [f"T{i}" for i in range(5)]
    assert set(Delivery.objects.values_list("state", flat=True)) == {DeliveryState.SENT}


def test_it_disables_the_channel_on_a_permanent_error_and_tells_the_admin(
    admin_user, member, receiver, settings
):
    settings.NOTIFY_SEND_CONCURRENCY = 1  # with parallel sends, messages already in flight may still land
    channel = webhook(admin_user, receiver.base + "/hook")
    receiver.script = [(410, {"error": "endpoint gone"}, {})]
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    notify(recipients=[member], kind="task.assigned", data={"code": "B"})
    drain_all(timezone.now())
    channel.refresh_from_db()
    assert not channel.enabled and "410" in channel.disabled_reason and "endpoint gone" in channel.last_error
    states = sorted(Delivery.objects.filter(channel=channel).values_list("state", flat=True))
    assert states == [DeliveryState.HELD, DeliveryState.HELD]  # the channel's fault, not the messages'
    assert Notification.objects.filter(recipient=admin_user, kind="channel.disabled").exists()
    assert len(receiver.hits) == 1


def test_it_retries_a_crashed_workers_claim_after_its_lease(admin_user, member, receiver, settings):
    webhook(admin_user, receiver.base + "/hook")
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    now = timezone.now()
    claimed = outbox.claim(now, "crashing-worker", 10)  # claims, then dies without sending
    assert len(claimed) == 1
    assert drain_all(now + dt.timedelta(seconds=10), "w2") == 0  # still leased
    drain_all(now + dt.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1), "w2")
    assert len(receiver.hits) == 1
    assert Delivery.objects.get().state == DeliveryState.SENT


@pytest.mark.django_db(transaction=True)
def test_it_delivers_each_message_once_with_two_workers(receiver):
    admin = UserFactory(username="admin2", is_superuser=True, is_staff=True)
    people = [UserFactory(username=f"p{i}") for i in range(40)]
    webhook(admin, receiver.base + "/hook")
    for p in people:
        notify(recipients=[p], kind="task.assigned", data={"code": p.username})
    now = timezone.now()
    errors = []

    def work(name):
        try:
            while outbox.drain(now, name, 5):
                pass
        except Exception as exc:  # pragma: no cover - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(f"w{i}",)) for i in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    assert errors == []
    ids = [h.headers["webhook-id"] for h in receiver.hits]
    assert len(ids) == 40 and len(set(ids)) == 40
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 40
    assert len(set(Delivery.objects.values_list("claimed_by", flat=True))) == 2


def test_it_delays_messages_in_quiet_hours_and_never_drops_them(admin_user, member, receiver):
    channel = channel_create(actor=admin_user, name="mail", kind=ChannelKind.EMAIL)
    assert channel.pk
    preference_update(actor=member, quiet_start=dt.time(22, 0), quiet_end=dt.time(8, 0))
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    d = Delivery.objects.get()
    shanghai = dt.timezone(dt.timedelta(hours=8))
    tomorrow = timezone.now().astimezone(shanghai).date() + dt.timedelta(days=1)
    late = dt.datetime.combine(tomorrow, dt.time(23, 30), tzinfo=shanghai)
    drain_all(late)
    d.refresh_from_db()
    assert d.state == DeliveryState.QUEUED and d.attempts == 0
    assert d.run_after == dt.datetime.combine(tomorrow + dt.timedelta(days=1), dt.time(8, 0), tzinfo=shanghai)
    drain_all(d.run_after)
    d.refresh_from_db()
    assert d.state == DeliveryState.SENT


def test_it_sends_one_digest_for_several_notifications_in_the_window(admin_user, member, mailoutbox):
    channel_create(actor=admin_user, name="mail", kind=ChannelKind.EMAIL)
    preference_update(actor=member, digest_minutes=30)
    for code in ("SALES-T001", "SALES-T002", "SALES-T003"):
        notify(recipients=[member], kind="task.assigned", data={"code": code, "title": "t", "by": "王总"})
    now = timezone.now()
    drain_all(now)
    assert mailoutbox == []
    drain_all(now + dt.timedelta(minutes=31))
    (mail,) = mailoutbox
    for code in ("SALES-T001", "SALES-T002", "SALES-T003"):
        assert code in mail.body
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 3


def test_it_waits_out_the_rate_budget_instead_of_dropping(admin_user, head, member, sales, receiver):
    channel = channel_create(
        actor=admin_user,
        name="销售群",
        kind=ChannelKind.WECOM_ROBOT,
        department=sales,
        url=receiver.base + "/cgi-bin/webhook/send?key=abc",
    )
    for i in range(25):
        notify(
            recipients=[member],
            kind="update_reminder",
            data={"code": f"T{i}", "title": "x"},
            department=sales,
        )
    assert Delivery.objects.filter(channel=channel).count() == 25
    now = (timezone.now() + dt.timedelta(minutes=1)).replace(second=5, microsecond=0)
    drain_all(now)
    assert len(receiver.hits) == 20  # WeCom's 20 a minute, counted by Closeloop itself
    assert Delivery.objects.filter(state=DeliveryState.QUEUED).count() == 5
    drain_all(now + dt.timedelta(seconds=59))  # still within 60 s of the first 20
    assert len(receiver.hits) == 20
    drain_all(now + dt.timedelta(seconds=70))
    assert len(receiver.hits) == 25


def test_it_notifies_500_people_in_a_handful_of_queries(admin_user, django_assert_max_num_queries, receiver):
    channel_create(actor=admin_user, name="mail", kind=ChannelKind.EMAIL)
    webhook(admin_user, receiver.base + "/hook")
    people = UserFactory.create_batch(500)
    # SQLite splits bulk inserts at 999 parameters; PostgreSQL needs 5 queries.
    with django_assert_max_num_queries(20):
        notify(recipients=people, kind="task.assigned", data={"code": "A"})
    assert Notification.objects.count() == 500
    assert Delivery.objects.count() == 501  # 500 emails + one webhook event
    assert json.dumps(Delivery.objects.filter(channel__kind="webhook").get().mentions)


def test_it_is_drained_by_the_core_worker(admin_user, member, receiver):
    from closeloop.core.worker import run_jobs_once

    webhook(admin_user, receiver.base + "/hook")
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    run_jobs_once(timezone.now())
    run_jobs_once(timezone.now())  # twice: still one message
    assert len(receiver.hits) == 1 and Delivery.objects.get().state == DeliveryState.SENT


def test_each_send_is_recorded_as_soon_as_it_succeeds(admin_user, member, receiver, settings, monkeypatch):
    """A worker that dies on the third message of a batch has recorded the first two as sent,
    so nothing already delivered goes out again when its lease runs out (issue 11, item 6)."""
    from closeloop.notify.transports import webhook as webhook_transport

    settings.NOTIFY_SEND_CONCURRENCY = 1
    webhook(admin_user, receiver.base + "/hook")
    for code in ("A", "B", "C"):
        notify(recipients=[member], kind="task.assigned", data={"code": code})
    real = webhook_transport.send
    calls = []

    def dies_on_the_third(channel, message):
        calls.append(message.delivery_id)
        if len(calls) == 3:
            raise SystemExit("killed")
        return real(channel, message)

    monkeypatch.setattr(webhook_transport, "send", dies_on_the_third)
    now = timezone.now()
    with pytest.raises(SystemExit):
        outbox.drain(now, "w1", 50)
    monkeypatch.undo()
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 2
    drain_all(now + dt.timedelta(seconds=settings.NOTIFY_LEASE_SECONDS + 1), "w2")
    assert len(receiver.hits) == 3  # the two sent before the crash, the third once
    assert Delivery.objects.filter(state=DeliveryState.SENT).count() == 3


def test_wecom_app_messages_ask_wecom_to_drop_a_repeated_send(admin_user, member, receiver, settings):
    settings.NOTIFY_WECOM_API_BASE = receiver.base
    receiver.handler = lambda hit: (200, {"errcode": 0, "access_token": "t", "expires_in": 7200}, {})
    member.wecom_id = "lizy"
    member.save()
    channel_create(
        actor=admin_user,
        name="企业微信应用",
        kind=ChannelKind.WECOM_APP,
        config={"corp_id": "ww1", "agent_id": "1000002"},
        secret="S",
    )
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    drain_all(timezone.now())
    body = [h for h in receiver.hits if h.path == "/cgi-bin/message/send"][0].json()
    assert body["enable_duplicate_check"] == 1
    assert body["duplicate_check_interval"] >= settings.NOTIFY_LEASE_SECONDS * 10


def test_messages_held_by_a_permanent_error_or_a_disabled_channel_go_out_when_it_is_enabled(
    admin_user, member, receiver, settings
):
    """Issue 11, item 7: the message that met the permanent error and those written while the
    channel was disabled are all sent, once, after the admin fixes it and enables it again."""
    from closeloop.notify.services import channel_enable, channel_update

    settings.NOTIFY_SEND_CONCURRENCY = 1
    channel = webhook(admin_user, receiver.base + "/old")
    receiver.handler = lambda hit: (410, {"error": "gone"}, {}) if hit.path == "/old" else (200, {}, {})
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    drain_all(timezone.now())
    channel.refresh_from_db()
    assert not channel.enabled
    notify(recipients=[member], kind="task.assigned", data={"code": "B"})  # while disabled
    drain_all(timezone.now())
    assert Delivery.objects.filter(channel=channel, state=DeliveryState.HELD).count() == 2
    channel_update(actor=admin_user, channel=channel, url=receiver.base + "/new")
    channel_enable(actor=admin_user, channel=channel)
    drain_all(timezone.now())
    drain_all(timezone.now())
    new = [h.json()["data"]["code"] for h in receiver.hits if h.path == "/new"]
    assert sorted(new) == ["A", "B"]
    assert set(Delivery.objects.filter(channel=channel).values_list("state", flat=True)) == {
        DeliveryState.SENT
    }


def test_a_disabled_channel_holds_a_bounded_number_and_tells_the_admin_how_many_it_dropped(
    admin_user, member, receiver, settings
):
    from closeloop.notify.services import channel_disable, channel_enable
    from closeloop.testing.clients import english_client

    admin_client = english_client(admin_user)

    settings.NOTIFY_HOLD_MAX = 3
    channel = webhook(admin_user, receiver.base + "/hook")
    channel_disable(actor=admin_user, channel=channel)
    for i in range(5):
        notify(recipients=[member], kind="task.assigned", data={"code": f"T{i}"})
    held = Delivery.objects.filter(channel=channel, state=DeliveryState.HELD)
    assert sorted(d.data["code"] for d in held) == ["T2", "T3", "T4"]  # the oldest went
    channel.refresh_from_db()
    assert channel.held_dropped == 2
    page = admin_client.get("/admin/status/")
    text = page.content.decode()
    assert "holds 3 message(s)" in text and "2 older one(s) were dropped" in text
    listing = admin_client.get("/admin/notify/channel/").content.decode()
    assert ">3<" in listing and ">2<" in listing
    channel_enable(actor=admin_user, channel=channel)
    drain_all(timezone.now())
    assert sorted(h.json()["data"]["code"] for h in receiver.hits) == ["T2", "T3", "T4"]


@pytest.mark.parametrize("kind", [ChannelKind.WECOM_ROBOT, ChannelKind.DINGTALK_ROBOT])
def test_a_robot_gets_at_most_20_messages_in_any_60_seconds_across_a_minute_boundary(
    admin_user, member, sales, receiver, kind
):
    """Issue 11, item 9: per clock minute, 40 went out within 48 s (20 at hh:mm:50, 20 more
    at hh:mm+1:00); the platforms count any 60 s."""
    path = (
        "/cgi-bin/webhook/send?key=abc" if kind == ChannelKind.WECOM_ROBOT else "/robot/send?access_token=t"
    )
    channel = channel_create(
        actor=admin_user, name="群", kind=kind, department=sales, url=receiver.base + path, keyword="闭环"
    )
    for i in range(40):
        notify(recipients=[member], kind="update_reminder", data={"code": f"T{i}"}, department=sales)
    assert Delivery.objects.filter(channel=channel).count() == 40
    start = (timezone.now() + dt.timedelta(minutes=2)).replace(second=50, microsecond=0)
    sent_at = []
    for step in range(0, 180, 5):
        t = start + dt.timedelta(seconds=step)
        before = len(receiver.hits)
        drain_all(t)
        sent_at += [t] * (len(receiver.hits) - before)
    assert len(sent_at) == 40  # all of them, none dropped
    busiest = max(sum(1 for u in sent_at if t <= u < t + dt.timedelta(seconds=60)) for t in sent_at)
    assert busiest == 20
