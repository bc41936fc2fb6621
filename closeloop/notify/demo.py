"""Demo notifications and a demo channel, for `closeloop demo` (idempotent).

Runs after the demo people and tasks exist. `notify` does not know tasks, so the events
reuse the task codes, titles and links of the "assigned" notifications the demo's own
task services already wrote."""

from datetime import timedelta

from django.db import transaction
from django.utils import timezone

from closeloop.notify.models import Channel, ChannelKind, Delivery, DeliveryState, Notification
from closeloop.orgs.models import Department, User

DEMO_ERROR = "WeCom error 93000: invalid webhook url, hint: [1732751234_345_abcdef], from ip: 203.0.113.7"


def _ref(user: User) -> tuple[dict, str]:
    """Code, title and link of a task the person was assigned in the demo, if any."""
    note = (
        Notification.objects.filter(recipient=user, kind="task.assigned").order_by("created_at", "id").first()
        or Notification.objects.filter(kind="task.assigned").order_by("created_at", "id").first()
    )
    if note is None:
        return {"code": "SALES-T001", "title": "老用户召回活动"}, "/"
    data = {k: note.data.get(k) for k in ("task", "code", "title") if k in note.data}
    return data, note.link


@transaction.atomic
def seed_demo() -> None:
    if Notification.objects.filter(data__demo=True).exists():
        return
    people = {u.username: u for u in User.objects.filter(is_active=True)}
    now = timezone.now()
    rows: list[Notification] = []
    ages: list[float] = []

    def add(
        username: str,
        kind: str,
        extra: dict,
        *,
        by: str | None = None,
        ago_hours: float = 1,
        read: bool = False,
    ):
        user = people.get(username)
        if user is None:
            return
        actor = people.get(by) if by else None
        ref, link = _ref(people.get("sales_specialist") or user)
        data = {**ref, **extra, "demo": True}
        if actor is not None:
            data.setdefault("by", actor.display_name)
        rows.append(
            Notification(
                recipient=user,
                kind=kind,
                data=data,
                link=link,
                actor=actor,
                read_at=now if read else None,
            )
        )
        ages.append(ago_hours)

    due = (now + timedelta(days=2)).date().isoformat()
    add(
        "sales_head",
        "delay_warning.raised",
        {"new_due": due, "note": "客户数据延迟提供"},
        by="sales_specialist",
    )
    add("sales_head", "task.submitted", {"note": "报表已完成，请验收"}, by="sales_manager", ago_hours=5)
    add("sales_manager", "task.rework", {"note": "数据准确率未达到 95%"}, by="sales_head", ago_hours=3)
    add("sales_specialist", "update_reminder", {}, ago_hours=0.5)
    add("sales_specialist", "due_soon", {"due": due}, ago_hours=2)
    add(
        "sales_specialist",
        "mentioned",
        {"note": "@李专员 请补充渠道数据"},
        by="marketing_specialist",
        ago_hours=6,
    )
    # Issues (raised, escalated) are the collaboration demo's real ones, linking to the issue.
    add("product_head", "task.collaborator_added", {}, by="sales_head", ago_hours=30, read=True)
    add("ops_head", "delay_warning.decided", {"approved": True, "new_due": due}, by="ops_head", ago_hours=12)
    add("tech_head", "task.blocked", {"note": "等待数据接口权限"}, by="sales_specialist", ago_hours=2)
    for username in ("sales_head", "marketing_head", "product_head", "ops_head", "tech_head"):
        dept = Department.objects.filter(head__username=username).first()
        add(
            username,
            "weekly_review.ready",
            {"department": dept.name if dept else ""},
            ago_hours=20,
            read=True,
        )
    # created_at is auto_now_add: move each back in time so the list looks lived-in.
    for note, hours in zip(Notification.objects.bulk_create(rows), ages, strict=True):
        Notification.objects.filter(pk=note.pk).update(created_at=now - timedelta(hours=hours))

    sales = Department.objects.filter(code="SALES").first()
    if sales is not None and not Channel.objects.filter(name="销售部企业微信群").exists():
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
