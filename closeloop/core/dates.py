"""The range of dates Closeloop works with: 1900-01-01 … 2100-12-31, and the part of it 日历
(the month calendar) shows: 2000-01-01 … 2100-12-31 (`CALENDAR_MIN`).

Forms and the API refuse dates outside it (a typo such as 0001-01-01 or 9999-12-31); rows
stored before that rule may still hold one, and pages that lay dates out (the timeline, the
calendar feed) show such a row clamped to the range and flagged instead of failing on date
arithmetic past `date.max`.

A text that is no date at all (2026-13-45) is refused with one message everywhere — form
fields (`DateField`), list filters and the API — naming the field and the format
(`invalid_date`).
"""

from datetime import date

from django import forms

from closeloop.core.errors import field_message

DATE_MIN = date(1900, 1, 1)
DATE_MAX = date(2100, 12, 31)
# The first day 日历 shows: its months run from 2000-01 to DATE_MAX's December
# (`planning.selectors.calendar.YEARS` is read from these two). What is only ever found through
# the calendar — a milestone — is dated within CALENDAR_MIN…DATE_MAX
# (`planning.services.decomposition.milestone_date_errors`), so it can always be shown there.
CALENDAR_MIN = date(2000, 1, 1)


def in_range(d: date | None) -> bool:
    """True for None (no date) and for a date within DATE_MIN…DATE_MAX."""
    return d is None or DATE_MIN <= d <= DATE_MAX


def clamp(d: date, low: date = DATE_MIN, high: date = DATE_MAX) -> date:
    """`d` moved into low…high."""
    return min(max(d, low), high)


def range_error() -> str:
    from django.utils.translation import gettext as _

    return _("Give a date between 1900 and 2100.")


def validate_in_range(value: date | None) -> None:
    """A form field validator: ValidationError (naming the range) outside DATE_MIN…DATE_MAX."""
    from django.core.exceptions import ValidationError

    if not in_range(value):
        raise ValidationError(range_error(), code="date_range")


def check_in_range(value: date | None) -> date | None:
    """The same for API schemas (pydantic AfterValidator): ValueError outside the range."""
    if not in_range(value):
        raise ValueError(range_error())
    return value


def invalid_date(value: object = None, field: object = None) -> str:
    """The message for a text that is no date (2026-13-45, "tomorrow"): `value` as typed (cut
    to 40 characters; None when unknown: the API is not told it), `field` its label or name,
    left out when the message is shown beside the field's name anyway (the API's `fields`)."""
    from django.utils.translation import gettext as _

    if value is None:
        message = _("Not a valid date; write it as YYYY-MM-DD.")
    else:
        message = _("“%(value)s” is not a valid date; write it as YYYY-MM-DD.") % {"value": str(value)[:40]}
    return field_message(field, message)


class DateField(forms.DateField):
    """A form's date field whose refusal of a text that is no date names the field, the
    value and the format (`invalid_date`), instead of Django's bare "Enter a valid date"."""

    def to_python(self, value):
        try:
            return super().to_python(value)
        except forms.ValidationError as exc:
            if getattr(exc, "code", None) != "invalid":
                raise
            from django.utils.translation import gettext as _

            raise forms.ValidationError(
                invalid_date(value, self.label or _("Date")), code="invalid"
            ) from None
