"""Small UI components shared by every app's templates: icons, badges, progress bars, form
fields and sortable column headers."""

from django import template
from django.templatetags.static import static
from django.utils.html import format_html
from django.utils.http import urlencode
from django.utils.translation import gettext as _

register = template.Library()

# Status and priority labels live with the tasks app; templates pass the label in when they
# have it (`get_status_display`), so core does not import tasks.


@register.simple_tag
def icon(name: str, extra_class: str = "") -> str:
    return format_html(
        '<svg class="icon {}" aria-hidden="true"><use href="{}#{}"></use></svg>',
        extra_class,
        static("closeloop/icons.svg"),
        name,
    )


@register.simple_tag
def status_badge(value: str, label: str) -> str:
    return format_html('<span class="badge status--{}">{}</span>', value, label)


@register.simple_tag
def priority_badge(value: int, label: str) -> str:
    return format_html('<span class="badge prio prio--{}">{}</span>', value, label)


@register.simple_tag
def progress_bar(value) -> str:
    try:
        pct = max(0, min(100, int(value or 0)))
    except (TypeError, ValueError):
        pct = 0
    return format_html(
        '<span class="progress{}" role="progressbar" aria-valuemin="0" aria-valuemax="100" aria-valuenow="{}">'
        '<span class="progress__bar"><span class="progress__fill" style="width:{}%"></span></span>'
        '<span class="progress__num">{}%</span></span>',
        " progress--done" if pct == 100 else "",
        pct,
        pct,
        pct,
    )


@register.simple_tag
def overdue_flag() -> str:
    return format_html('<span class="flag-overdue">{}</span>', _("Overdue"))


@register.filter
def initials(user) -> str:
    name = getattr(user, "display_name", "") or str(user or "")
    name = name.strip()
    if not name:
        return "?"
    if name[0].isascii():
        parts = name.split()
        return "".join(p[0] for p in parts[:2]).upper()
    return name[-2:] if len(name) >= 2 else name


@register.inclusion_tag("ui/field.html")
def field(bound_field, extra_class: str = ""):
    return {"f": bound_field, "extra_class": extra_class}


@register.simple_tag(takes_context=True)
def sort_link(context, key: str, label: str) -> str:
    """A column header that sorts by `key`, and by `-key` when already sorted by it."""
    request = context["request"]
    current = request.GET.get("sort", "")
    params = request.GET.copy()
    params.pop("page", None)
    if current == key:
        params["sort"] = f"-{key}"
        arrow, cls = " ↑", "sorted"
    elif current == f"-{key}":
        params["sort"] = key
        arrow, cls = " ↓", "sorted"
    else:
        params["sort"] = key
        arrow, cls = "", ""
    url = f"{request.path}?{urlencode(sorted(params.lists()), doseq=True)}"
    return format_html(
        '<a href="{}" class="{}" hx-get="{}" hx-target="#task-table" hx-push-url="true">{}{}</a>',
        url,
        cls,
        url,
        label,
        arrow,
    )


@register.simple_tag(takes_context=True)
def page_url(context, number: int) -> str:
    request = context["request"]
    params = request.GET.copy()
    params["page"] = str(number)
    return f"{request.path}?{urlencode(sorted(params.lists()), doseq=True)}"
