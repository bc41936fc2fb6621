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
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext as _

from closeloop.core.choices import choice_display
from closeloop.core.escape import esc
from closeloop.tracking import cadence
from closeloop.tracking.selectors import Flags, flags_for

register = template.Library()


def flags_html(flags: Flags) -> SafeString:
    """The flags as <span>s in a `flags` span, each value through `core.escape.esc` (what
    format_html wrote, ~10 times fewer Python calls: 仪表盘 and the lists call it per row)."""
    parts = ""
    if flags.overdue:
        parts += f'<span class="flag flag--overdue">{esc(_("Overdue"))}</span>'
    if flags.at_risk:
        fc = flags.forecast
        title = str(choice_display(fc, "reason")) if fc else ""
        if fc and fc.forecast_date:
            title += f" · {fc.forecast_date:%Y-%m-%d}"
        parts += f'<span class="flag flag--risk" title="{esc(title)}">{esc(_("At risk"))}</span>'
    if flags.blocked:
        parts += f'<span class="flag flag--blocked">{esc(_("Blocked"))}</span>'
    return mark_safe(f'<span class="flags">{parts}</span>')  # noqa: S308 - every value escaped


@register.simple_tag
def tracking_flags(task, today=None) -> SafeString:
    return flags_html(flags_for(task, today or cadence.local_today(task.department, timezone.now())))


@register.simple_tag
def show_flags(flags: Flags) -> SafeString:
    return flags_html(flags)
