"""The SSRF guard: user-supplied URLs never reach internal addresses — on create, on update
and at send time — and redirects are never followed."""

import base64

import pytest
from django.utils import timezone

from closeloop.core.errors import ValidationFailed
from closeloop.notify import netguard, outbox
from closeloop.notify.models import ChannelKind, Delivery, DeliveryState
from closeloop.notify.services import channel_create, channel_update, notify

SECRET = "whsec_" + base64.b64encode(b"k" * 24).decode()
INTERNAL = [
    "127.0.0.1",
    "10.0.0.1",
    "169.254.169.254",
    "100.64.0.1",
    "[::ffff:127.0.0.1]",
    "[::1]",
    "192.168.1.5",
]


@pytest.fixture
def no_loopback(settings):
    settings.NOTIFY_ALLOW_LOOPBACK = False


@pytest.mark.parametrize("host", INTERNAL)
def test_it_refuses_internal_addresses_on_create(admin_user, no_loopback, host):
    with pytest.raises(ValidationFailed) as err:
        channel_create(
            actor=admin_user, name="h", kind=ChannelKind.WEBHOOK, url=f"http://{host}/hook", secret=SECRET
        )
    assert "may not be sent there" in err.value.fields["url"][0]


@pytest.mark.parametrize("host", INTERNAL)
def test_it_refuses_internal_addresses_in_the_guard(no_loopback, host):
    with pytest.raises(netguard.UnsafeURL):
        netguard.check_url(f"https://{host}:8443/x")


def test_it_refuses_internal_addresses_on_update(admin_user, receiver, settings):
    channel = channel_create(
        actor=admin_user, name="h", kind=ChannelKind.WEBHOOK, url=receiver.base + "/h", secret=SECRET
    )
    settings.NOTIFY_ALLOW_LOOPBACK = False
    with pytest.raises(ValidationFailed):
        channel_update(actor=admin_user, channel=channel, url="http://169.254.169.254/latest/meta-data/")
    channel.refresh_from_db()
    assert channel.url == receiver.base + "/h"


def test_it_checks_again_at_send_time(admin_user, member, receiver, settings):
    channel = channel_create(
        actor=admin_user, name="h", kind=ChannelKind.WEBHOOK, url=receiver.base + "/h", secret=SECRET
    )
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    settings.NOTIFY_ALLOW_LOOPBACK = False
    outbox.drain(timezone.now(), "w", 10)
    assert receiver.hits == []
    d = Delivery.objects.get()
    assert d.state == DeliveryState.HELD and "loopback" in d.last_error
    channel.refresh_from_db()
    assert not channel.enabled


def test_it_lets_an_allowlisted_intranet_host_through(no_loopback, settings):
    settings.NOTIFY_ALLOWLIST = ["127.0.0.0/8"]
    assert netguard.check_url("http://127.0.0.1:9/x")[3] == "127.0.0.1"


@pytest.mark.parametrize(
    "target",
    [
        "http://10.0.0.1/",
        "http://169.254.169.254/latest/meta-data/",
        "http://100.64.0.1/",
        "http://[::ffff:127.0.0.1]/",
        "LOCAL",
    ],
)
def test_it_never_follows_a_redirect(admin_user, member, receiver, receiver2, target):
    if target == "LOCAL":
        target = receiver2.base + "/internal"
    channel = channel_create(
        actor=admin_user, name="h", kind=ChannelKind.WEBHOOK, url=receiver.base + "/h", secret=SECRET
    )
    receiver.script = [(302, b"", {"Location": target})]
    notify(recipients=[member], kind="task.assigned", data={"code": "A"})
    outbox.drain(timezone.now(), "w", 10)
    assert len(receiver.hits) == 1 and receiver2.hits == []
    d = Delivery.objects.get()
    assert d.state == DeliveryState.HELD and "redirect" in d.last_error
    channel.refresh_from_db()
    assert not channel.enabled


def test_it_connects_to_the_checked_address(monkeypatch, no_loopback):
    # A resolver that answers differently the second time (DNS rebinding) cannot win:
    # the guard resolves once and the connection uses that address.
    import socket

    answers = iter(
        [
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("93.184.216.34", 80))],
            [(socket.AF_INET, socket.SOCK_STREAM, 6, "", ("127.0.0.1", 80))],
        ]
    )
    monkeypatch.setattr(socket, "getaddrinfo", lambda *a, **k: next(answers))
    assert netguard.check_url("http://rebind.example/")[3] == "93.184.216.34"
