"""`{% load insights %}`: the task rows of 仪表盘 and 周复盘.

Rendered in Python: the weekly review lists up to 200 rows, and an included template per row
(with its flags tag) was most of the page's time.
"""

from django import template
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString
from django.utils.translation import gettext as _

from closeloop.tasks.templatetags.plan_tags import task_url_pattern
from closeloop.tracking.templatetags.tracking import tracking_flags

register = template.Library()


@register.simple_tag
def mini_tasks(tasks, today, empty: str = "—", *, total: int | None = None, more: str = "") -> SafeString:
    """<li> rows: code, linked title, owner · due date, flags. `tasks` need `department`,
    `owner` and `forecast` loaded (select_related) to stay constant-query. When the list is
    cut short (`total` is larger), a last row says so, with a link to all of them (`more`)."""
    if not tasks:
        return format_html('<li class="muted">{}</li>', empty)
    detail = task_url_pattern()
    rows = format_html_join(
        "",
        '<li><span><span class="code">{}-{}</span> <a href="{}">{}</a><br>'
        '<span class="small muted">{} · {}</span></span>{}</li>',
        (
            (
                t.department.code,
                t.code,
                detail.format(t.pk),
                t.title,
                t.owner.display_name,
                f"{t.due_date:%Y-%m-%d}",
                tracking_flags(t, today),
            )
            for t in tasks
        ),
    )
    if total is None or total <= len(tasks):
        return rows
    shown = _("Showing %(shown)s of %(total)s.") % {"shown": len(tasks), "total": total}
    link = format_html(' <a href="{}">{}</a>', more, _("See them all")) if more else ""
    return format_html('{}<li class="muted small">{}{}</li>', rows, shown, link)
