"""Tracking on pages the tasks app owns: `{% load tracking %}`

(The task page's tracking panel comes through `tasks.extensions`, see tracking/extensions.py.)
- `{% tracking_flags task today %}` in any list: overdue, at risk, blocked. Reads
  `task.forecast`, so list querysets should `select_related("forecast")` (see
  `tracking.selectors.with_flags`) to stay constant-query.
- `{% show_flags flags %}` renders a `Flags` the view already has (the task page's panel).

Built in Python rather than an inclusion template: lists of a hundred rows call it once per
row, and a template render each time costs more than the rest of the row.
"""

from django import template
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from closeloop.tracking import cadence
from closeloop.tracking.selectors import Flags, flags_for

register = template.Library()


def flags_html(flags: Flags) -> SafeString:
    parts = []
    if flags.overdue:
        parts.append(format_html('<span class="flag flag--overdue">{}</span>', _("Overdue")))
    if flags.at_risk:
        fc = flags.forecast
        title = str(fc.get_reason_display()) if fc else ""
        if fc and fc.forecast_date:
            title += f" · {fc.forecast_date:%Y-%m-%d}"
        parts.append(format_html('<span class="flag flag--risk" title="{}">{}</span>', title, _("At risk")))
    if flags.blocked:
        parts.append(format_html('<span class="flag flag--blocked">{}</span>', _("Blocked")))
    return format_html('<span class="flags">{}</span>', format_html_join("", "{}", ((p,) for p in parts)))


@register.simple_tag
def tracking_flags(task, today=None) -> SafeString:
    return flags_html(flags_for(task, today or cadence.local_today(task.department, timezone.now())))


@register.simple_tag
def show_flags(flags: Flags) -> SafeString:
    return flags_html(flags)
