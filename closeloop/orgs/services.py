"""Writes about people: API tokens and profile settings."""

import hashlib
import secrets
from datetime import timedelta

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core.errors import NotFound, ValidationFailed
from closeloop.orgs.models import ApiToken, User

TOKEN_PREFIX = "cl_"


def hash_token(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def api_token_create(*, actor: User, name: str) -> tuple[ApiToken, str]:
    """Create a token for the actor. Returns the row and the secret, which is shown once and
    never stored (only its SHA-256)."""
    name = (name or "").strip()
    if not name:
        raise ValidationFailed(
            _("Give the token a name, e.g. the script that will use it."), fields={"name": [_("Required.")]}
        )
    if len(name) > 100:
        raise ValidationFailed(
            _("The name is longer than 100 characters."), fields={"name": [_("Too long.")]}
        )
    raw = TOKEN_PREFIX + secrets.token_urlsafe(32)
    with transaction.atomic():
        token = ApiToken.objects.create(user=actor, name=name, prefix=raw[:10], key_hash=hash_token(raw))
    return token, raw


def api_token_revoke(*, actor: User, token_id: int) -> ApiToken:
    """Revoke one of the actor's own tokens (someone else's is NotFound)."""
    try:
        token = ApiToken.objects.get(pk=token_id, user=actor)
    except (ApiToken.DoesNotExist, ValueError, TypeError):
        raise NotFound(_("Token not found.")) from None
    if token.revoked_at is None:
        ApiToken.objects.filter(pk=token.pk).update(revoked_at=timezone.now())
        token.refresh_from_db()
    return token


def api_token_authenticate(raw: str) -> User | None:
    """The active person a bearer token belongs to, or None, with their department scopes
    and the registered extras read in the same query (`orgs.request_person`). Touches
    `last_used_at` at most once a minute to keep reads cheap."""
    from closeloop.orgs.request_person import person_by_token

    if not raw or not raw.startswith(TOKEN_PREFIX):
        return None
    now = timezone.now()
    found = person_by_token(hash_token(raw), used_before=now - timedelta(seconds=60))
    if found is None:
        return None
    user, token_id, stale = found
    if not user.is_active:
        return None
    if stale:
        ApiToken.objects.filter(pk=token_id).update(last_used_at=now)
    return user


def profile_update(*, actor: User, language: str | None = None, time_zone: str | None = None) -> User:
    import zoneinfo

    from django.conf import settings

    fields = {}
    if language is not None:
        if language not in dict(settings.LANGUAGES):
            raise ValidationFailed(_("Unknown language."), fields={"language": [_("Unknown language.")]})
        fields["language"] = language
    if time_zone is not None:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationFailed(
                _("Unknown time zone."), fields={"time_zone": [_("Unknown time zone.")]}
            ) from None
        fields["time_zone"] = time_zone
    if fields:
        User.objects.filter(pk=actor.pk).update(**fields)
        for k, v in fields.items():
            setattr(actor, k, v)
    return actor


# -- people directory (admin) ---------------------------------------------------------------

PERSON_FIELDS = ("name", "email", "mobile", "wecom_id", "dingtalk_id", "feishu_id")


def person_upsert(
    *,
    actor: User,
    username: str,
    fields: dict[str, str],
    department=None,
    role: str | None = None,
) -> tuple[User, bool]:
    """Create the person `username` or update the directory fields given in `fields` (keys from
    PERSON_FIELDS), and, with `department`, make them a member with `role` (manager,
    supervisor or specialist). Admins only (NotAllowed otherwise). A new person gets an
    unusable password: they sign in after the admin sets one or through single sign-on.
    Returns (person, created). Used by the people import (sheets)."""
    from closeloop.core.errors import NotAllowed
    from closeloop.orgs.models import Membership

    if not actor.is_superuser:
        raise NotAllowed(_("Only an administrator can add or change people."))
    unknown = set(fields) - set(PERSON_FIELDS)
    if unknown:
        raise ValidationFailed(
            _("These fields cannot be set: %(f)s") % {"f": ", ".join(sorted(unknown))},
            fields={f: [_("Not editable.")] for f in unknown},
        )
    if role is not None and role not in Membership.Role.values:
        raise ValidationFailed(_("Unknown role."), fields={"role": [_("Unknown role.")]})
    with transaction.atomic():
        person = User.objects.select_for_update().filter(username=username).first()
        created = person is None
        if created:
            person = User(username=username, **fields)
            person.set_unusable_password()
            person.full_clean(exclude=["password"])
            person.save()
        else:
            changed = {k: v for k, v in fields.items() if getattr(person, k) != v}
            if changed:
                User.objects.filter(pk=person.pk).update(**changed)
                for k, v in changed.items():
                    setattr(person, k, v)
        if department is not None:
            membership, made = Membership.objects.get_or_create(
                user=person, department=department, defaults={"role": role or Membership.Role.SPECIALIST}
            )
            if not made and role is not None and membership.role != role:
                Membership.objects.filter(pk=membership.pk).update(role=role)
    return person, created
