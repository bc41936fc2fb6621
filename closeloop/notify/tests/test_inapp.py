"""In-app notifications: the bell on every page, the list, mark read / all read, the API —
each person sees only their own."""

import base64

import pytest
from django.urls import reverse

from closeloop.notify.models import Channel, ChannelKind, Delivery, Notification
from closeloop.notify.services import channel_create, notify
from closeloop.orgs.services import api_token_create
from closeloop.testing.factories import make_task


def bearer(user):
    return {"HTTP_AUTHORIZATION": f"Bearer {api_token_create(actor=user, name='t')[1]}"}


def test_it_tells_the_owner_when_a_task_is_assigned_in_their_language(head, member, sales):
    member.language = "en"
    member.save()
    make_task(actor=head, department=sales, owner=member, title="月度销售报表")
    note = Notification.objects.get(recipient=member)
    assert note.kind == "task.assigned"
    r = note.render()
    assert r.title.startswith("王总 assigned you SALES-T") and "月度销售报表" in r.title
    assert not Notification.objects.filter(recipient=head).exists()  # never the actor


def test_it_shows_the_unread_count_in_the_bell_on_every_page(client, task, member, head):
    client.force_login(member)
    html = client.get(reverse("tasks:home")).content.decode()
    assert 'id="notify-bell"' in html and 'data-unread="1"' in html
    client.force_login(head)
    html = client.get(reverse("tasks:home")).content.decode()
    assert 'id="notify-bell"' in html and "data-unread" not in html


def test_it_lists_only_my_notifications(client, task, member, outsider):
    client.force_login(member)
    html = client.get(reverse("notify:list")).content.decode()
    assert "老用户召回活动" in html
    client.force_login(outsider)
    html = client.get(reverse("notify:list")).content.decode()
    assert "老用户召回活动" not in html


def test_it_marks_read_and_refuses_someone_elses(client, task, member, outsider):
    note = Notification.objects.get(recipient=member)
    client.force_login(outsider)
    assert client.post(reverse("notify:read", args=[note.pk])).status_code == 404
    note.refresh_from_db()
    assert note.read_at is None
    client.force_login(member)
    response = client.post(reverse("notify:read", args=[note.pk]), HTTP_HX_REQUEST="true")
    assert response.status_code == 200 and response["HX-Trigger"] == "notify:changed"
    note.refresh_from_db()
    assert note.read_at is not None


def test_it_opens_the_link_and_marks_read(client, task, member):
    note = Notification.objects.get(recipient=member)
    client.force_login(member)
    response = client.get(reverse("notify:open", args=[note.pk]))
    assert response.status_code == 302 and response["Location"] == task.get_absolute_url()
    assert Notification.objects.get(pk=note.pk).read_at is not None


def test_it_marks_all_read(client, head, member, sales):
    for i in range(3):
        make_task(actor=head, department=sales, owner=member, title=f"任务{i}")
    client.force_login(member)
    client.post(reverse("notify:read_all"))
    assert not Notification.objects.filter(recipient=member, read_at__isnull=True).exists()


@pytest.mark.parametrize("n", [10, 100])
def test_it_lists_in_constant_queries(client, member, head, n, django_assert_max_num_queries):
    for i in range(n):
        notify(
            recipients=[member],
            kind="task.assigned",
            data={"code": f"T{i}", "title": "x", "by": "王总"},
            actor=head,
        )
    client.force_login(member)
    with django_assert_max_num_queries(8):
        assert client.get(reverse("notify:list")).status_code == 200
    with django_assert_max_num_queries(12):  # token auth included
        data = client.get("/api/v1/notifications?limit=200", **bearer(member)).json()
    assert data["count"] == n and data["unread"] == n and len(data["items"]) == n


def test_it_serves_notifications_over_the_api(client, task, member, outsider):
    data = client.get("/api/v1/notifications", **bearer(member)).json()
    (item,) = data["items"]
    assert item["kind"] == "task.assigned" and item["link"].startswith("https://closeloop.example.com/")
    assert client.get("/api/v1/notifications", **bearer(outsider)).json()["count"] == 0
    assert client.post(f"/api/v1/notifications/{item['id']}/read", **bearer(outsider)).status_code == 404
    assert client.post(f"/api/v1/notifications/{item['id']}/read", **bearer(member)).json()["read_at"]
    assert client.post("/api/v1/notifications/read-all", **bearer(member)).json() == {"marked": 0}


def test_it_saves_preferences_from_the_page(client, member):
    member.language = "en"
    member.save()
    client.force_login(member)
    assert client.get(reverse("notify:preferences")).status_code == 200
    response = client.post(
        reverse("notify:preferences"),
        {
            "quiet_start": "22:00",
            "quiet_end": "08:00",
            "digest_minutes": "15",
            "route__task__assigned__custom": "on",
            "route__task__assigned": ["email"],
        },
    )
    assert response.status_code == 302
    pref = member.notify_preference
    assert pref.digest_minutes == 15 and pref.routes == {"task.assigned": ["email"]}
    response = client.post(reverse("notify:preferences"), {"quiet_start": "22:00", "digest_minutes": "0"})
    # Nothing saved: 422 with the summary above the form, as every form answers.
    assert response.status_code == 422 and "quiet" in response.content.decode().lower()
    assert "Nothing was saved" in response.content.decode()


# -- channels API and admin ---------------------------------------------------------

SECRET = "whsec_" + base64.b64encode(b"s" * 32).decode()


def test_it_masks_secrets_in_the_channels_api(client, admin_user, receiver):
    created = client.post(
        "/api/v1/channels",
        {
            "name": "ERP",
            "kind": "webhook",
            "url": receiver.base + "/hook?token=SUPERSECRETTOKEN",
            "secret": SECRET,
        },
        content_type="application/json",
        **bearer(admin_user),
    )
    assert created.status_code == 201, created.content
    body = created.content.decode()
    assert "SUPERSECRETTOKEN" not in body and SECRET not in body
    listed = client.get("/api/v1/channels", **bearer(admin_user)).content.decode()
    assert "SUPERSECRETTOKEN" not in listed and SECRET not in listed
    cid = created.json()["id"]
    test = client.post(f"/api/v1/channels/{cid}/test", **bearer(admin_user)).json()
    assert test["state"] == "sent" and len(receiver.hits) == 1
    patched = client.patch(
        f"/api/v1/channels/{cid}",
        {"name": "ERP 2", "secret": ""},
        content_type="application/json",
        **bearer(admin_user),
    )
    assert patched.json()["name"] == "ERP 2" and Channel.objects.get().secret == SECRET
    bad = client.patch(
        f"/api/v1/channels/{cid}", {"url": "ftp://x"}, content_type="application/json", **bearer(admin_user)
    )
    assert bad.status_code == 422 and "url" in bad.json()["fields"]
    disabled = client.post(
        f"/api/v1/channels/{cid}/disable",
        {"reason": "maintenance"},
        content_type="application/json",
        **bearer(admin_user),
    ).json()
    assert disabled["enabled"] is False and disabled["disabled_reason"] == "maintenance"


def test_it_lets_only_admins_near_channels(client, head, admin_user, receiver):
    channel = channel_create(
        actor=admin_user, name="ERP", kind=ChannelKind.WEBHOOK, url=receiver.base + "/h", secret=SECRET
    )
    assert client.get("/api/v1/channels", **bearer(head)).status_code == 403
    assert client.post(f"/api/v1/channels/{channel.pk}/test", **bearer(head)).status_code == 403
    assert receiver.hits == []


def test_it_shows_channels_in_the_admin_with_masked_secrets_and_errors(client, admin_user, member, receiver):
    admin_user.language = "en"
    admin_user.save()
    channel = channel_create(
        actor=admin_user,
        name="ERP",
        kind=ChannelKind.WEBHOOK,
        url=receiver.base + "/hook?token=SUPERSECRETTOKEN",
        secret=SECRET,
    )
    receiver.script = [(200, b"", {}), (400, {"error": "unknown event type"}, {})]
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:notify_channel_changelist"),
        {"action": "send_test", "_selected_action": [channel.pk]},
        follow=True,
    )
    assert "test message sent" in response.content.decode()
    client.post(
        reverse("admin:notify_channel_changelist"), {"action": "send_test", "_selected_action": [channel.pk]}
    )
    for url in (
        reverse("admin:notify_channel_changelist"),
        reverse("admin:notify_channel_change", args=[channel.pk]),
    ):
        html = client.get(url).content.decode()
        assert "SUPERSECRETTOKEN" not in html and SECRET not in html
        assert "unknown event type" in html
    deliveries = client.get(reverse("admin:notify_delivery_changelist")).content.decode()
    assert "unknown event type" in deliveries
    failed = Delivery.objects.filter(state="failed").get()
    client.post(
        reverse("admin:notify_delivery_changelist"), {"action": "resend", "_selected_action": [failed.pk]}
    )
    failed.refresh_from_db()
    assert failed.state == "queued" and failed.attempts == 0


def test_it_refuses_a_bad_channel_in_the_admin_form(client, admin_user):
    admin_user.language = "en"
    admin_user.save()
    client.force_login(admin_user)
    response = client.post(
        reverse("admin:notify_channel_add"),
        {
            "name": "x",
            "kind": "webhook",
            "url": "http://10.0.0.1/h",
            "secret": SECRET,
            "config": "{}",
            "events": "[]",
        },
    )
    assert response.status_code == 200
    assert "may not be sent there" in response.content.decode()
    assert not Channel.objects.exists()
