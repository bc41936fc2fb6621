"""The one entry point feature services use to tell people something, and the writes of the
notification layer (channels, preferences, read marks, resends).

Call `notify()` inside the feature's transaction: the notification rows and the outbox rows
(`Delivery`) commit (or roll back) with the change that caused them. Nothing is sent inline;
the worker drains the outbox. Rendering happens when the message is shown or delivered, in
each recipient's language.
"""

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import NotAllowed, NotFound, ValidationFailed
from closeloop.notify.kinds import KINDS
from closeloop.notify.models import (
    GROUP_KINDS,
    PERSONAL_KINDS,
    Channel,
    ChannelKind,
    Delivery,
    DeliveryState,
    Notification,
    Preference,
)
from closeloop.notify.selectors import forget_unread_count
from closeloop.orgs.models import Department, User

# Which person field a personal channel needs.
REACH_FIELD = {
    ChannelKind.EMAIL: "email",
    ChannelKind.WECOM_APP: "wecom_id",
    ChannelKind.DINGTALK_APP: "dingtalk_id",
    ChannelKind.FEISHU_APP: "feishu_id",
}
APP_KINDS = (ChannelKind.WECOM_APP, ChannelKind.DINGTALK_APP, ChannelKind.FEISHU_APP)
# Group news that should not @-mention everybody.
NO_MENTION_KINDS = {"weekly_review.ready"}


def _channel_carries(channel: Channel, kind: str) -> bool:
    if channel.events:
        return kind in channel.events
    if channel.kind == ChannelKind.WEBHOOK:
        return True
    spec = KINDS.get(kind)
    if channel.kind in GROUP_KINDS:
        return bool(spec and spec.group)
    return True


def _reachable(user: User, channel_kind: str) -> bool:
    return bool(getattr(user, REACH_FIELD.get(channel_kind, ""), ""))


def personal_channel_kinds(user: User, kind: str, pref: Preference | None, available: set[str]) -> set[str]:
    """The personal channel kinds `kind` goes to for `user`: their preference if they set
    one for this kind, else the default — their IM apps when the event asks them to act,
    email when no IM app reaches them."""
    if pref is not None and kind in (pref.routes or {}):
        wanted = set(pref.routes[kind] or [])
    else:
        spec = KINDS.get(kind)
        if not (spec and spec.personal):
            return set()
        wanted = {k for k in APP_KINDS if k in available and _reachable(user, k)}
        if not wanted:
            wanted = {ChannelKind.EMAIL}
    return {k for k in wanted if k in available and _reachable(user, k)}


@dataclass(frozen=True)
class Message:
    """One message of `notify_batch()`: what one `notify()` call takes besides the kind and
    the actor — its recipients, the data to render, the link, the department whose group
    channels carry it (None: only company-wide webhooks) and whether those @-mention the
    recipients (None: yes except for the weekly review)."""

    recipients: Sequence[User | None]
    data: dict[str, Any]
    link: str = ""
    department: Department | int | None = None
    mention: bool | None = None


def notify(
    *,
    recipients: Iterable[User],
    kind: str,
    data: dict[str, Any],
    link: str = "",
    actor: User | None = None,
    department: Department | int | None = None,
    mention: bool | None = None,
) -> list[Notification]:
    """Queue one in-app notification per distinct active recipient (never the actor), one
    outbox row per recipient personal channel, and one per group channel of `department`
    (plus company-wide webhooks) that carries this kind.

    Call inside the caller's transaction; a few queries whatever the number of recipients.
    `department` routes department-wide news to the department's group; `mention` (default:
    yes except for the weekly review) @-mentions the recipients there."""
    message = Message(
        recipients=list(recipients), data=data, link=link, department=department, mention=mention
    )
    return notify_batch(kind=kind, messages=[message], actor=actor)


def notify_batch(*, kind: str, messages: Iterable[Message], actor: User | None = None) -> list[Notification]:
    """Queue many messages of one `kind` at once: exactly what calling `notify()` once per
    `Message` would queue — in-app rows for each message's distinct active recipients (never
    the actor), their personal channels by their preferences (digests join the open digest,
    also one opened earlier in the same batch), each message's department group channels and
    company-wide webhooks — in a constant number of queries however many messages (the
    inserts are split in batches of the database's parameter limit). For the job sweeps: a
    reminder per person, a rung per issue. Returns the in-app notifications, message by
    message. Call inside the caller's transaction."""
    now = timezone.now()
    plan: list[tuple[list[User], Message, int | None]] = []
    for message in messages:
        seen: set[int] = set()
        users: list[User] = []
        for user in message.recipients:
            if (
                user is None
                or user.pk in seen
                or (actor is not None and user.pk == actor.pk)
                or not user.is_active
            ):
                continue
            seen.add(user.pk)
            users.append(user)
        dept = message.department
        plan.append((users, message, dept.pk if isinstance(dept, Department) else dept))
    actor_id = actor.pk if actor is not None else None
    # Foreign keys by id: a sweep builds thousands of rows, and the descriptors cost more
    # than the inserts.
    notifications = Notification.objects.bulk_create(
        [
            Notification(recipient_id=u.pk, kind=kind, data=m.data, link=m.link, actor_id=actor_id)
            for users, m, _dept in plan
            for u in users
        ]
    )
    anyone = any(users for users, _m, _dept in plan)
    dept_ids = {dept for _users, _m, dept in plan if dept is not None}
    channel_q = Q(kind__in=PERSONAL_KINDS, department__isnull=True) if anyone else Q(pk__in=[])
    channel_q |= Q(kind=ChannelKind.WEBHOOK, department__isnull=True)
    if dept_ids:
        channel_q |= Q(kind__in=GROUP_KINDS, department_id__in=dept_ids)
    # Disabled channels too: their messages are held until the admin enables them again
    # (not the notices about channels themselves, which are for the admins now).
    if kind.startswith("channel."):
        channel_q &= Q(enabled=True)
    channels = [c for c in Channel.objects.filter(channel_q) if _channel_carries(c, kind)]
    if not channels:
        return notifications

    rows: list[Delivery] = []
    personal = {c.kind: c for c in channels if c.kind in PERSONAL_KINDS}
    prefs: dict = {}
    open_digests: dict = {}
    if personal and anyone:
        prefs, open_digests = _preferences_and_open_digests(
            list({u.pk for users, _m, _dept in plan for u in users})
        )
    notes = iter(notifications)
    for users, message, dept_id in plan:
        for user in users:
            note = next(notes)
            if personal:
                rows += _personal_deliveries(
                    user,
                    kind,
                    prefs.get(user.pk),
                    personal,
                    open_digests,
                    note,
                    message.data,
                    message.link,
                    now,
                )
        mention = message.mention if message.mention is not None else kind not in NO_MENTION_KINDS
        mentions = [u.pk for u in users] if mention else []
        for channel in channels:
            if channel.kind in GROUP_KINDS and channel.department_id in (None, dept_id):
                rows.append(
                    Delivery(
                        channel=channel,
                        kind=kind,
                        data=message.data,
                        link=message.link,
                        mentions=mentions,
                        run_after=now,
                        created_at=now,
                    )
                )
    _hold_for_disabled(rows)
    Delivery.objects.bulk_create(rows)
    held_trim({r.channel_id for r in rows if r.state == DeliveryState.HELD})
    return notifications


def notify_each(
    *,
    kind: str,
    messages: Iterable[tuple[User, dict[str, Any], str]],
    actor: User | None = None,
) -> list[Notification]:
    """Queue one message per (recipient, data, link) of one `kind`: what calling `notify()`
    once per message would queue (the in-app row, one outbox row per personal channel of the
    recipient, one per company-wide webhook that carries the kind; never to the actor or an
    inactive person), in a constant number of queries however many messages — for bulk writes
    that tell each person their own news (the importer's one digest per owner). No department
    group copies: that news is personal. Call inside the caller's transaction."""
    todo: list[tuple[User, dict[str, Any], str]] = [
        (user, data, link)
        for user, data, link in messages
        if user is not None and user.is_active and not (actor is not None and user.pk == actor.pk)
    ]
    if not todo:
        return []
    # Whole rows, once: callers often hold people loaded with a few fields only, and the
    # channels read their addresses.
    people = User.objects.in_bulk({u.pk for u, _data, _link in todo})
    return notify_batch(
        kind=kind,
        messages=[
            Message(recipients=[people[u.pk]], data=data, link=link, mention=True)
            for u, data, link in todo
            if u.pk in people
        ],
        actor=actor,
    )


def notify_group_batch(*, kind: str, posts: Iterable[tuple[int, dict[str, Any], str]]) -> list[Delivery]:
    """Many `notify_group()` posts of one `kind` without mentions — (department id, data,
    link) each — in a constant number of queries: one message per group channel of each
    department that carries the kind. Call inside the caller's transaction."""
    posts = list(posts)
    if not posts:
        return []
    by_dept: dict[int, list[Channel]] = {}
    for c in Channel.objects.filter(kind__in=GROUP_KINDS, department_id__in={d for d, _data, _link in posts}):
        if _channel_carries(c, kind):
            by_dept.setdefault(c.department_id, []).append(c)
    now = timezone.now()
    rows = [
        Delivery(channel=c, kind=kind, data=data, link=link, mentions=[], run_after=now, created_at=now)
        for dept_id, data, link in posts
        for c in by_dept.get(dept_id, ())
    ]
    _hold_for_disabled(rows)
    rows = Delivery.objects.bulk_create(rows)
    held_trim({r.channel_id for r in rows if r.state == DeliveryState.HELD})
    return rows


def _hold_for_disabled(rows: list[Delivery]) -> None:
    for row in rows:
        if not row.channel.enabled:
            row.state = DeliveryState.HELD


def held_trim(channel_ids: Iterable[int]) -> int:
    """Keep at most `NOTIFY_HOLD_MAX` held messages per channel: delete the oldest beyond it
    and add their number to the channel's `held_dropped`, which the admin sees on the channel
    list and the status page (issue 11, item 7). Returns how many were dropped."""
    limit = max(int(getattr(settings, "NOTIFY_HOLD_MAX", 1000)), 0)
    dropped = 0
    for channel_id in sorted(set(channel_ids)):
        held = Delivery.objects.filter(channel_id=channel_id, state=DeliveryState.HELD)
        over = held.count() - limit
        if over <= 0:
            continue
        oldest = list(held.order_by("created_at", "id").values_list("id", flat=True)[:over])
        n, _rows = Delivery.objects.filter(pk__in=oldest, state=DeliveryState.HELD).delete()
        n = min(n, len(oldest))  # a cascade would count related rows too; there are none
        Channel.objects.filter(pk=channel_id).update(held_dropped=F("held_dropped") + n)
        dropped += n
    return dropped


def notify_group(
    *,
    department: Department | int,
    kind: str,
    data: dict[str, Any],
    link: str = "",
    mentions: Iterable[User] = (),
) -> list[Delivery]:
    """Post one message to the department's IM group channels, @-mentioning `mentions`,
    without in-app or personal copies (the caller has told each person already, e.g. the
    end-of-day digest). Call inside the caller's transaction."""
    dept_id = department.pk if isinstance(department, Department) else department
    channels = [
        c
        for c in Channel.objects.filter(kind__in=GROUP_KINDS, department_id=dept_id)
        if _channel_carries(c, kind)
    ]
    now = timezone.now()
    people = list(dict.fromkeys(u.pk for u in mentions if u is not None and u.is_active))
    rows = [
        Delivery(channel=c, kind=kind, data=data, link=link, mentions=people, run_after=now, created_at=now)
        for c in channels
    ]
    _hold_for_disabled(rows)
    rows = Delivery.objects.bulk_create(rows)
    held_trim({r.channel_id for r in rows if r.state == DeliveryState.HELD})
    return rows


# -- in-app ------------------------------------------------------------------


def notification_mark_read(*, actor: User, notification_id: int) -> Notification:
    """Mark one of the actor's notifications read; someone else's is NotFound."""
    try:
        note = Notification.objects.get(pk=notification_id, recipient=actor)
    except (Notification.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Notification not found.")) from None
    if note.read_at is None:
        note.read_at = timezone.now()
        Notification.objects.filter(pk=note.pk, read_at__isnull=True).update(read_at=note.read_at)
        forget_unread_count(actor)
    return note


def notification_mark_all_read(*, actor: User) -> int:
    """Mark every unread notification of the actor read; returns how many were."""
    forget_unread_count(actor)
    return Notification.objects.filter(recipient=actor, read_at__isnull=True).update(read_at=timezone.now())


# -- preferences ---------------------------------------------------------------


def preference_update(
    *,
    actor: User,
    routes: dict[str, list[str]] | None = None,
    quiet_start: time | None = None,
    quiet_end: time | None = None,
    digest_minutes: int = 0,
) -> Preference:
    errors: dict[str, list[str]] = {}
    clean: dict[str, list[str]] = {}
    for kind, kinds in (routes or {}).items():
        if kind not in KINDS:
            errors.setdefault("routes", []).append(_("Unknown event %(kind)s.") % {"kind": kind})
            continue
        bad = [k for k in kinds if k not in PERSONAL_KINDS]
        if bad:
            errors.setdefault("routes", []).append(_("Unknown channel %(kind)s.") % {"kind": ", ".join(bad)})
            continue
        clean[kind] = sorted(set(kinds))
    if (quiet_start is None) != (quiet_end is None):
        errors["quiet_end"] = [_("Give both the start and the end of quiet hours, or neither.")]
    elif quiet_start is not None and quiet_start == quiet_end:
        errors["quiet_end"] = [_("Quiet hours must end at another time than they start.")]
    if not 0 <= int(digest_minutes) <= 24 * 60:
        errors["digest_minutes"] = [_("The digest window is between 0 and 1440 minutes.")]
    if errors:
        raise ValidationFailed(_("Check the notification settings."), fields=errors)
    with transaction.atomic():
        pref, _created = Preference.objects.update_or_create(
            user=actor,
            defaults={
                "routes": clean,
                "quiet_start": quiet_start,
                "quiet_end": quiet_end,
                "digest_minutes": int(digest_minutes),
            },
        )
    return pref


# -- channels (admin) ------------------------------------------------------------


def _require_admin(actor: User) -> None:
    if not (actor.is_active and actor.is_superuser):
        raise NotAllowed(_("Only an administrator can manage channels."))


def _validate_channel(channel: Channel) -> None:
    from closeloop.notify import transports

    errors: dict[str, list[str]] = {}
    if not channel.name.strip():
        errors["name"] = [_("Give the channel a name.")]
    if channel.kind not in ChannelKind.values:
        errors["kind"] = [_("Choose a kind of channel.")]
        raise ValidationFailed(_("Check the channel."), fields=errors)
    if channel.kind in PERSONAL_KINDS and channel.department_id is not None:
        errors["department"] = [_("A personal channel is company-wide; leave the department empty.")]
    if (
        channel.kind in (ChannelKind.WECOM_ROBOT, ChannelKind.DINGTALK_ROBOT, ChannelKind.FEISHU_BOT)
        and not channel.department_id
    ):
        errors["department"] = [_("Choose the department whose group this robot posts to.")]
    bad_events = [k for k in channel.events or [] if k not in KINDS]
    if bad_events:
        errors["events"] = [_("Unknown events: %(kinds)s.") % {"kinds": ", ".join(bad_events)}]
    for field, messages in transports.get(channel.kind).validate(channel).items():
        errors.setdefault(field, []).extend(str(m) for m in messages)
    if errors:
        first = next(iter(errors.values()))[0]
        raise ValidationFailed(first, fields=errors)


CHANNEL_FIELDS = ("name", "kind", "department", "url", "secret", "keyword", "config", "events")


def channel_create(
    *,
    actor: User,
    name: str,
    kind: str,
    department: Department | None = None,
    url: str = "",
    secret: str = "",
    keyword: str = "",
    config: dict[str, Any] | None = None,
    events: list[str] | None = None,
) -> Channel:
    """Add a channel (admin). The URL is checked against the SSRF guard and the platform."""
    _require_admin(actor)
    channel = Channel(
        name=(name or "").strip(),
        kind=kind,
        department=department,
        url=(url or "").strip(),
        secret=(secret or "").strip(),
        keyword=(keyword or "").strip(),
        config=config or {},
        events=list(events or []),
    )
    _validate_channel(channel)
    with transaction.atomic():
        channel.save()
    return channel


def channel_update(*, actor: User, channel: Channel, **changes: Any) -> Channel:
    """Change a channel (admin). An empty `secret` or `url` keeps the stored one, so a form
    that never shows secrets back can be saved unchanged."""
    _require_admin(actor)
    channel = Channel.objects.get(pk=channel.pk)
    for field, value in changes.items():
        if field not in CHANNEL_FIELDS:
            raise ValidationFailed(
                _("Unknown field %(field)s.") % {"field": field}, fields={field: [_("Unknown.")]}
            )
        if field in ("secret", "url") and not (value or "").strip():
            continue
        if isinstance(value, str):
            value = value.strip()
        setattr(channel, field, value)
    _validate_channel(channel)
    with transaction.atomic():
        channel.save()
    return channel


def channel_disable(*, actor: User | None, channel: Channel, reason: str = "") -> Channel:
    """Disable a channel; its queued deliveries wait (held) until it is enabled again.
    Called by the worker (actor None) on a permanent error, which also tells the admins."""
    if actor is not None:
        _require_admin(actor)
    reason = reason or _("Disabled by %(who)s.") % {"who": actor.display_name if actor else "-"}
    now = timezone.now()
    with transaction.atomic():
        changed = Channel.objects.filter(pk=channel.pk, enabled=True).update(
            enabled=False, disabled_reason=reason, updated_at=now
        )
        Delivery.objects.filter(channel_id=channel.pk, state=DeliveryState.QUEUED).update(
            state=DeliveryState.HELD
        )
        held_trim([channel.pk])
        if changed and actor is None:
            admins = User.objects.filter(is_superuser=True, is_active=True)
            notify(
                recipients=admins,
                kind="channel.disabled",
                data={"channel": channel.name, "channel_id": channel.pk, "error": reason},
                link=f"/admin/notify/channel/{channel.pk}/change/",
            )
    return Channel.objects.get(pk=channel.pk)


def channel_enable(*, actor: User, channel: Channel) -> Channel:
    """Enable a channel again and release its held deliveries: those queued while it was
    disabled and those that met the permanent error that disabled it."""
    _require_admin(actor)
    _validate_channel(Channel.objects.get(pk=channel.pk))
    now = timezone.now()
    with transaction.atomic():
        Channel.objects.filter(pk=channel.pk).update(enabled=True, disabled_reason="", updated_at=now)
        Delivery.objects.filter(channel_id=channel.pk, state=DeliveryState.HELD).update(
            state=DeliveryState.QUEUED, run_after=now
        )
    return Channel.objects.get(pk=channel.pk)


def account_mail(*, user: User, kind: str, data: dict[str, Any], link: str) -> Delivery:
    """Queue mail about a person's account (a password reset) through the outbox, so a mail
    server that is down means retries with backoff and an entry the admin sees (channel
    status, status page) instead of an error lost in the log (issue 11, item 4). Goes by the
    company's email channel, or a "System mail" channel created for account mail only.
    Call inside a transaction; the caller may try to send it at once with `process_one`."""
    channel = (
        Channel.objects.filter(kind=ChannelKind.EMAIL, department__isnull=True)
        .order_by("-enabled", "id")
        .first()
    )
    if channel is None:
        channel = Channel.objects.create(
            name="System mail", kind=ChannelKind.EMAIL, events=[kind], config={"system": True}
        )
    now = timezone.now()
    return Delivery.objects.create(
        channel=channel,
        recipient=user,
        kind=kind,
        data=data,
        link=link,
        state=DeliveryState.QUEUED if channel.enabled else DeliveryState.HELD,
        run_after=now,
        created_at=now,
    )


def delivery_resend(*, actor: User, delivery: Delivery) -> Delivery:
    """Queue a delivery again (admin): a failed one, or a sent one someone missed."""
    _require_admin(actor)
    now = timezone.now()
    Delivery.objects.filter(pk=delivery.pk).exclude(state=DeliveryState.SENDING).update(
        state=DeliveryState.QUEUED, run_after=now, attempts=0, claim="", claimed_by="", lease_until=None
    )
    return Delivery.objects.get(pk=delivery.pk)


def fill_platform_ids(*, actor: User, channel: Channel) -> int:
    """Look up missing WeCom / DingTalk / Feishu ids of people from their mobiles through an
    app channel. Returns how many people got an id."""
    from closeloop.notify import transports

    _require_admin(actor)
    field = REACH_FIELD.get(channel.kind)
    if channel.kind not in APP_KINDS or field is None:
        raise ValidationFailed(
            _("Only an IM app channel can look people up."), fields={"kind": [_("Not an app.")]}
        )
    people = list(User.objects.filter(is_active=True, **{field: ""}).exclude(mobile=""))
    if not people:
        return 0
    found = transports.get(channel.kind).lookup_ids(channel, [p.mobile for p in people])
    filled = 0
    with transaction.atomic():
        for person in people:
            if person.mobile in found:
                filled += User.objects.filter(pk=person.pk, **{field: ""}).update(
                    **{field: found[person.mobile]}
                )
    return filled


def _personal_deliveries(user, kind, pref, personal, open_digests, note, data, link, now) -> list[Delivery]:
    """The outbox rows of one person's notification on their own channels (`personal`:
    {channel kind: Channel}); with a digest preference every row joins the person's open
    digest on that channel (`open_digests`: {(user id, channel id): run_after}, updated)."""
    rows = []
    for ckind in personal_channel_kinds(user, kind, pref, set(personal)):
        channel = personal[ckind]
        digest = bool(pref and pref.digest_minutes)
        run_after = now
        if digest:
            run_after = open_digests.setdefault(
                (user.pk, channel.pk), now + timedelta(minutes=pref.digest_minutes)
            )
        rows.append(
            Delivery(
                channel=channel,
                recipient=user,
                notification=note,
                kind=kind,
                data=data,
                link=link,
                digest=digest,
                run_after=run_after,
                created_at=now,
            )
        )
    return rows


def _preferences_and_open_digests(user_ids: list[int]) -> tuple[dict, dict]:
    """({user id: Preference}, {(user id, channel id): run_after of the open digest}) for
    these people, in two queries at most (none for open digests when nobody wants digests)."""
    prefs = {p.user_id: p for p in Preference.objects.filter(user_id__in=user_ids)}
    digest_users = [uid for uid, p in prefs.items() if p.digest_minutes]
    open_digests: dict[tuple[int, int], datetime] = {}
    if digest_users:
        for uid, cid, run_after in Delivery.objects.filter(
            state=DeliveryState.QUEUED, digest=True, recipient_id__in=digest_users
        ).values_list("recipient_id", "channel_id", "run_after"):
            open_digests[(uid, cid)] = run_after
    return prefs, open_digests
