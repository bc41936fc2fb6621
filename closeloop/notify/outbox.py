"""The worker side of the outbox: claim deliveries, send them, record what happened.

- Claim: a batch is taken with one conditional UPDATE (after `SELECT … FOR UPDATE SKIP
  LOCKED` on PostgreSQL) that stamps a fresh claim token; a row is ours only if it carries
  our token, so two workers never send the same row. A claim is a lease: a worker that dies
  leaves rows in `sending` whose lease runs out, and any worker takes them again.
- Transient errors retry with exponential backoff (at least the platform's retry-after);
  a permanent one disables the channel; a rejected message fails alone.
- Budgets: per-channel (and per-recipient) rate windows counted in `RateBucket` rows shared by
  all workers; an exhausted budget delays the message to the next window, never drops it.
- Quiet hours delay a personal message to the next allowed time; a digest row waits for its
  window and goes out together with its siblings as one message.
"""

import logging
import uuid
import zoneinfo
from datetime import datetime, timedelta

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import override

from closeloop.notify import transports
from closeloop.notify.kinds import absolute, render
from closeloop.notify.models import Channel, Delivery, DeliveryState, Preference, RateBucket
from closeloop.notify.secrets import scrub
from closeloop.notify.transports import Message, Person, TransportError
from closeloop.orgs.models import User

log = logging.getLogger("closeloop.notify")


def _setting(name: str, default):
    return getattr(settings, name, default)


def _due(now: datetime) -> Q:
    return Q(state=DeliveryState.QUEUED, run_after__lte=now) | Q(
        state=DeliveryState.SENDING, lease_until__lt=now
    )


def claim(now: datetime, worker_id: str, limit: int, *, only: list[int] | None = None) -> list[Delivery]:
    token = uuid.uuid4().hex
    lease = now + timedelta(seconds=_setting("NOTIFY_LEASE_SECONDS", 120))
    with transaction.atomic():
        qs = Delivery.objects.filter(_due(now))
        if only is not None:
            qs = qs.filter(pk__in=only)
        qs = qs.order_by("run_after", "id")
        if connection.vendor == "postgresql":
            qs = qs.select_for_update(skip_locked=True)
        ids = list(qs.values_list("id", flat=True)[:limit])
        if not ids:
            return []
        # Conditional: a row someone else claimed meanwhile no longer matches `_due`.
        Delivery.objects.filter(_due(now), pk__in=ids).update(
            state=DeliveryState.SENDING,
            claim=token,
            claimed_by=worker_id[:200],
            lease_until=lease,
            attempts=F("attempts") + 1,
        )
    return list(
        Delivery.objects.filter(claim=token)
        .select_related("channel", "recipient")
        .order_by("run_after", "id")
    )


def drain(now: datetime, worker_id: str, limit: int = 50) -> int:
    """Claim up to `limit` due deliveries and process them. Returns how many were claimed."""
    batch = claim(now, worker_id, limit)
    if not batch:
        return 0
    token = batch[0].claim
    groups: dict[object, list[Delivery]] = {}
    # One Channel object per channel, so a channel disabled mid-batch holds the rest.
    shared: dict[int, Channel] = {}
    for d in batch:
        d.channel = shared.setdefault(d.channel_id, d.channel)
        key = ("digest", d.channel_id, d.recipient_id) if d.digest else ("one", d.pk)
        groups.setdefault(key, []).append(d)
    for key, group in groups.items():
        if key[0] == "digest":
            group = _claim_digest_siblings(group, now, token, worker_id)
            for d in group:
                d.channel = shared.setdefault(d.channel_id, d.channel)
        try:
            process(group, now)
        except Exception:  # one bad row must not stop the batch; it is retried after its lease
            log.exception("delivery %s failed unexpectedly", [d.pk for d in group])
    return len(batch)


def _claim_digest_siblings(
    group: list[Delivery], now: datetime, token: str, worker_id: str
) -> list[Delivery]:
    first = group[0]
    Delivery.objects.filter(
        state=DeliveryState.QUEUED,
        digest=True,
        channel_id=first.channel_id,
        recipient_id=first.recipient_id,
        run_after__lte=now,
    ).update(
        state=DeliveryState.SENDING,
        claim=token,
        claimed_by=worker_id[:200],
        lease_until=now + timedelta(seconds=_setting("NOTIFY_LEASE_SECONDS", 120)),
        attempts=F("attempts") + 1,
    )
    return list(
        Delivery.objects.filter(
            claim=token, digest=True, channel_id=first.channel_id, recipient_id=first.recipient_id
        )
        .select_related("channel", "recipient")
        .order_by("created_at", "id")
    )


def process_one(delivery_id: int, *, now: datetime, worker_id: str) -> Delivery:
    """Claim and process one delivery now (the admin's "send a test message")."""
    batch = claim(now, worker_id, 1, only=[delivery_id])
    if batch:
        process(batch, now)
    return Delivery.objects.select_related("channel").get(pk=delivery_id)


# -- one message ----------------------------------------------------------------


def _person(user: User) -> Person:
    return Person(
        id=user.pk,
        name=user.display_name,
        email=user.email or "",
        mobile=user.mobile or "",
        wecom_id=user.wecom_id or "",
        dingtalk_id=user.dingtalk_id or "",
        feishu_id=user.feishu_id or "",
        language=user.language,
    )


def build_message(group: list[Delivery]) -> Message:
    first = group[0]
    user = first.recipient
    language = user.language if user is not None else settings.LANGUAGE_CODE
    mention_ids = [pk for pk in first.mentions or [] if isinstance(pk, int)]
    mentions = (
        [_person(u) for u in User.objects.filter(pk__in=mention_ids, is_active=True)] if mention_ids else []
    )
    if len(group) == 1:
        r = render(first.kind, first.data, language=language)
        return Message(
            delivery_id=first.pk,
            kind=first.kind,
            title=r.title,
            body=r.body,
            action=r.action,
            link=absolute(first.link),
            data=dict(first.data or {}),
            language=language,
            recipient=_person(user) if user is not None else None,
            mentions=mentions,
        )
    items = []
    for d in group:
        r = render(d.kind, d.data, language=language)
        items.append((r.title, r.body, absolute(d.link)))
    with override(language):
        title = _("%(count)s notifications from Closeloop") % {"count": len(group)}
        action = _("Open notifications")
    return Message(
        delivery_id=first.pk,
        kind="digest",
        title=str(title),
        body="",
        action=str(action),
        link=absolute("/notifications/"),
        data={"count": len(group)},
        language=language,
        recipient=_person(user) if user is not None else None,
        mentions=mentions,
        items=items,
    )


def quiet_until(pref: Preference | None, tz_name: str, now: datetime) -> datetime | None:
    """The end of the quiet hours `now` falls in, or None when sending is allowed."""
    if (
        pref is None
        or pref.quiet_start is None
        or pref.quiet_end is None
        or pref.quiet_start == pref.quiet_end
    ):
        return None
    try:
        tz = zoneinfo.ZoneInfo(tz_name or settings.TIME_ZONE)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo(settings.TIME_ZONE)
    local = now.astimezone(tz)
    t = local.time()
    start, end = pref.quiet_start, pref.quiet_end
    if start < end:
        quiet = start <= t < end
        end_day = local.date()
    else:  # over midnight, e.g. 22:00–08:00
        quiet = t >= start or t < end
        end_day = local.date() + timedelta(days=1) if t >= start else local.date()
    if not quiet:
        return None
    return datetime.combine(end_day, end, tzinfo=tz)


def take_budget(key: str, seconds: int, limit: int, now: datetime) -> tuple[bool, datetime]:
    """Count one send against `key` in the current window. Returns (allowed, window end)."""
    epoch = int(now.timestamp())
    start = datetime.fromtimestamp(epoch - epoch % seconds, tz=now.tzinfo or timezone.get_current_timezone())
    end = start + timedelta(seconds=seconds)
    updated = RateBucket.objects.filter(key=key, window_start=start, used__lt=limit).update(
        used=F("used") + 1
    )
    if updated:
        return True, end
    if RateBucket.objects.filter(key=key, window_start=start).exists():
        return False, end
    try:
        with transaction.atomic():
            RateBucket.objects.create(key=key, window_start=start, used=1)
        return True, end
    except IntegrityError:  # another worker opened the window first
        updated = RateBucket.objects.filter(key=key, window_start=start, used__lt=limit).update(
            used=F("used") + 1
        )
        return bool(updated), end


def backoff(attempts: int) -> float:
    base = _setting("NOTIFY_BACKOFF_BASE", 30)
    cap = _setting("NOTIFY_BACKOFF_MAX", 3600)
    return float(min(base * 2 ** max(attempts - 1, 0), cap))


def _mine(group: list[Delivery]):
    return Delivery.objects.filter(
        pk__in=[d.pk for d in group], claim=group[0].claim, state=DeliveryState.SENDING
    )


def _release(group: list[Delivery], run_after: datetime) -> None:
    """Put back without counting an attempt (quiet hours, budget)."""
    _mine(group).update(
        state=DeliveryState.QUEUED,
        run_after=run_after,
        claim="",
        lease_until=None,
        attempts=F("attempts") - 1,
    )


def process(group: list[Delivery], now: datetime) -> None:
    first = group[0]
    channel: Channel = first.channel
    if not channel.enabled:
        _mine(group).update(state=DeliveryState.HELD, claim="", lease_until=None)
        return
    user = first.recipient
    if user is not None:
        if not user.is_active:
            _mine(group).update(state=DeliveryState.FAILED, claim="", last_error=_("The person has left."))
            return
        pref = Preference.objects.filter(user_id=user.pk).first()
        until = quiet_until(pref, user.time_zone, now)
        if until is not None:
            _release(group, until)
            return
    message = build_message(group)
    transport = transports.get(channel.kind)
    for key, seconds, limit in transport.budgets(channel, message):
        allowed, window_end = take_budget(key, seconds, limit, now)
        if not allowed:
            _release(group, window_end)
            return
    try:
        detail = transport.send(channel, message)
    except TransportError as exc:
        _failed(group, channel, exc, now)
    except Exception as exc:
        log.exception("transport %s crashed on delivery %s", channel.kind, first.pk)
        _failed(group, channel, TransportError(scrub(repr(exc), channel.secret, channel.url)), now)
    else:
        sent = timezone.now()
        _mine(group).update(
            state=DeliveryState.SENT,
            sent_at=sent,
            claim="",
            lease_until=None,
            last_error="",
            detail=detail or "",
        )
        Channel.objects.filter(pk=channel.pk).update(last_success_at=sent)
        if detail:
            Channel.objects.filter(pk=channel.pk).update(last_error=detail, last_error_at=sent)


def _failed(group: list[Delivery], channel: Channel, exc: TransportError, now: datetime) -> None:
    from closeloop.notify.services import channel_disable

    error = scrub(exc.message, channel.secret, channel.url)[:2000]
    first = group[0]
    log.warning("delivery %s via channel %s failed: %s", first.pk, channel.pk, error)
    Channel.objects.filter(pk=channel.pk).update(last_error=error, last_error_at=now)
    if exc.permanent:
        channel.enabled = False
        _mine(group).update(state=DeliveryState.FAILED, claim="", lease_until=None, last_error=error)
        channel_disable(actor=None, channel=channel, reason=error)
        return
    if exc.rejected:
        _mine(group).update(state=DeliveryState.FAILED, claim="", lease_until=None, last_error=error)
        return
    give_up = timedelta(seconds=_setting("NOTIFY_GIVE_UP_AFTER", 3 * 86400))
    if now - first.created_at > give_up:
        _mine(group).update(
            state=DeliveryState.FAILED,
            claim="",
            lease_until=None,
            last_error=_("Gave up after %(n)s attempts: %(error)s") % {"n": first.attempts, "error": error},
        )
        return
    delay = max(backoff(first.attempts), exc.retry_after or 0)
    _mine(group).update(
        state=DeliveryState.QUEUED,
        run_after=now + timedelta(seconds=delay),
        claim="",
        lease_until=None,
        last_error=error,
    )


def cleanup(now: datetime) -> int:
    """Forget old rate windows and, after `NOTIFY_KEEP_DAYS`, sent deliveries."""
    n, _rows = RateBucket.objects.filter(window_start__lt=now - timedelta(days=2)).delete()
    keep = timedelta(days=_setting("NOTIFY_KEEP_DAYS", 90))
    m, _rows = Delivery.objects.filter(state=DeliveryState.SENT, sent_at__lt=now - keep).delete()
    return n + m
