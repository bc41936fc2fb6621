"""HTML of the knowledge base's filters and lesson cards and of the review page's criteria and
earlier rounds, built in Python (issues 13 and 16).

Through the template language a 知识库 page spent ~45,000 Python calls on five drop-downs and
20 cards (a variable lookup, a filter and an escape per value), more than its search. These
functions write character for character what the templates wrote (`tests/test_html.py`
renders the old templates beside them) and escape every text a person wrote with `escape`;
labels are translated here with the templates' msgids, so no new string to translate.
"""

import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from closeloop.review.models import measure_display, measured_display
from closeloop.tasks.models import TaskType
from closeloop.tasks.templatetags.plan_tags import task_url_pattern


# What django.utils.html.escape (html.escape with quotes) replaces, in one str.translate:
# Django's escape is four Python calls and five str.replace per value, and a page escapes
# hundreds of values.
_ESCAPES = str.maketrans({"&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#x27;"})


def escape(value) -> str:
    """`django.utils.html.escape(value)`, as a plain str to be joined into marked-safe HTML."""
    return str(value).translate(_ESCAPES)


def truncatechars(value: str, length: int) -> str:
    """`{{ value|truncatechars:length }}` (unescaped): Django's Truncator walks every character
    of the text; one no longer than `length` after NFC normalisation comes back whole."""
    text = unicodedata.normalize("NFC", value)
    if len(text) <= length:
        return text
    return Truncator(text).chars(length)


def _urlencode(value) -> str:
    """`{{ value|urlencode }}`: percent-encoded, "/" kept (Django's filter), then escaped."""
    return escape(quote(str(value), safe="/"))


def _date(value) -> str:
    """`{{ value|date:"Y-m-d" }}` of an aware datetime: the date in the current time zone."""
    if value is None:
        return ""
    if timezone.is_aware(value):
        value = timezone.localtime(value)
    return f"{value:%Y-%m-%d}"


def filter_select(id_: str, name: str, choices: Iterable[tuple], selected) -> SafeString:
    """A filter's <select>: an empty "—" option, then one per `(value, label)`; the option whose
    value equals `selected` (same type: ids are ints, types strings) is selected."""
    out = [f'<select id="{id_}" name="{name}"><option value="">—</option>']
    for value, label in choices:
        out.append(
            f'<option value="{escape(value)}"{" selected" if value == selected else ""}>{escape(label)}</option>'
        )
    out.append("</select>")
    return mark_safe("".join(out))  # noqa: S308 - ids and names are constants; values and labels escaped


def knowledge_selects(filters, *, departments, customers, projects) -> dict[str, SafeString]:
    """The four filter drop-downs of 知识库 (`filters` a `selectors.KnowledgeFilters`; the
    others `(id, name)` pairs), keyed by filter."""
    return {
        "type": filter_select("ktype", "type", TaskType.choices, filters.task_type),
        "department": filter_select("kdept", "department", departments, filters.department),
        "customer": filter_select("kcust", "customer", customers, filters.customer),
        "project": filter_select("kproj", "project", projects, filters.project),
    }


def _tag_links(tags: list[str]) -> str:
    return "".join(f'<a class="tag" href="?tag={_urlencode(t)}">#{escape(t)}</a> ' for t in tags)


def lesson_cards(rows: list[dict]) -> str:
    """The <article>s of a page of lessons (`selectors.lessons` dicts), or "No lessons found."."""
    if not rows:
        return f'\n  <p class="muted">{_("No lessons found.")}</p>\n'
    detail = task_url_pattern()
    types = {value: str(label) for value, label in TaskType.choices}
    worked_label = _("What worked")
    improve_label = _("What to improve")
    out = []
    for r in rows:
        kind = r["task__task_type"]
        meta = [escape(r["task__department__name"]), escape(types.get(kind, kind))]
        if r["task__customer__name"] is not None:
            meta.append(escape(r["task__customer__name"]))
        if r["task__project__name"] is not None:
            meta.append(escape(r["task__project__name"]))
        meta.append(_date(r["created_at"]))
        worked = r["what_worked"]
        improve = r["to_improve"]
        tags = r["tags"]
        out.append(
            '\n  <article class="card card__body lesson">\n'
            f'    <h2 class="small"><a href="{detail.format(r["task_id"])}"><span class="code">'
            f"{escape(r['task__department__code'])}-{escape(r['task__code'])}</span> {escape(r['task__title'])}</a></h2>\n"
            f'    <p class="muted small">{" · ".join(meta)}</p>\n'
            "    "
            + (
                f"<p><strong>{worked_label}:</strong> {escape(truncatechars(worked, 300))}</p>"
                if worked
                else ""
            )
            + "\n    "
            + (
                f"<p><strong>{improve_label}:</strong> {escape(truncatechars(improve, 300))}</p>"
                if improve
                else ""
            )
            + "\n    "
            + (f"<p>{_tag_links([str(t) for t in tags])}</p>" if tags else "")
            + "\n  </article>\n"
        )
    return "".join(out)


def knowledge_results(*, page, filters, tags: list[str], query_string: str) -> SafeString:
    """Everything of 知识库 below the search form: the tags in use (the chosen one marked), how
    many lessons match, the cards of `page` (a Page of `selectors.lessons` dicts from a
    CappedIdPaginator) and the previous / next links, which keep `query_string` (the
    request's, already encoded)."""
    out = []
    if tags:
        links = "".join(
            f'<a class="tag{" tag--on" if filters.tag == t else ""}" href="?tag={_urlencode(t)}">#{escape(t)}</a> '
            for t in tags
        )
        if filters.tag:
            links += f'<a href="?q={_urlencode(filters.q)}" class="small">{_("All tags")}</a>'
        out.append(f'<p class="small">{links}</p>')
    n = page.paginator.count
    if page.paginator.capped:
        said = _(
            "More than %(n)s lessons; the newest are shown — narrow the search to find the rest."
        ) % {"n": n}
    else:
        said = ngettext("%(n)s lesson", "%(n)s lessons", n) % {"n": n}
    out.append(f'\n<p class="muted small">{said}</p>\n<div class="stack" id="lessons">\n')
    out.append(lesson_cards(page.object_list))
    out.append("\n</div>\n")
    if page.has_other_pages():
        query = escape(query_string)
        nav = ['<nav class="btn-row" style="margin-top:12px">']
        if page.has_previous():
            nav.append(
                f'<a class="btn btn--sm" href="?{query}&page={page.previous_page_number()}">{_("Previous")}</a>'
            )
        if page.has_next():
            nav.append(
                f'<a class="btn btn--sm" href="?{query}&page={page.next_page_number()}">{_("Next")}</a>'
            )
        nav.append("</nav>")
        out.append("".join(nav))
    return mark_safe("".join(out))  # noqa: S308 - every text from the database or the request is escaped


def review_rows(rows: list[dict], judge_url: str) -> SafeString:
    """The review form's criteria (`views._review_context` rows: a check dict and what was
    posted), each a fieldset with the measured value (judged as it is typed, htmx) or pass /
    fail, the comment and its errors; or the bare verdict when no criteria were written.
    `judge_url` is the judge view's address with `{}` for the check's id."""
    raise NotImplementedError
