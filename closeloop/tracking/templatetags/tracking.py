"""Tracking on pages the tasks app owns: `{% load tracking %}`

- `{% task_tracking_panel task user %}` on the task page: flags, forecast and why, the latest
  update, the delay-warning history, links to post an update or raise a warning (3 queries).
- `{% tracking_flags task %}` in any list: overdue, at risk, blocked. Reads `task.forecast`,
  so list querysets should `select_related("forecast")` (see `tracking.selectors.with_flags`)
  to stay constant-query.
"""

from django import template
from django.utils import timezone

from closeloop.tracking import cadence
from closeloop.tracking.models import DelayWarning, ProgressUpdate, TaskForecast
from closeloop.tracking.selectors import Flags, flags_for

register = template.Library()


def _today(task):
    return cadence.local_today(task.department, timezone.now())


@register.inclusion_tag("tracking/_panel.html")
def task_tracking_panel(task, user):
    fc = TaskForecast.objects.filter(task_id=task.pk).first()
    today = _today(task)
    flags = Flags(
        overdue=task.is_overdue(today),
        at_risk=bool(fc and fc.at_risk and task.is_open),
        blocked=task.status == "blocked",
        forecast=fc,
    )
    return {
        "task": task,
        "flags": flags,
        "latest": ProgressUpdate.objects.filter(task_id=task.pk).order_by("-day").first(),
        "warnings": list(DelayWarning.objects.filter(task_id=task.pk).order_by("-raised_at")[:10]),
        "is_owner": getattr(user, "pk", None) == task.owner_id,
    }


@register.inclusion_tag("tracking/_flags.html")
def tracking_flags(task, today=None):
    return {"flags": flags_for(task, today or _today(task))}
