"""Exactly-once delivery as people see it (issue 11, item 6): the worker runs in a child
process and is killed with SIGKILL again and again in the middle of delivering — sometimes
after the platform showed a message but before the worker heard back, sometimes just after
the answer — then delivery finishes. Local platforms deduplicate the way the real ones do
(WeCom app `enable_duplicate_check`, Feishu `uuid`, a Standard Webhooks consumer by
`webhook-id`); what a person is shown is counted: nothing lost, nothing twice."""

import gc
import json
import os
import random
import signal
import threading
import time
from collections import Counter

import pytest
from django.db import connections
from django.utils import timezone

from closeloop.notify import outbox
from closeloop.notify.models import ChannelKind, Delivery, DeliveryState
from closeloop.notify.services import channel_create, notify
from closeloop.notify.tests.receivers import Receiver
from closeloop.notify.tests.test_outbox import SECRET
from closeloop.testing.factories import UserFactory

KILLS = 50
PEOPLE = 24
EACH = 4  # notifications per person: 96 WeCom + 96 Feishu + 96 webhook messages


class Platforms:
    """WeCom, Feishu and a webhook consumer on one local server. `shown` is what people saw
    after each platform's own deduplication; `posts` every send that reached it."""

    def __init__(self):
        self.lock = threading.Lock()
        self.posts: Counter = Counter()
        self.shown: Counter = Counter()
        self.first_seen: dict[tuple, float] = {}
        self.child = 0
        self.kill_at = None  # kill the worker inside this request, before it hears back

    def _dedup(self, key: tuple, window: float) -> None:
        now = time.monotonic()
        seen = self.first_seen.get(key)
        if seen is not None and now - seen < window:
            return  # the platform answers ok and shows nothing new
        self.first_seen[key] = now
        self.shown[key[0:2]] += 1

    def __call__(self, hit):
        ok = (200, {"errcode": 0, "errmsg": "ok", "code": 0, "msg": "success", "invaliduser": ""}, {})
        if hit.path == "/cgi-bin/gettoken":
            return 200, {"errcode": 0, "access_token": "wt", "expires_in": 7200}, {}
        if hit.path == "/open-apis/auth/v3/tenant_access_token/internal":
            return 200, {"code": 0, "tenant_access_token": "ft", "expire": 7200}, {}
        body = hit.json()
        with self.lock:
            if hit.path == "/cgi-bin/message/send":
                content = json.dumps(body["textcard"], sort_keys=True, ensure_ascii=False)
                key = ("wecom", (body["touser"], body["textcard"]["title"]))
                self.posts[key] += 1
                if body.get("enable_duplicate_check") == 1:
                    self._dedup((*key, content), float(body.get("duplicate_check_interval", 1800)))
                else:
                    self.shown[key] += 1
            elif hit.path == "/open-apis/im/v1/messages":
                key = (
                    "feishu",
                    (body["receive_id"], json.loads(body["content"])["header"]["title"]["content"]),
                )
                self.posts[key] += 1
                if body.get("uuid"):
                    self._dedup((*key, body["uuid"]), 3600)
                else:
                    self.shown[key] += 1
            else:  # the webhook consumer keeps the ids it processed
                key = ("webhook", body["data"]["code"])
                self.posts[key] += 1
                self._dedup((*key, hit.headers["webhook-id"]), 86400)
            total = sum(self.posts.values())
            if self.kill_at is not None and total >= self.kill_at and self.child:
                self.kill_at = None
                os.kill(self.child, signal.SIGKILL)
        return ok


def _run_worker_in_child() -> int:
    """Fork a process that runs the real worker loop on its own database connections."""
    pid = os.fork()
    if pid:
        return pid
    try:  # child: never touch (nor, by garbage collection, close) the parent's connections
        inherited = [c.connection for c in connections.all(initialized_only=True)]
        for c in connections.all(initialized_only=True):
            c.connection = None
        gc.disable()
        from closeloop.core.worker import Worker

        Worker(worker_id=f"crashy:{os.getpid()}", batch=8).run_forever()
        del inherited
    finally:
        os._exit(0)


def _settled() -> bool:
    return not Delivery.objects.filter(state__in=[DeliveryState.QUEUED, DeliveryState.SENDING]).exists()


@pytest.mark.django_db(transaction=True)
def test_killing_the_worker_50_times_mid_delivery_loses_nothing_and_shows_nothing_twice(settings):
    platforms = Platforms()
    receiver = Receiver(handler=platforms).start()
    try:
        settings.NOTIFY_WECOM_API_BASE = receiver.base
        settings.NOTIFY_FEISHU_API_BASE = receiver.base
        settings.NOTIFY_LEASE_SECONDS = 1  # a dead worker's claim runs out quickly
        settings.WORKER_POLL_SECONDS = 0.02
        settings.NOTIFY_SEND_CONCURRENCY = 4
        admin = UserFactory(username="crash-admin", is_superuser=True, is_staff=True)
        channel_create(
            actor=admin,
            name="企业微信应用",
            kind=ChannelKind.WECOM_APP,
            config={"corp_id": "ww1", "agent_id": "1000002"},
            secret="S",
        )
        channel_create(
            actor=admin, name="飞书应用", kind=ChannelKind.FEISHU_APP, config={"app_id": "cli_1"}, secret="S"
        )
        channel_create(
            actor=admin, name="ERP", kind=ChannelKind.WEBHOOK, url=receiver.base + "/hook", secret=SECRET
        )
        people = [
            UserFactory(username=f"c{i}", wecom_id=f"wc{i}", feishu_id=f"ou_{i}") for i in range(PEOPLE)
        ]
        for n in range(EACH):
            for p in people:
                notify(
                    recipients=[p],
                    kind="task.assigned",
                    data={"code": f"{p.username}-{n}", "title": "t", "by": "王总"},
                )
        expected = Delivery.objects.count()
        assert expected == 3 * PEOPLE * EACH

        rng = random.Random(11)
        kills = 0
        while kills < KILLS:
            assert not _settled(), f"delivery finished after only {kills} kills"
            before = sum(platforms.posts.values())
            inside = rng.random() < 0.5
            target = before + rng.randint(1, 3)
            pid = _run_worker_in_child()
            platforms.child = pid
            if inside:  # the platform shows it, the worker never hears back
                platforms.kill_at = target
            deadline = time.monotonic() + 10
            while time.monotonic() < deadline:
                done, status = os.waitpid(pid, os.WNOHANG)
                if done:
                    break
                if not inside and sum(platforms.posts.values()) >= target:
                    time.sleep(rng.uniform(0, 0.004))  # just after the answer, while recording
                    os.kill(pid, signal.SIGKILL)
                    _done, status = os.waitpid(pid, 0)
                    break
                time.sleep(0.0005)
            else:
                os.kill(pid, signal.SIGKILL)
                _done, status = os.waitpid(pid, 0)
            platforms.kill_at = None
            assert os.WIFSIGNALED(status) and os.WTERMSIG(status) == signal.SIGKILL
            kills += 1

        # Let delivery finish: one more worker, not killed, until nothing is left.
        deadline = time.monotonic() + 60
        while not _settled() and time.monotonic() < deadline:
            outbox.drain(timezone.now(), "finisher", 50)
            time.sleep(0.1)
        assert _settled()

        counts: dict[str, dict[str, int]] = {}
        for platform in ("wecom", "feishu", "webhook"):
            shown = {k: v for k, v in platforms.shown.items() if k[0] == platform}
            posts = sum(v for k, v in platforms.posts.items() if k[0] == platform)
            counts[platform] = {
                "shown": len(shown),
                "lost": PEOPLE * EACH - len(shown),
                "twice": sum(v - 1 for v in shown.values()),
                "resent": posts - len(shown),
            }
        print(f"\nkills={kills} deliveries={expected} {counts}")
        for platform, c in counts.items():
            assert c["lost"] == 0, (platform, c)
            assert c["twice"] == 0, (platform, c)
        assert Delivery.objects.filter(state=DeliveryState.SENT).count() == expected
    finally:
        receiver.stop()
