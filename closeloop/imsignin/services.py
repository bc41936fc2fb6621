"""IM sign-in use cases: begin (state), complete (state → code → platform id → person), the
audit log, and the admin's settings.

Rules (issue 15, `specs/notifications.md` "Sign-in from inside the IM app"):
- `state` is random, kept in the browser's session, single use and short-lived;
- a code is accepted once (a hash of every used code is kept `IMSIGNIN_CODE_KEEP_SECONDS`);
- the platform id maps to a person already in Closeloop, never a new account; a deactivated
  person, an id shared by two people, or an unknown id is refused;
- the return path is one of this site's own relative paths."""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.db import IntegrityError, transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _

from closeloop.core.errors import NotAllowed, ValidationFailed
from closeloop.imsignin.models import Outcome, SignInEvent, SignInSetup, UsedCode
from closeloop.imsignin.platforms import PLATFORMS, PlatformError, PlatformUser, lookup_id_by_mobile
from closeloop.notify.models import Channel
from closeloop.orgs.models import User

SESSION_KEY = "imsignin_pending"
# A browser opening several links at once keeps a few sign-ins pending, not an unbounded list.
MAX_PENDING = 5


class SignInRefused(Exception):
    """Nobody is signed in. `outcome` is the audit outcome; `message` is shown to the person;
    `status` is the HTTP status of the page that says so."""

    def __init__(self, message: str, *, outcome: str, status: int = 403, detail: str = ""):
        super().__init__(message)
        self.message = message
        self.outcome = outcome
        self.status = status
        self.detail = detail or message
        # The page the link named, when known: the password form offered instead keeps it.
        self.next = ""


@dataclass
class Pending:
    platform: str
    next: str
    mode: str
    test: bool


# -- configuration -------------------------------------------------------------------------


def app_channel(platform_key: str) -> Channel | None:
    """The company-wide IM app channel of this platform (the one-to-one messages' credentials),
    preferring an enabled one; None when the admin has not set one up."""
    platform = PLATFORMS[platform_key]
    return (
        Channel.objects.filter(kind=platform.channel_kind, department__isnull=True)
        .order_by("-enabled", "id")
        .first()
    )


def _has_credentials(platform_key: str, channel: Channel | None) -> bool:
    if channel is None or not channel.secret:
        return False
    platform = PLATFORMS[platform_key]
    creds = platform.credentials(channel)
    return all(creds.get(key) for key in platform.required)


def configured_platforms() -> list[str]:
    """Keys of the platforms people may sign in through now: switched on by the admin and with
    the app's credentials stored. Two queries."""
    enabled = set(SignInSetup.objects.filter(enabled=True).values_list("platform", flat=True))
    if not enabled:
        return []
    kinds = {PLATFORMS[k].channel_kind: k for k in enabled}
    channels: dict[str, Channel] = {}
    for ch in Channel.objects.filter(kind__in=list(kinds), department__isnull=True).order_by(
        "-enabled", "id"
    ):
        channels.setdefault(kinds[ch.kind], ch)
    return [k for k in PLATFORMS if k in enabled and _has_credentials(k, channels.get(k))]


def safe_next(value: str | None) -> str:
    """`value` when it is a path on this site ("/tasks/5/?tab=x"), else "". Refuses absolute
    URLs, scheme-relative "//evil", "/\\evil", control characters and anything not starting
    with a single "/"."""
    value = (value or "").strip()
    if not value or not value.startswith("/") or value.startswith("//") or "\\" in value:
        return ""
    if any(ord(c) < 32 or ord(c) == 127 for c in value):
        return ""
    if len(value) > 1000:
        return ""
    if not url_has_allowed_host_and_scheme(value, allowed_hosts=set(), require_https=False):
        return ""
    return value


def redirect_uri(platform_key: str) -> str:
    """The callback address registered with the platform: built from SITE_URL, never from the
    request's Host header (the platform checks it against the app's trusted domain)."""
    return settings.SITE_URL.rstrip("/") + reverse("imsignin:callback", args=[platform_key])


# -- begin ---------------------------------------------------------------------------------


def signin_begin(*, session, platform_key: str, next_url: str, mode: str = "", test: bool = False) -> str:
    """Remember a fresh random `state` in `session` and return the platform's authorize URL.

    `mode`: "qr" for WeCom's desktop QR login, otherwise the in-client / browser OAuth.
    Raises ValidationFailed when the platform is not configured."""
    if platform_key not in PLATFORMS or platform_key not in configured_platforms():
        raise ValidationFailed(
            _("Sign-in through this platform is not set up."), fields={"platform": [_("Not set up.")]}
        )
    channel = app_channel(platform_key)
    state = secrets.token_urlsafe(24)
    pending = dict(session.get(SESSION_KEY) or {})
    now = time.time()
    max_age = settings.IMSIGNIN_STATE_SECONDS
    pending = {k: v for k, v in pending.items() if now - float(v.get("at", 0)) < max_age}
    while len(pending) >= MAX_PENDING:
        pending.pop(min(pending, key=lambda k: pending[k]["at"]))
    pending[state] = {
        "platform": platform_key,
        "next": safe_next(next_url),
        "mode": "qr" if mode == "qr" else "",
        "test": bool(test),
        "at": now,
    }
    session[SESSION_KEY] = pending
    return PLATFORMS[platform_key].authorize_url(
        channel, redirect_uri=redirect_uri(platform_key), state=state, mode=mode
    )


# -- complete ------------------------------------------------------------------------------


def _take_state(session, platform_key: str, state: str) -> Pending:
    pending = dict(session.get(SESSION_KEY) or {})
    entry = pending.pop(state, None) if state else None
    # Single use: the state leaves the session whatever happens next.
    session[SESSION_KEY] = pending
    if entry is None or entry.get("platform") != platform_key:
        raise SignInRefused(
            _("This sign-in link is not valid in this browser, or was already used. Open the link again."),
            outcome=Outcome.BAD_STATE,
            status=400,
        )
    if time.time() - float(entry.get("at", 0)) > settings.IMSIGNIN_STATE_SECONDS:
        raise SignInRefused(
            _("This sign-in took too long. Open the link again."), outcome=Outcome.BAD_STATE, status=400
        )
    return Pending(platform_key, entry.get("next") or "", entry.get("mode") or "", bool(entry.get("test")))


def _claim_code(platform_key: str, code: str) -> None:
    """Record the code's hash; a second presentation of the same code is refused."""
    now = timezone.now()
    digest = hashlib.sha256(f"{platform_key}:{code}".encode()).hexdigest()
    UsedCode.objects.filter(used_at__lt=now - timedelta(seconds=settings.IMSIGNIN_CODE_KEEP_SECONDS)).delete()
    try:
        with transaction.atomic():
            UsedCode.objects.create(digest=digest, used_at=now)
    except IntegrityError:
        raise SignInRefused(
            _("This sign-in code was already used. Open the link again."),
            outcome=Outcome.CODE_REUSED,
            status=400,
        ) from None


def _match(platform_key: str, channel: Channel, who: PlatformUser) -> tuple[User, bool]:
    """The one person with this platform id → (person, linked_now). Raises SignInRefused."""
    platform = PLATFORMS[platform_key]
    field = platform.person_field
    people = list(User.objects.filter(**{field: who.user_id})[:2]) if who.user_id else []
    linked = False
    if not people and who.user_id:
        setup = SignInSetup.objects.filter(platform=platform_key).first()
        if setup and setup.allow_mobile_lookup:
            person = _match_by_mobile(platform, channel, who)
            if person is not None:
                people, linked = [person], True
    if len(people) > 1:
        raise SignInRefused(
            _(
                "Your %(platform)s id belongs to more than one person in Closeloop. Ask the administrator to fix it."
            )
            % {"platform": platform.label},
            outcome=Outcome.AMBIGUOUS,
        )
    if not people:
        raise SignInRefused(_("Ask your administrator to add you to Closeloop."), outcome=Outcome.UNKNOWN)
    person = people[0]
    if not person.is_active:
        raise SignInRefused(
            _("Your Closeloop account is deactivated. Ask the administrator if this is a mistake."),
            outcome=Outcome.DEACTIVATED,
        )
    return person, linked


def _match_by_mobile(platform, channel: Channel, who: PlatformUser) -> User | None:
    """One-time link by mobile (admin's choice): the platform reports the person's mobile, one
    person without an id for this platform has it, and the platform's own mobile → id lookup
    agrees. The id is stored on the person; None when anything does not line up."""
    mobile = platform.mobile_of(channel, who)
    if not mobile:
        return None
    field = platform.person_field
    candidates = list(User.objects.filter(mobile=mobile, **{field: ""})[:2])
    if len(candidates) != 1:
        return None
    if lookup_id_by_mobile(platform, channel, mobile) != who.user_id:
        return None
    person = candidates[0]
    # Conditional: an admin (or a parallel sign-in) who filled the id first wins.
    if User.objects.filter(pk=person.pk, **{field: ""}).update(**{field: who.user_id}) != 1:
        return None
    person.refresh_from_db()
    return person


def _audit(
    *, platform_key: str, outcome: str, request_meta: dict, person=None, platform_user_id="", detail=""
):
    SignInEvent.objects.create(
        at=timezone.now(),
        platform=platform_key,
        outcome=outcome,
        person=person,
        platform_user_id=(platform_user_id or "")[:100],
        ip=request_meta.get("ip") or None,
        user_agent=(request_meta.get("user_agent") or "")[:300],
        detail=(detail or "")[:2000],
    )


@dataclass
class Result:
    person: User
    next: str
    test: bool
    platform_user_id: str


def signin_complete(
    *, session, platform_key: str, state: str, code: str, error: str = "", request_meta: dict
) -> Result:
    """Finish a sign-in from the platform's callback. Checks the state (from `session`, single
    use), claims the code (once), asks the platform who this is and finds the person.

    Returns the person to sign in (the caller calls django's `login()`), the return path, and
    whether this was the admin's test. Raises SignInRefused (nobody signed in); every outcome
    is written to the audit log."""
    if platform_key not in PLATFORMS:
        raise SignInRefused(_("Unknown platform."), outcome=Outcome.BAD_REQUEST, status=404)
    who = PlatformUser(user_id="")
    pending: Pending | None = None
    try:
        pending = _take_state(session, platform_key, state)
        if error:
            raise SignInRefused(
                _("The sign-in was cancelled on %(platform)s.") % {"platform": PLATFORMS[platform_key].label},
                outcome=Outcome.BAD_REQUEST,
                status=400,
                detail=f"error={error[:100]}",
            )
        if not code or len(code) > 512 or any(ord(c) < 33 or ord(c) == 127 for c in code):
            raise SignInRefused(
                _("The sign-in answer carried no valid code. Open the link again."),
                outcome=Outcome.BAD_REQUEST,
                status=400,
            )
        channel = app_channel(platform_key)
        if platform_key not in configured_platforms() or channel is None:
            raise SignInRefused(
                _("Sign-in through this platform is not set up."), outcome=Outcome.BAD_REQUEST, status=400
            )
        _claim_code(platform_key, code)
        try:
            who = PLATFORMS[platform_key].exchange(
                channel, code=code, redirect_uri=redirect_uri(platform_key)
            )
        except PlatformError as exc:
            raise SignInRefused(
                exc.message, outcome=Outcome.PLATFORM_ERROR, status=502, detail=exc.detail
            ) from None
        person, linked = _match(platform_key, channel, who)
    except SignInRefused as exc:
        exc.next = pending.next if pending else ""
        _audit(
            platform_key=platform_key if platform_key in PLATFORMS else "",
            outcome=exc.outcome,
            request_meta=request_meta,
            platform_user_id=who.user_id,
            detail=exc.detail,
        )
        raise
    outcome = Outcome.TESTED if pending.test else Outcome.LINKED if linked else Outcome.SIGNED_IN
    _audit(
        platform_key=platform_key,
        outcome=outcome,
        request_meta=request_meta,
        person=person,
        platform_user_id=who.user_id,
    )
    return Result(person=person, next=pending.next, test=pending.test, platform_user_id=who.user_id)


# -- admin ---------------------------------------------------------------------------------


def _require_admin(actor: User) -> None:
    if not (actor.is_active and actor.is_superuser):
        raise NotAllowed(_("Only an administrator can change sign-in settings."))


def setup_save(
    *,
    actor: User,
    platform_key: str,
    enabled: bool,
    allow_mobile_lookup: bool,
    credentials: dict[str, str],
    secret: str = "",
) -> SignInSetup:
    """Save one platform's sign-in switches and the app's credentials (admin only).

    `credentials`: the channel's config keys (WeCom corp_id, agent_id; DingTalk app_key,
    agent_id, corp_id; Feishu app_id). An empty `secret` keeps the stored one. The credentials
    live on the company-wide IM app channel, created here when missing, through notify's
    services (which validate them). Raises NotAllowed, ValidationFailed."""
    from closeloop.notify import services as notify_services

    _require_admin(actor)
    if platform_key not in PLATFORMS:
        raise ValidationFailed(_("Unknown platform."), fields={"platform": [_("Unknown.")]})
    platform = PLATFORMS[platform_key]
    with transaction.atomic():
        channel = app_channel(platform_key)
        if channel is None:
            notify_services.channel_create(
                actor=actor,
                name=str(platform.channel_kind.label),
                kind=platform.channel_kind,
                secret=secret,
                config={k: v for k, v in credentials.items()},
            )
        else:
            config = {**channel.config, **credentials}
            notify_services.channel_update(actor=actor, channel=channel, config=config, secret=secret)
        setup, _created = SignInSetup.objects.update_or_create(
            platform=platform_key,
            defaults={"enabled": enabled, "allow_mobile_lookup": allow_mobile_lookup, "updated_by": actor},
        )
    return setup
