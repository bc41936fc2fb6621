"""Optimistic concurrency for texts two people may edit (a retrospective, a week's meeting
notes), the way tasks do it (`tasks.services.stale_version`, `tasks.api.schemas._check_version`):
the row carries a `version`, the form or API client sends back the one it read, and a save
against a version that moved is refused (409 `version_conflict`) instead of silently
overwriting what someone else saved in the meantime.

A row not written yet counts as the version its first save compares against (`absent`), so
two people who both opened an empty form cannot both "create" it unnoticed."""

from django.http import HttpRequest
from django.utils.translation import gettext as _

from closeloop.core.errors import Conflict, PreconditionRequired, ValidationFailed


def parse_version(raw) -> int | None:
    """The version a form posted (hidden field `version`): a whole number ≥ 0, or None when
    missing or not a number (the caller then refuses, never saves unchecked)."""
    raw = str(raw if raw is not None else "").strip()
    if not raw.isdigit() or len(raw) > 18:
        return None
    return int(raw)


def if_match(request: HttpRequest | None) -> int | None:
    """The version in an `If-Match` header: `"7"`, `W/"7"` or `7`; None without the header.
    ValidationFailed (422) on `If-Match` for anything else."""
    raw = (request.headers.get("If-Match", "") if request is not None else "").strip()
    if not raw:
        return None
    value = raw.removeprefix("W/").strip().strip('"')
    if not value.isdigit() or len(value) > 18:
        raise ValidationFailed(
            _('If-Match must be the version you read in quotes, e.g. "7".'), fields={"If-Match": [raw[:50]]}
        )
    return int(value)


def api_version(body_version: int | None, request: HttpRequest | None, *, now: int) -> int:
    """The version an API write read, from the body's `version` or the `If-Match` header.
    PreconditionRequired (428 `version_required`) when neither is sent — a write that says
    nothing about what it read would silently overwrite a change made since (as for tasks,
    issue 11 item 3); ValidationFailed (422) when the two differ. `now` (the stored version)
    goes in the 428 message so a client can read, compare and resend. Whether the version is
    still current is the service's check (it compares under a row lock)."""
    header = if_match(request)
    if body_version is not None and header is not None and body_version != header:
        raise ValidationFailed(
            _("The version in the body and in If-Match differ."), fields={"version": [str(body_version)]}
        )
    version = body_version if body_version is not None else header
    if version is None:
        raise PreconditionRequired(
            _(
                "Send the version you read (field version, or header If-Match), so that a change "
                "saved since by someone else is not overwritten; it is at version %(now)s."
            )
            % {"now": now}
        )
    return version


def saved_meanwhile(message, *, now: int, sent: int | None) -> Conflict:
    """The 409 `version_conflict` for a text saved by someone else since the caller read it.
    `message` says what (people read it); `fields["version"]` has both versions for API
    clients, as `tasks.services.stale_version` does."""
    return Conflict(
        message,
        code="version_conflict",
        fields={
            "version": [
                _("It is at version %(now)s; you sent %(sent)s.")
                % {"now": now, "sent": sent if sent is not None else "—"}
            ]
        },
    )
