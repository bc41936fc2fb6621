"""Tracking on pages the tasks app owns: `{% load tracking %}`

(The task page's tracking panel comes through `tasks.extensions`, see tracking/extensions.py.)
- `{% tracking_flags task %}` in any list: overdue, at risk, blocked. Reads `task.forecast`,
  so list querysets should `select_related("forecast")` (see `tracking.selectors.with_flags`)
  to stay constant-query.
"""

from django import template
from django.utils import timezone

from closeloop.tracking import cadence
from closeloop.tracking.selectors import flags_for

register = template.Library()


def _today(task):
    return cadence.local_today(task.department, timezone.now())


@register.inclusion_tag("tracking/_flags.html")
def tracking_flags(task, today=None):
    return {"flags": flags_for(task, today or _today(task))}
