"""What tracking adds to pages the tasks app owns, through `closeloop.tasks.extensions`:
a panel on the task page (flags, forecast and why, the latest update, the warning history,
links to post an update or raise a warning) and the 有风险 flag on task rows (overdue and
blocked are shown by the tasks app itself)."""

from django.db import connection
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from closeloop.core import compiled, pgfast
from closeloop.orgs.models import display_name
from closeloop.orgs.selectors import acceptance_routes, led_department_ids
from closeloop.tasks import extensions
from closeloop.tasks.selectors import routes_key, routes_sql
from closeloop.tracking import cadence, services
from closeloop.tracking.models import DelayWarning, ProgressUpdate, TaskForecast, WarningStatus
from closeloop.tracking.selectors import Flags, forecast_of, owed_list_q, with_flags
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
        # A closed task shows no forecast (and has none since `services.close_with_task`).
        if task.is_open and extensions.task_has(task, "forecast")
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
    """有风险 on a task row (`flags_for`'s at_risk: a forecast at risk on an open task), or ""."""
    fc = forecast_of(task)
    if not (fc and fc.at_risk and task.is_open):
        return ""
    # `flags_html` of the risk alone (f-strings since it was ~350 Python calls a flagged row
    # of 我的工作 through format_html, issue 16).
    return flags_html(Flags(overdue=False, at_risk=True, blocked=False, forecast=fc))


# The first warnings waiting for a person's decision and how many wait, in one statement:
# `selectors.pending_warnings_for` (kept for the other pages) written by hand, reading only
# the columns the line shows. Built through the ORM, its rows with the task, department,
# owner and author whole and a separate count were ~16,000 Python calls of a department
# head's 我的工作 (issue 16). `{led}` is one placeholder per department the person leads;
# `{scope}` is empty for a superuser, who decides everywhere.
_PENDING_SQL = (
    "SELECT w.id, w.old_due_date, w.new_due_date, w.decide_by, t.code, t.title, d.code,"
    " u.username, u.name, u.first_name, u.last_name, COUNT(*) OVER ()"
    " FROM tracking_delaywarning w INNER JOIN tasks_task t ON t.id = w.task_id"
    " INNER JOIN orgs_department d ON d.id = t.department_id INNER JOIN orgs_user u ON u.id = w.raised_by_id"
    " WHERE w.status = %s AND w.raised_by_id <> %s{scope} ORDER BY w.decide_by, w.id LIMIT %s"
)
# The warnings that ask the person (`selectors.warning_routes_q`): their acceptance routes
# with the raiser for the owner (constants: ints only), or escalated to them.
_PENDING_SCOPE = " AND ({routes}w.escalated_to_id = %s)"


def _converters(model, name: str) -> tuple:
    field = model._meta.get_field(name)
    col = field.get_col(model._meta.db_table)
    return col, [*connection.ops.get_db_converters(col), *col.get_db_converters(connection)]


def _converted(value, col, converters):
    for convert in converters:
        value = convert(value, col, connection)
    return value


def pending_decisions(user, limit: int) -> tuple[int, list[extensions.Decision]]:
    """Delay warnings waiting for `user`'s decision (`selectors.pending_warnings_for`: the
    same warnings, by the time to decide by), for 我的工作: (how many, the first `limit`),
    in one query (`_PENDING_SQL`, the count as a window over the rows); none for someone
    who leads no department and is not a superuser."""
    # Only a head or deputy is asked or escalated to: nobody else reads anything.
    if not user.is_superuser and not led_department_ids(user):
        return 0, []
    params: list = [WarningStatus.PENDING.value, user.pk]
    scope = ""
    if not user.is_superuser:
        parts = routes_sql(routes_key(acceptance_routes(user)), "t", person="w.raised_by_id")
        scope = _PENDING_SCOPE.format(routes="".join(f"({p}) OR " for p in parts))
        params.append(user.pk)
    # Prepared on PostgreSQL (pgfast): one shape per set of routes (their ids are constants of
    # the text, as 我的工作's keys statement), so per leader, a few dozen in a company.
    with pgfast.cursor(connection) as cur:
        cur.execute(_PENDING_SQL.format(scope=scope), [*params, limit])
        fetched = cur.fetchall()
    if not fetched:
        return 0, []
    dates = _converters(DelayWarning, "old_due_date")
    times = _converters(DelayWarning, "decide_by")
    url = reverse("tracking:warning_decide", args=[_MARK]).split(str(_MARK))
    kind, line = (
        str(_("Delay warning")),
        _("%(code)s %(title)s: %(owner)s asks to move %(due)s → %(new_due)s"),
    )
    rows = []
    for pk, old_due, new_due, decide_by, code, title, dept_code, *person, _count in fetched:
        text = line % {
            "code": f"{dept_code}-{code}",
            "title": title,
            "owner": display_name(*person[1:], person[0]),
            "due": _converted(old_due, *dates).isoformat(),
            "new_due": _converted(new_due, *dates).isoformat(),
        }
        by = timezone.localtime(_converted(decide_by, *times)).strftime("%Y-%m-%d %H:%M")
        rows.append(extensions.Decision(kind=kind, text=text, url=f"{url[0]}{pk}{url[1]}", by=by))
    return fetched[0][-1], rows


_MARK = 987_654_321  # a warning id, to cut the decision page's URL around


def owner_actions(request, task) -> list[tuple[str, str]]:
    """更新进度 and 发起延期预警 at the top of the task page, for the owner of an open task."""
    if request.user.pk != task.owner_id or not task.is_open:
        return []
    return [
        (str(_("Update progress")), reverse("tracking:task_updates", args=[task.pk])),
        (str(_("Raise a delay warning")), reverse("tracking:warning_new", args=[task.pk])),
    ]


def register() -> None:
    extensions.register_close_hook(services.close_with_tasks)
    extensions.register_quick_actions(owner_actions)
    extensions.register_decision_source(pending_decisions)
    extensions.register_task_panel(task_panel)
    extensions.register_task_presence("forecast", TaskForecast)
    extensions.register_task_presence("progress_updates", ProgressUpdate)
    extensions.register_task_presence("delay_warnings", DelayWarning)
    extensions.register_row_flags(prepare=with_flags, render=risk_flag)
    extensions.register_list_condition("owed", owed_list_q)
