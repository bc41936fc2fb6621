"""`{% load insights %}`: the task rows of 仪表盘 and 周复盘, the missing updates, on-time rates,
cross-department load and slipped tasks.

Rendered in Python: the weekly review lists up to 200 rows, and an included template per row
(with its flags tag) was most of the page's time.
"""

from django import template
from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.formats import get_format, localize
from django.utils.html import format_html, format_html_join
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from closeloop.collab.ladder import escalated_label
from closeloop.core.escape import esc
from closeloop.core.text import label_suffix
from closeloop.tasks.templatetags.plan_tags import task_url_pattern
from closeloop.tracking.templatetags.tracking import tracking_flags

register = template.Library()


@register.simple_tag
def mini_tasks(tasks, today, empty: str = "—", *, total: int | None = None, more: str = "") -> SafeString:
    """<li> rows: code, linked title, owner · due date, flags. `tasks` need `department`,
    `owner` and `forecast` loaded (select_related) to stay constant-query. When the list is
    cut short (`total` is larger), a last row says so, with a link to all of them (`more`).
    Each value through `core.escape.esc` (conditional_escape's result, as format_html_join
    wrote them: test_dashboard_html compares with the old templates)."""
    if not tasks:
        return mark_safe(f'<li class="muted">{esc(empty)}</li>')  # noqa: S308 - escaped
    detail = task_url_pattern()
    rows = "".join(
        f'<li><span><span class="code">{esc(t.department.code)}-{esc(t.code)}</span> '
        f'<a href="{esc(detail.format(t.pk))}">{esc(t.title)}</a><br>'
        f'<span class="small muted">{esc(t.owner.display_name)} · {t.due_date:%Y-%m-%d}</span></span>'
        f"{esc(tracking_flags(t, today))}</li>"
        for t in tasks
    )
    if total is None or total <= len(tasks):
        return mark_safe(rows)  # noqa: S308 - every value escaped
    shown = _("Showing %(shown)s of %(total)s.") % {"shown": len(tasks), "total": total}
    link = format_html(' <a href="{}">{}</a>', more, _("See them all")) if more else ""
    return format_html('{}<li class="muted small">{}{}</li>', mark_safe(rows), shown, link)  # noqa: S308


def _n(value) -> str:
    """A number as `{{ value }}` writes it: localized, as the template engine does, with
    Django's own fast path for whole numbers without thousand separators (a format look-up
    per number cost more than the row)."""
    if type(value) is int and not settings.USE_THOUSAND_SEPARATOR:
        return str(value)
    return localize(value)


def _numbers():
    """`_n` for one table: decimals too without a format look-up per number (the separator
    looked up once). Without thousand separators Django writes a finite float as its `str()`
    with the language's decimal separator (`numberformat.format`); anything else goes to
    `_n` (bench s5: ~220 average-attempt figures were ~8,000 Python calls)."""
    if settings.USE_THOUSAND_SEPARATOR:
        return _n
    sep = get_format("DECIMAL_SEPARATOR")

    def number(value) -> str:
        if type(value) is float:
            text = str(value)
            if "e" not in text and "n" not in text:  # not 1e-05, inf, nan
                return text.replace(".", sep)
        return _n(value)

    return number


@register.simple_tag
def missing_rows(by_person, more: str = "") -> SafeString:
    """仪表盘's missing updates: an <li> per person (`insights.selectors.OwedPerson`) with the
    first tasks they owe linked, one per line, "N more" when they owe more — a link to the
    task list of what they owe, `more` followed by their id (`…?owed=1&owner=`) — and how
    many in all. Rendered here: a department of 20,000 tasks owes ~350 updates on a working
    day, and a template loop with a reverse() per task was a third of the page; each value
    through `core.escape.esc` (format_html was ~30 calls a link)."""
    detail = task_url_pattern()

    def links(row) -> str:
        # One per line: the first alone, each next one after a <br>.
        shown = "<br>".join(
            f'<a class="small" href="{esc(detail.format(t.pk))}">'
            f"{esc(t.department.code)}-{esc(t.code)} {esc(t.title)}</a>"
            for t in row.tasks
        )
        if row.more:
            label = esc(_("%(n)s more") % {"n": _n(row.more)})
            shown += (
                f'<br><a class="small" href="{esc(more)}{row.person.pk}">{label}</a>'
                if more
                else f'<br><span class="small muted">{label}</span>'
            )
        return shown

    return mark_safe(  # noqa: S308 - every value escaped
        "".join(
            f"<li><span><strong>{esc(row.person.display_name)}</strong><br>{links(row)}</span>"
            f'<span class="count">{esc(_n(row.total))}</span></li>'
            for row in by_person
        )
    )


@register.simple_tag
def rate_rows(rates) -> SafeString:
    """仪表盘's on-time table: a <tr> per `PersonRate` (a row per person who completed a task
    in the four weeks, ~150 in a large department): done, on-time rates, first-pass rate
    and average attempts (— when nothing was accepted). Each value through `core.escape.esc`."""

    n = _numbers()

    def pct(value) -> str:
        return "—" if value is None else f"{n(value)}%"

    return mark_safe(  # noqa: S308 - every value escaped
        "".join(
            f"<tr><td>{esc(r.name)}</td><td>{esc(n(r.done))}</td><td>{esc(n(r.rate))}%</td>"
            f"<td>{esc(n(r.rate_original))}%</td><td>{esc(pct(r.first_pass_rate))}</td>"
            f"<td>{esc('—' if (a := r.average_attempts) is None else n(a))}</td></tr>"
            for r in rates
        )
    )


@register.simple_tag
def load_rows(load) -> SafeString:
    """仪表盘's cross-department load: a <tr> per `collab.selectors.LoadRow` (person, tasks
    and issues elsewhere), each value through `core.escape.esc`."""
    return mark_safe(  # noqa: S308 - every value escaped
        "".join(
            f"<tr><td>{esc(r.person.display_name)}</td><td>{esc(_n(r.tasks))}</td>"
            f"<td>{esc(_n(r.issues))}</td></tr>"
            for r in load
        )
    )


def _m_d(day) -> str:
    """`{{ day|date:"m-d" }}`: empty for no date."""
    return f"{day:%m-%d}" if day else ""


def _pattern(name: str) -> str:
    """The URL of `name` (one id argument) with `{}` for the id: a reverse() per row cost more
    than the row."""
    return reverse(name, args=[0]).replace("/0/", "/{}/")


@register.simple_tag
def warning_rows(warnings) -> SafeString:
    """仪表盘's delay warnings awaiting my decision: an <li> per warning (`task__department`
    loaded) — code, title linked to the decision, old → new due date, reason, and a flag when
    raised late. Written here as the template loop wrote them (test_dashboard_html): a loop
    with a url tag, two date filters and the translations per row was ~750 Python calls a
    row."""
    decide = _pattern("tracking:warning_decide")
    # "延期预警：" in Chinese, "Delay warning: " in English.
    label = esc(_("Delay warning") + label_suffix())
    late = f'<span class="flag flag--late">{esc(_("Raised late"))}</span>'
    return mark_safe(  # noqa: S308 - every value escaped
        "".join(
            f'<li><span><span class="code">{esc(w.task.department.code)}-{esc(w.task.code)}</span> '
            f'<a href="{esc(decide.format(w.pk))}">{esc(w.task.title)}</a><br>'
            f'<span class="small muted">{label}{_m_d(w.old_due_date)} → {_m_d(w.new_due_date)} · '
            f"{esc(w.get_reason_display())}</span></span>{'' if w.on_time else late}</li>"
            for w in warnings
        )
    )


@register.simple_tag
def acceptance_rows(tasks) -> SafeString:
    """仪表盘's tasks awaiting my acceptance: an <li> per task (`department` and `owner`
    loaded) — code, linked title, the owner's name."""
    detail = task_url_pattern()
    label = esc(_("Acceptance"))
    return mark_safe(  # noqa: S308 - every value escaped
        "".join(
            f'<li><span><span class="code">{esc(t.department.code)}-{esc(t.code)}</span> '
            f'<a href="{esc(detail.format(t.pk))}">{esc(t.title)}</a><br>'
            f'<span class="small muted">{label} · {esc(t.owner.display_name)}</span></span></li>'
            for t in tasks
        )
    )


@register.simple_tag
def escalated_rows(issues, empty: str) -> SafeString:
    """仪表盘's escalated cross-department issues (`collab.selectors.department_collab`,
    `task__department` and `resolver` loaded): an <li> per issue — the task's code, the
    problem (60 characters) linked, the resolver, when raised (in the current time zone, as
    the template's date filter) and the level; `empty`'s row when there is none."""
    if not issues:
        return mark_safe(f'<li class="muted">{esc(empty)}</li>')  # noqa: S308 - escaped
    page = _pattern("collab:issue")
    resolver = esc(_("Resolver"))
    return mark_safe(  # noqa: S308 - every value escaped
        "".join(
            f'<li><span><span class="code">{esc(i.task.full_code)}</span> '
            f'<a href="{esc(page.format(i.pk))}">{esc(Truncator(i.problem).chars(60))}</a><br>'
            f'<span class="small muted">{resolver} {esc(i.resolver.display_name)} · '
            f"{timezone.localtime(i.raised_at):%m-%d %H:%M}</span></span>"
            f'<span class="flag flag--late">{esc(escalated_label(i.level))}</span></li>'
            for i in issues
        )
    )


@register.simple_tag
def slipped_rows(warnings) -> SafeString:
    """周复盘's slipped tasks: an <li> per delay warning of the week (`task__department`
    loaded) — code, linked to the decision, reason, old → new due date, state, and a flag
    when it was raised late. A busy department raises ~200 a week."""
    decide = reverse("tracking:warning_decide", args=[0]).replace("/0/", "/{}/")
    late = format_html('<span class="flag flag--late">{}</span>', _("Raised late"))
    return format_html_join(
        "",
        '<li><span><span class="code">{}-{}</span> <a href="{}">{}</a><br><span class="small muted">'
        "{} · {} → {} · {}</span></span>{}</li>",
        (
            (
                s.task.department.code,
                s.task.code,
                decide.format(s.pk),
                s.task.title,
                s.get_reason_display(),
                _m_d(s.old_due_date),
                _m_d(s.new_due_date),
                s.get_status_display(),
                "" if s.on_time else late,
            )
            for s in warnings
        ),
    )
