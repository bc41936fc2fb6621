"""Small template helpers of the planning pages."""

from django import template
from django.utils import timezone
from django.utils.html import format_html
from django.utils.translation import gettext as _

register = template.Library()


@register.simple_tag
def countdown(deadline) -> str:
    """A respond-by countdown ("Respond within 5 h 20 min"); tasks/plan.js keeps it ticking."""
    if not deadline:
        return ""
    seconds = int((deadline - timezone.now()).total_seconds())
    late = seconds < 0
    s = abs(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        left = _("%(d)s d %(h)s h") % {"d": days, "h": hours}
    elif hours:
        left = _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    else:
        left = _("%(m)s min") % {"m": minutes}
    text = (_("Response overdue by %(left)s") if late else _("Respond within %(left)s")) % {"left": left}
    return format_html(
        '<span class="countdown{}" data-deadline="{}" data-late="{}" data-left="{}" title="{}">{}</span>',
        " countdown--late" if late else (" countdown--soon" if seconds < 4 * 3600 else ""),
        deadline.isoformat(),
        _("Response overdue by %(left)s"),
        _("Respond within %(left)s"),
        timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M"),
        text,
    )
