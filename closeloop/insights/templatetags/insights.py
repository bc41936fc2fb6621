"""`{% load insights %}`: the task rows of 仪表盘 and 周复盘.

Rendered in Python: the weekly review lists up to 200 rows, and an included template per row
(with its flags tag) was most of the page's time.
"""

from django import template
from django.urls import reverse
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString

from closeloop.tracking.templatetags.tracking import tracking_flags

register = template.Library()


@register.simple_tag
def mini_tasks(tasks, today, empty: str = "—") -> SafeString:
    """<li> rows: code, linked title, owner · due date, flags. `tasks` need `department`,
    `owner` and `forecast` loaded (select_related) to stay constant-query."""
    if not tasks:
        return format_html('<li class="muted">{}</li>', empty)
    detail = reverse("tasks:detail", args=[0])[: -len("0/")]
    return format_html_join(
        "",
        '<li><span><span class="code">{}-{}</span> <a href="{}{}/">{}</a><br>'
        '<span class="small muted">{} · {}</span></span>{}</li>',
        (
            (
                t.department.code,
                t.code,
                detail,
                t.pk,
                t.title,
                t.owner.display_name,
                f"{t.due_date:%Y-%m-%d}",
                tracking_flags(t, today),
            )
            for t in tasks
        ),
    )
