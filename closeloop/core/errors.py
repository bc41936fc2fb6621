"""Domain errors raised by services; views and the API turn them into answers.

Each carries a stable `code` for the API and a translated human `message`.
"""

from typing import Any


class DomainError(Exception):
    code = "error"
    status = 400

    def __init__(self, message: Any, *, code: str | None = None, fields: dict[str, list[str]] | None = None):
        super().__init__(str(message))
        self.message = str(message)
        if code:
            self.code = code
        self.fields = fields or {}


class ValidationFailed(DomainError):
    """Bad input. `fields` maps a field name to its messages."""

    code = "validation_error"
    status = 422


class NotAllowed(DomainError):
    """The actor sees the object but may not do this to it."""

    code = "forbidden"
    status = 403


class NotFound(DomainError):
    """The object does not exist or the actor may not see it: the two are not told apart."""

    code = "not_found"
    status = 404


class Conflict(DomainError):
    """The state moved under the caller (a concurrent change, a refused transition)."""

    code = "conflict"
    status = 409


class Unavailable(DomainError):
    """Something the request needs outside the database (the file storage, say) did not
    answer; nothing was changed, and trying again later may work."""

    code = "unavailable"
    status = 503


class PreconditionRequired(DomainError):
    """A write that must say which version it read (field `version` or header `If-Match`)
    came without one (HTTP 428, RFC 6585)."""

    code = "version_required"
    status = 428


def raise_if_errors(errors: dict[str, list[str]]) -> None:
    """Raise ValidationFailed for collected field errors, if any. The message is the first
    error's sentence (it names the field in words); `fields` carries every field's messages
    under its machine name."""
    if errors:
        messages = next(iter(errors.values()))
        raise ValidationFailed(messages[0], fields=errors)


def field_message(field: Any, message: Any) -> str:
    """`message` said of `field` (a form field's label, or its name): "field: message" in the
    language's punctuation (zh: "字段：…"), or `message` as it is when it already begins with
    the field's name (a date's `core.dates.invalid_date` does) or there is no field."""
    from django.utils.translation import gettext as _

    message = str(message)
    if not field or message.startswith(str(field)):
        return message
    return _("%(field)s: %(message)s") % {"field": field, "message": message}
