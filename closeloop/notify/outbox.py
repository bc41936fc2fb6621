"""The worker side of the outbox: claim deliveries, send them, record what happened.

- Claim: a batch is taken with one conditional UPDATE (after `SELECT … FOR UPDATE SKIP
  LOCKED` on PostgreSQL) that stamps a fresh claim token; a row is ours only if it carries
  our token, so two workers never send the same row. A claim is a lease: a worker that dies
  leaves rows in `sending` whose lease runs out, and any worker takes them again.
- Transient errors retry with exponential backoff (at least the platform's retry-after);
  a permanent one disables the channel and holds its messages (this one included) until the
  admin enables it again; a rejected message fails alone.
- Budgets: per-channel (and per-recipient) rolling windows ("at most N in any S seconds", as
  the platforms count) kept in `RateWindow` rows shared by all workers; an exhausted budget
  delays the message until a place frees, never drops it.
- Quiet hours delay a personal message to the next allowed time; a digest row waits for its
  window and goes out together with its siblings as one message.
"""

import logging
import uuid
import zoneinfo
from concurrent.futures import ThreadPoolExecutor, as_completed
from datetime import UTC, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone
from django.utils.translation import get_language, override
from django.utils.translation import gettext as _

from closeloop.notify import transports
from closeloop.notify.kinds import absolute, render
from closeloop.notify.models import Channel, Delivery, DeliveryState, Preference, RateWindow
from closeloop.notify.secrets import scrub
from closeloop.notify.services import channel_disable
from closeloop.notify.transports import Message, Person, TransportError
from closeloop.orgs.models import User

log = logging.getLogger("closeloop.notify")

# Asked for by the person right now (a password reset, the admin's test): no quiet hours.
URGENT_KINDS = frozenset({"account.password_reset", "channel.test"})


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
    ordered = []
    for key, group in groups.items():
        if key[0] == "digest":
            group = _claim_digest_siblings(group, now, token, worker_id)
            for d in group:
                d.channel = shared.setdefault(d.channel_id, d.channel)
        ordered.append(group)
    # A row that fails unexpectedly stays claimed and is retried when its lease runs out.
    process_batch(ordered, now)
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


def _mention_ids(group: list[Delivery]) -> list[int]:
    return [pk for pk in group[0].mentions or [] if isinstance(pk, int)]


def _people(ids) -> dict[int, Person]:
    return {u.pk: _person(u) for u in User.objects.filter(pk__in=ids, is_active=True)} if ids else {}


def build_message(group: list[Delivery], people: dict[int, Person] | None = None) -> Message:
    first = group[0]
    user = first.recipient
    language = user.language if user is not None else settings.LANGUAGE_CODE
    mention_ids = _mention_ids(group)
    if people is None:
        people = _people(mention_ids)
    mentions = [people[pk] for pk in mention_ids if pk in people]
    if len(group) == 1:
        r = render(first.kind, first.data, language=language)
        return Message(
            delivery_id=first.pk,
            kind=first.kind,
            title=r.title,
            body=r.body,
            action=r.action,
            button=r.button,
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


def budget_span(seconds: float) -> float:
    """The window a budget is counted over: the platform's, plus 5 % for the time between
    taking the budget and the message reaching the platform (a batch is sent after it is
    prepared), so the platform never counts more than the limit in its own window."""
    return seconds * 1.05


def take_budgets(budgets: list[tuple[str, int, int]], now: datetime) -> tuple[bool, datetime]:
    """Take one send from every (key, seconds, limit) budget, all or none, counted over a
    rolling window (at most `limit` sends in any `seconds`, as WeCom and DingTalk robots count:
    spec "Delivery rules"). Returns (True, now) when taken, else (False, the moment the
    budget that is furthest from allowing it frees a place). Rows are locked in key order
    (PostgreSQL `SELECT … FOR UPDATE`; SQLite takes its write lock at BEGIN), so two workers
    never both take the last place."""
    if not budgets:
        return True, now
    at = max(now, timezone.now()).timestamp()
    keys = sorted({key for key, _s, _l in budgets})
    with transaction.atomic():
        RateWindow.objects.bulk_create([RateWindow(key=k) for k in keys], ignore_conflicts=True)
        rows = {r.key: r for r in RateWindow.objects.select_for_update().filter(key__in=keys).order_by("key")}
        recent: dict[str, list[float]] = {}
        free_at = 0.0
        for key, seconds, limit in budgets:
            span = budget_span(seconds)
            kept = sorted(float(t) for t in rows[key].sends if isinstance(t, int | float) and t > at - span)
            recent[key] = kept
            if len(kept) >= limit:
                free_at = max(free_at, kept[-limit] + span)
        if free_at:
            return False, datetime.fromtimestamp(free_at, tz=UTC)
        for key, _seconds, limit in budgets:
            RateWindow.objects.filter(pk=rows[key].pk).update(
                sends=[*recent[key], at][-limit:], updated_at=timezone.now()
            )
    return True, now


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


def prepare(
    group: list[Delivery],
    now: datetime,
    prefs: dict[int, Preference | None] | None = None,
    people: dict[int, Person] | None = None,
):
    """Everything before the network: channel still on, person still here and not in quiet
    hours, budget available. Returns (transport, message), or None when the rows were put
    back or settled here."""
    first = group[0]
    channel: Channel = first.channel
    if not channel.enabled:
        _mine(group).update(state=DeliveryState.HELD, claim="", lease_until=None)
        return None
    user = first.recipient
    if user is not None:
        if not user.is_active:
            _mine(group).update(state=DeliveryState.FAILED, claim="", last_error=_("The person has left."))
            return None
        if prefs is not None and user.pk in prefs:
            pref = prefs[user.pk]
        else:
            pref = Preference.objects.filter(user_id=user.pk).first()
        until = None if first.kind in URGENT_KINDS else quiet_until(pref, user.time_zone, now)
        if until is not None:
            _release(group, until)
            return None
    message = build_message(group, people)
    transport = transports.get(channel.kind)
    allowed, free_at = take_budgets(list(transport.budgets(channel, message)), now)
    if not allowed:  # over the platform's budget: wait for a free place, never drop
        _release(group, free_at)
        return None
    return transport, message


def send(
    transport, channel: Channel, message: Message, language: str | None = None
) -> tuple[str, TransportError | None]:
    """The network part; touches no database unless the transport does (`USES_DB`).
    Errors are worded in `language` (the worker's), also from a pool thread."""
    if language:
        with override(language):
            return send(transport, channel, message)
    try:
        return transport.send(channel, message) or "", None
    except TransportError as exc:
        return "", exc
    except Exception as exc:
        log.exception("transport %s crashed on delivery %s", channel.kind, message.delivery_id)
        return "", TransportError(scrub(repr(exc), channel.secret, channel.url))


def finish(
    group: list[Delivery], channel: Channel, detail: str, error: TransportError | None, now: datetime
) -> None:
    if error is not None:
        _failed(group, channel, error, now)
        return
    sent = timezone.now()
    _mine(group).update(
        state=DeliveryState.SENT,
        sent_at=sent,
        claim="",
        lease_until=None,
        last_error="",
        detail=detail,
    )
    if detail:
        Channel.objects.filter(pk=channel.pk).update(last_error=detail, last_error_at=sent)


def process(group: list[Delivery], now: datetime) -> None:
    """One message, start to end, in this thread."""
    ready = prepare(group, now)
    if ready is None:
        return
    transport, message = ready
    detail, error = send(transport, group[0].channel, message)
    finish(group, group[0].channel, detail, error, now)
    if error is None:
        Channel.objects.filter(pk=group[0].channel_id).update(last_success_at=timezone.now())


def process_batch(groups: list[list[Delivery]], now: datetime) -> None:
    """Prepare every message, send those whose transport needs no database in parallel
    (`NOTIFY_SEND_CONCURRENCY` threads; a slow endpoint does not hold up the rest), and record
    each result as soon as it is in: a worker killed mid-batch re-sends at most the messages
    that were on the wire, never the ones already delivered (issue 11, item 6)."""
    user_ids = {g[0].recipient_id for g in groups if g[0].recipient_id}
    prefs: dict[int, Preference | None] = dict.fromkeys(user_ids)
    prefs.update({p.user_id: p for p in Preference.objects.filter(user_id__in=user_ids)})
    people = _people({pk for g in groups for pk in _mention_ids(g)})
    ready = []
    for group in groups:
        try:
            prepared = prepare(group, now, prefs, people)
        except Exception:
            log.exception("delivery %s could not be prepared", [d.pk for d in group])
            continue
        if prepared is not None:
            ready.append((group, *prepared))
    concurrency = max(int(_setting("NOTIFY_SEND_CONCURRENCY", 8)), 1)
    parallel = [r for r in ready if not getattr(r[1], "USES_DB", False)]
    if concurrency <= 1 or len(parallel) <= 1:
        parallel = []
    in_pool = {id(g) for g, _t, _m in parallel}
    succeeded: set[int] = set()

    def record(group: list[Delivery], result: tuple[str, TransportError | None]) -> None:
        try:
            finish(group, group[0].channel, *result, now)
        except Exception:
            log.exception("delivery %s result could not be recorded", [d.pk for d in group])
            return
        if result[1] is None:
            succeeded.add(group[0].channel_id)

    if parallel:
        with ThreadPoolExecutor(max_workers=min(concurrency, len(parallel))) as pool:
            language = get_language()
            futures = {pool.submit(send, t, g[0].channel, m, language): g for g, t, m in parallel}
            for future in as_completed(futures):
                record(futures[future], future.result())
    for group, transport, message in ready:
        if id(group) in in_pool:
            continue
        if not group[0].channel.enabled:  # a permanent error earlier in this batch
            _mine(group).update(state=DeliveryState.HELD, claim="", lease_until=None)
            continue
        record(group, send(transport, group[0].channel, message))
    if succeeded:
        Channel.objects.filter(pk__in=succeeded).update(last_success_at=timezone.now())


def _failed(group: list[Delivery], channel: Channel, exc: TransportError, now: datetime) -> None:
    error = scrub(exc.message, channel.secret, channel.url)[:2000]
    first = group[0]
    log.warning("delivery %s via channel %s failed: %s", first.pk, channel.pk, error)
    Channel.objects.filter(pk=channel.pk).update(last_error=error, last_error_at=now)
    if exc.permanent:
        # The channel is at fault, not the message: hold it with the others until the admin
        # fixes the channel and enables it again (issue 11, item 7).
        channel.enabled = False
        _mine(group).update(state=DeliveryState.HELD, claim="", lease_until=None, last_error=error)
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
    n, _rows = RateWindow.objects.filter(updated_at__lt=now - timedelta(days=2)).delete()
    keep = timedelta(days=_setting("NOTIFY_KEEP_DAYS", 90))
    m, _rows = Delivery.objects.filter(state=DeliveryState.SENT, sent_at__lt=now - keep).delete()
    return n + m
