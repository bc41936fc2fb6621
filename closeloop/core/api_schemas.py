"""Shapes every API router shares: the one error body and the list envelope."""

from datetime import date, time
from typing import Annotated

from django.utils.translation import gettext_lazy
from ninja import Schema
from pydantic import AfterValidator, ConfigDict, Field, WithJsonSchema

from closeloop.core.dates import check_in_range, invalid_date

# A date within 1900–2100 (closeloop.core.dates): outside it the request answers 422 naming
# the field, instead of failing later on date arithmetic.
InRangeDate = Annotated[date, AfterValidator(check_in_range)]

# A local time of day ("09:00:00"). JSON Schema's `format: time` is RFC 3339's full-time,
# which requires an offset ("09:00:00+08:00"); a department's working hours are wall-clock
# times in its own time zone, so the spec says what is sent: HH:MM[:SS].
LocalTime = Annotated[
    time,
    WithJsonSchema(
        {
            "type": "string",
            "pattern": r"^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9](\.[0-9]+)?)?$",
            "description": "Local time of day, HH:MM:SS, in the department's time zone.",
            "examples": ["09:00:00"],
        }
    ),
]


# pydantic's refusals of a text that is no date ("2026-13-45", "2026-01-01T10:00"): said as
# the forms and the list filters say it (`core.dates.invalid_date`), not in pydantic's English.
_NOT_A_DATE = frozenset(
    {"date_parsing", "date_from_datetime_parsing", "date_from_datetime_inexact", "date_type"}
)


# pydantic's commonest refusals said in the reader's language (its own messages are English
# only: a Chinese client read "Input should be greater than or equal to 0" beside 数字超出范围).
# Each: the message, and the `ctx` key whose value it names (None: none). Other types keep
# pydantic's message.
_MESSAGES = {
    "greater_than_equal": (gettext_lazy("Must be at least %(ge)s."), "ge"),
    "greater_than": (gettext_lazy("Must be greater than %(gt)s."), "gt"),
    "less_than_equal": (gettext_lazy("Must be at most %(le)s."), "le"),
    "less_than": (gettext_lazy("Must be less than %(lt)s."), "lt"),
    "int_parsing": (gettext_lazy("Must be a whole number."), None),
    "int_type": (gettext_lazy("Must be a whole number."), None),
    "int_from_float": (gettext_lazy("Must be a whole number."), None),
    "float_parsing": (gettext_lazy("Must be a number."), None),
    "float_type": (gettext_lazy("Must be a number."), None),
    "bool_parsing": (gettext_lazy("Must be true or false."), None),
    "bool_type": (gettext_lazy("Must be true or false."), None),
    "string_type": (gettext_lazy("Must be text."), None),
    "string_too_long": (gettext_lazy("At most %(max_length)s characters."), "max_length"),
    "string_too_short": (gettext_lazy("At least %(min_length)s characters."), "min_length"),
    "too_long": (gettext_lazy("At most %(max_length)s items."), "max_length"),
    "too_short": (gettext_lazy("At least %(min_length)s items."), "min_length"),
    "missing": (gettext_lazy("This field is required."), None),
    "extra_forbidden": (gettext_lazy("Unknown field: check its name."), None),
    "enum": (gettext_lazy("Must be one of %(expected)s."), "expected"),
    "literal_error": (gettext_lazy("Must be one of %(expected)s."), "expected"),
}


def validation_message(error: dict) -> str:
    """The message of one of pydantic's errors (`{"type", "msg", "ctx", …}`) for the API's
    `fields`, in the active language: the date message for a text that is no date, the
    commonest refusals (a bound, a whole number, a length, a choice, a missing or unknown
    field: `_MESSAGES`) with the bound `ctx` gives, else pydantic's own English. (ninja drops
    the `input`, so the message cannot repeat the value; the field is the key it is under.)"""
    kind = error.get("type")
    if kind in _NOT_A_DATE:
        return invalid_date(error.get("input"))
    known = _MESSAGES.get(kind)
    ctx = error.get("ctx") or {}
    if known and (known[1] is None or known[1] in ctx):
        message, key = known
        return str(message) % {key: ctx[key]} if key else str(message)
    return str(error.get("msg", ""))


class StrictIn(Schema):
    """The base of every request body: a misspelt field ("titel") is a 422 naming it, not
    silently ignored."""

    model_config = ConfigDict(extra="forbid")


class ErrorOut(Schema):
    """Every error answer. `code` is stable (for programs), `message` is for people, `fields`
    maps an input field (dotted path, list positions from 1, e.g. `criteria.1.text`) to its
    messages when the input was at fault."""

    code: str = Field(examples=["validation_error"])
    message: str = Field(examples=["title: A task needs a title."])
    fields: dict[str, list[str]] | None = None


# The error answers most operations can give; each operation adds its own.
AUTH_ERRORS: dict[int, type[Schema]] = {401: ErrorOut}
READ_ERRORS: dict[int, type[Schema]] = {401: ErrorOut, 404: ErrorOut, 422: ErrorOut}
WRITE_ERRORS: dict[int, type[Schema]] = {
    401: ErrorOut,
    403: ErrorOut,
    404: ErrorOut,
    409: ErrorOut,
    422: ErrorOut,
}
# Writes to a task, a retrospective or weekly-review notes must say which version they read
# (version or If-Match), else 428.
VERSIONED_WRITE_ERRORS: dict[int, type[Schema]] = {**WRITE_ERRORS, 428: ErrorOut}


class PageMeta(Schema):
    count: int = Field(description="How many items match, across all pages.")
    limit: int
    offset: int
