"""Measurements for the benchmark (bench/ calls these; nothing here runs in production).

- `measure_delivery_rate(url, n)`: queue `n` events that each notify one person in-app and go
  to one signed webhook at `url` (a local receiver), then drain the outbox as a worker does;
  returns deliveries per second of the drain (target ≥ 200/s).
- `measure_notify(n)`: one event that notifies `n` people (in-app, plus an email row each
  when an email channel is enabled) inside one transaction; returns the seconds it took to
  write and commit (target ≤ 0.1 s for 500).
Both create their own people and channel; run them on a scratch database.
"""

import base64
import time
import uuid

from django.db import transaction
from django.utils import timezone

from closeloop.notify import outbox
from closeloop.notify.models import Channel, ChannelKind, Delivery, DeliveryState
from closeloop.notify.services import notify
from closeloop.orgs.models import User


def _people(n: int, tag: str) -> list[User]:
    return User.objects.bulk_create([User(username=f"bench-{tag}-{i}", name=f"压测{i}") for i in range(n)])


def measure_delivery_rate(url: str, n: int = 1000, *, batch: int = 100) -> dict:
    tag = uuid.uuid4().hex[:6]
    secret = "whsec_" + base64.b64encode(b"bench-secret-0123456789abcdef").decode()
    # Created directly: the bench points at a loopback receiver.
    channel = Channel.objects.create(name=f"bench-{tag}", kind=ChannelKind.WEBHOOK, url=url, secret=secret)
    person = _people(1, tag)[0]
    with transaction.atomic():
        for i in range(n):
            notify(
                recipients=[person], kind="task.assigned", data={"code": f"B{i}", "title": "bench"}, link="/"
            )
    start = time.perf_counter()
    done = 0
    while True:
        got = outbox.drain(timezone.now(), f"bench-{tag}", batch)
        done += got
        if got == 0:
            break
    elapsed = time.perf_counter() - start
    sent = Delivery.objects.filter(channel=channel, state=DeliveryState.SENT).count()
    Channel.objects.filter(pk=channel.pk).update(enabled=False)
    return {"deliveries": sent, "seconds": elapsed, "per_second": sent / elapsed if elapsed else 0.0}


def measure_notify(n: int = 500) -> dict:
    people = _people(n, uuid.uuid4().hex[:6])
    start = time.perf_counter()
    with transaction.atomic():
        notify(
            recipients=people, kind="task.assigned", data={"code": "SALES-T001", "title": "bench"}, link="/"
        )
    elapsed = time.perf_counter() - start
    return {"people": n, "seconds": elapsed}
