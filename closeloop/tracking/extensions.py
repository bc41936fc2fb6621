"""What tracking adds to pages the tasks app owns, through `closeloop.tasks.extensions`:
a panel on the task page (flags, forecast and why, the latest update, the warning history,
links to post an update or raise a warning) and the 有风险 flag on task rows (overdue and
blocked are shown by the tasks app itself)."""

from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core import compiled
from closeloop.tasks import extensions
from closeloop.tracking import cadence
from closeloop.tracking.models import DelayWarning, ProgressUpdate, TaskForecast
from closeloop.tracking.selectors import Flags, flags_for, pending_warnings_for, with_flags
from closeloop.tracking.templatetags.tracking import flags_html


def _first(rows: list):
    return rows[0] if rows else None


def task_panel(request, task) -> str:
    """Three queries at most, whatever the task's history; none for what the task page's
    presence flags say the task does not have (`extensions.task_has`)."""
    # Each read has the same shape on every task page: compiled once per connection (issue 16).
    fc = (
        _first(
            compiled.rows(
                "tracking.panel.forecast",
                TaskForecast,
                lambda pk: TaskForecast.objects.filter(task_id=pk).order_by("pk")[:1],
                (task.pk,),
            )
        )
        if extensions.task_has(task, "forecast")
        else None
    )
    today = cadence.local_today(task.department, timezone.now())
    flags = Flags(
        overdue=task.is_overdue(today),
        at_risk=bool(fc and fc.at_risk and task.is_open),
        blocked=task.status == "blocked",
        forecast=fc,
    )
    context = {
        "task": task,
        "flags": flags,
        "latest": _first(
            compiled.rows(
                "tracking.panel.latest",
                ProgressUpdate,
                lambda pk: ProgressUpdate.objects.filter(task_id=pk).order_by("-day")[:1],
                (task.pk,),
            )
        )
        if extensions.task_has(task, "progress_updates")
        else None,
        "warnings": compiled.rows(
            "tracking.panel.warnings",
            DelayWarning,
            lambda pk: DelayWarning.objects.filter(task_id=pk).order_by("-raised_at")[:10],
            (task.pk,),
        )
        if extensions.task_has(task, "delay_warnings")
        else [],
        "is_owner": request.user.pk == task.owner_id,
    }
    return render_to_string("tracking/_panel.html", context, request=request)


def risk_flag(task, today) -> str:
    flags = flags_for(task, today)
    if not flags.at_risk:
        return ""
    only_risk = Flags(overdue=False, at_risk=True, blocked=False, forecast=flags.forecast)
    return flags_html(only_risk)


def pending_decisions(user, limit: int) -> tuple[int, list[extensions.Decision]]:
    """Delay warnings waiting for `user`'s decision, for 我的工作: (how many, the first
    `limit`). One query, and a count only when `limit` rows came back (usually fewer wait)."""
    qs = pending_warnings_for(user)
    warnings = list(qs[:limit])
    count = len(warnings) if len(warnings) < limit else qs.count()
    rows = [
        extensions.Decision(
            kind=str(_("Delay warning")),
            text=_("%(code)s %(title)s: %(owner)s asks to move %(due)s → %(new_due)s")
            % {
                "code": w.task.full_code,
                "title": w.task.title,
                "owner": w.raised_by.display_name,
                "due": w.old_due_date.isoformat(),
                "new_due": w.new_due_date.isoformat(),
            },
            url=reverse("tracking:warning_decide", args=[w.pk]),
            by=timezone.localtime(w.decide_by).strftime("%Y-%m-%d %H:%M"),
        )
        for w in warnings
    ]
    return count, rows


def owner_actions(request, task) -> list[tuple[str, str]]:
    """更新进度 and 发起延期预警 at the top of the task page, for the owner of an open task."""
    if request.user.pk != task.owner_id or not task.is_open:
        return []
    return [
        (str(_("Update progress")), reverse("tracking:task_updates", args=[task.pk])),
        (str(_("Raise a delay warning")), reverse("tracking:warning_new", args=[task.pk])),
    ]


def register() -> None:
    extensions.register_quick_actions(owner_actions)
    extensions.register_decision_source(pending_decisions)
    extensions.register_task_panel(task_panel)
    extensions.register_task_presence("forecast", TaskForecast)
    extensions.register_task_presence("progress_updates", ProgressUpdate)
    extensions.register_task_presence("delay_warnings", DelayWarning)
    extensions.register_row_flags(prepare=with_flags, render=risk_flag)
