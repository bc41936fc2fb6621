"""The demo's failed channel, for `closeloop demo` (idempotent).

Runs after the demo people and tasks exist. The bell's notifications are those the real
services wrote as each demo step ran at its moment (assigned, submitted, accepted, sent back,
issues, delay warnings, the weekly review): none is made up here, so what the bell says about
a task always matches the task's page and its history (a tester found invented ones: "sent
back" and "delay requested" for a task accepted a week before). `notify` does not know tasks,
so the failed group message reuses the code, title and link of a task the specialist was
assigned and that was not accepted since."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from closeloop.notify.models import Channel, ChannelKind, Delivery, DeliveryState, Notification
from closeloop.orgs.models import Department, User

DEMO_ERROR = "WeCom error 93000: invalid webhook url, hint: [1732751234_345_abcdef], from ip: 203.0.113.7"


def _ref(user: User) -> tuple[dict, str]:
    """Code, title and link of a task `user` was assigned in the demo and that is still open
    as far as the bell knows (no "accepted" notification for it): the first such, else the
    first assigned one, else a placeholder."""
    assigned = Notification.objects.filter(recipient=user, kind="task.assigned").order_by("created_at", "id")
    done = set(Notification.objects.filter(kind="task.accepted").values_list("link", flat=True))
    note = next((n for n in assigned if n.link not in done), None) or assigned.first()
    if note is None:
        return {"code": "SALES-T001", "title": "老用户召回活动"}, "/"
    data = {k: note.data.get(k) for k in ("task", "code", "title") if k in note.data}
    return data, note.link


@transaction.atomic
def seed_demo() -> None:
    if Channel.objects.filter(name="销售部企业微信群").exists():
        return
    people = {u.username: u for u in User.objects.filter(is_active=True)}
    now = timezone.now()

    sales = Department.objects.filter(code="SALES").first()
    if sales is not None:
        # A channel whose key was revoked on the platform: the worker met a permanent error,
        # recorded WeCom's own text and disabled it. Created directly (no DNS on a demo box).
        channel = Channel.objects.create(
            name="销售部企业微信群",
            kind=ChannelKind.WECOM_ROBOT,
            department=sales,
            url="https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=693a91f6-7xxx-4bc4-97a0-0ec2sifa5aaa",
            enabled=False,
            disabled_reason=DEMO_ERROR,
            last_error=DEMO_ERROR,
            last_error_at=now - timedelta(hours=1),
            last_success_at=now - timedelta(days=1),
        )
        ref, link = _ref(people.get("sales_specialist") or next(iter(people.values())))
        mentions = [people[u].pk for u in ("sales_specialist", "sales_manager") if u in people]
        Delivery.objects.create(
            channel=channel,
            kind="update_reminder",
            data={**ref, "demo": True},
            link=link,
            mentions=mentions,
            state=DeliveryState.FAILED,
            run_after=now - timedelta(hours=1),
            attempts=1,
            last_error=DEMO_ERROR,
            created_at=now - timedelta(hours=1),
        )
        Delivery.objects.create(
            channel=channel,
            kind="weekly_review.ready",
            data={"department": sales.name, "demo": True},
            link="/",
            state=DeliveryState.SENT,
            run_after=now - timedelta(days=1),
            attempts=1,
            created_at=now - timedelta(days=1),
            sent_at=now - timedelta(days=1),
        )
        admin = people.get("admin")
        if admin is not None:
            Notification.objects.create(
                recipient=admin,
                kind="channel.disabled",
                data={"channel": channel.name, "channel_id": channel.pk, "error": DEMO_ERROR, "demo": True},
                link=f"/admin/notify/channel/{channel.pk}/change/",
            )
