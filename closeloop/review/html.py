"""HTML of the knowledge base's filters and lesson cards, of the review page's criteria and
earlier rounds and of the task page's acceptance rounds, built in Python (issues 13 and 16).

Through the template language a 知识库 page spent ~45,000 Python calls on five drop-downs and
20 cards (a variable lookup, a filter and an escape per value), more than its search. These
functions write character for character what the templates wrote (`tests/test_html.py`
renders the old templates beside them) and escape every text a person wrote with `escape`;
labels are translated here with the templates' msgids, so no new string to translate.
"""

import unicodedata
from collections.abc import Iterable
from urllib.parse import quote

from django.template.defaultfilters import filesizeformat, linebreaksbr
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from closeloop.core.escape import escape
from closeloop.core.text import label_suffix
from closeloop.orgs.models import display_name
from closeloop.review.models import Verdict, measure_display, measured_display
from closeloop.tasks.models import TaskType
from closeloop.tasks.templatetags.plan_tags import task_url_pattern


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


def _name(r: dict, who: str) -> str:
    """User.display_name on a `selectors.lessons` row's columns of `who` (author, edited_by)."""
    return display_name(
        r[f"{who}__name"], r[f"{who}__first_name"], r[f"{who}__last_name"], r[f"{who}__username"]
    )


def lesson_byline(r: dict) -> str:
    """Who wrote a lesson and when, and who last rewrote it (unescaped text): 「张伟 ·
    2026-12-02」, or 「张伟 撰写 · 李娜 于 2026-12-09 修改」 once someone did (the task panel's
    wording, `review/_panel.html`)."""
    if r["edited_by_id"] is None:
        return f"{_name(r, 'author')} · {_date(r['created_at'])}"
    return _("%(author)s wrote it · %(editor)s edited it on %(date)s") % {
        "author": _name(r, "author"),
        "editor": _name(r, "edited_by"),
        "date": _date(r["edited_at"]),
    }


def lesson_cards(rows: list[dict]) -> str:
    """The <article>s of a page of lessons (`selectors.lessons` dicts), or "No lessons found."."""
    if not rows:
        return f'\n  <p class="muted">{_("No lessons found.")}</p>\n'
    detail = task_url_pattern()
    types = {value: str(label) for value, label in TaskType.choices}
    worked_label = _("What worked")
    improve_label = _("What to improve")
    # ": " after a label, "：" in Chinese.
    colon = escape(label_suffix())
    out = []
    for r in rows:
        kind = r["task__task_type"]
        meta = [escape(r["task__department__name"]), escape(types.get(kind, kind))]
        if r["task__customer__name"] is not None:
            meta.append(escape(r["task__customer__name"]))
        if r["task__project__name"] is not None:
            meta.append(escape(r["task__project__name"]))
        meta.append(escape(lesson_byline(r)))
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
                f"<p><strong>{worked_label}{colon}</strong>{escape(truncatechars(worked, 300))}</p>"
                if worked
                else ""
            )
            + "\n    "
            + (
                f"<p><strong>{improve_label}{colon}</strong>{escape(truncatechars(improve, 300))}</p>"
                if improve
                else ""
            )
            + "\n    "
            + (f"<p>{_tag_links([str(t) for t in tags])}</p>" if tags else "")
            + "\n  </article>\n"
        )
    return "".join(out)


def knowledge_results(
    *, page, filters, tags: list[str], query_string: str, loose: bool = False
) -> SafeString:
    """Everything of 知识库 below the search form: the tags in use (the chosen one marked, and
    `aria-current`), how many lessons match — and, when the search fell back to the loose
    match (`selectors.knowledge_search`), that these hold the words apart — the cards of
    `page` (a Page of `selectors.lessons` dicts from a CappedIdPaginator) and the previous /
    next links, which keep `query_string` (the request's, already encoded)."""
    out = []
    if tags:
        links = "".join(
            f'<a class="tag tag--on" aria-current="true" href="?tag={_urlencode(t)}">#{escape(t)}</a> '
            if filters.tag == t
            else f'<a class="tag" href="?tag={_urlencode(t)}">#{escape(t)}</a> '
            for t in tags
        )
        if filters.tag:
            links += f'<a href="?q={_urlencode(filters.q)}" class="small">{_("All tags")}</a>'
        out.append(f'<p class="small tag-bar">{links}</p>')
    n = page.paginator.count
    if loose and n:
        out.append(
            '\n<p class="alert alert--info small" role="status">'
            + escape(
                _("No lesson has “%(q)s” as written; these hold each of its words.")
                % {"q": filters.q.strip()}
            )
            + "</p>"
        )
    if page.paginator.capped:
        said = _("More than %(n)s lessons; the newest are shown — narrow the search to find the rest.") % {
            "n": n
        }
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


def _deliverable_items(items: list[dict]) -> str:
    download = reverse("review:download", args=[0]).replace("/0/", "/{}/")
    out = []
    for d in items:
        if d["kind"] == "file":
            out.append(
                f'<li><a href="{download.format(d["id"])}">{escape(d["name"])}</a> '
                f'<span class="muted">({escape(filesizeformat(d["size"]))})</span></li>'
            )
        else:
            out.append(
                f'<li><a href="{escape(d["url"])}" rel="noopener noreferrer" target="_blank">'
                f"{escape(truncatechars(d['url'], 60))}</a></li>"
            )
    return "".join(out)


def deliverables(items: list[dict]) -> SafeString:
    """A submission's files (download links, with their size) and links (opened apart, no
    referrer), or "No deliverable handed in."; `items` as `selectors.review_rounds` gives them."""
    if not items:
        return mark_safe(f'<p class="small muted">{_("No deliverable handed in.")}</p>')  # noqa: S308
    return mark_safe(f'<ul class="small">{_deliverable_items(items)}</ul>\n  ')  # noqa: S308 - names and links escaped


def _when(value) -> str:
    """`{{ value|date:"Y-m-d H:i" }}` of an aware datetime."""
    return f"{timezone.localtime(value):%Y-%m-%d %H:%M}" if value is not None else ""


def acceptance_rounds(rounds: list[dict]) -> SafeString:
    """The task page's attempts, newest first and the newest open (`selectors.review_rounds`
    dicts, reversed): when and the verdict, the key results, the deliverables and, once
    reviewed, every criterion's result with its measure, value and comment; or "Not submitted
    for acceptance yet."."""
    if not rounds:
        return mark_safe(f'<p class="muted small">{_("Not submitted for acceptance yet.")}</p>')  # noqa: S308
    verdicts = {value: str(label) for value, label in Verdict.choices}
    colon = escape(label_suffix())  # between a criterion's measure and the value measured
    out = []
    for i, s in enumerate(rounds):
        files = f'<ul class="small">{_deliverable_items(s["deliverables"])}</ul>' if s["deliverables"] else ""
        results = ""
        if s["verdict"] != Verdict.PENDING:
            items = []
            for c in s["checks"]:
                measure = ""
                if c["metric"]:
                    shown = escape(measure_display(c["metric"], c["comparator"], c["threshold"], c["unit"]))
                    measure = f' <span class="muted">{shown}{colon}{escape(measured_display(c["measured"], c["unit"]))}</span>'
                comment = f" — {escape(c['comment'])}" if c["comment"] else ""
                items.append(f"<li>{'✓' if c['passed'] else '✗'} {escape(c['text'])}{measure}{comment}</li>")
            note = f'<p class="small">{escape(s["review_comment"])}</p>' if s["review_comment"] else ""
            results = f'<ul class="small checks">{"".join(items)}</ul>\n      {note}'
        out.append(
            f'\n    <details class="round"{" open" if i == 0 else ""}>\n'
            f"      <summary><strong>{_('Attempt %(n)s') % {'n': s['attempt']}}</strong> · {_when(s['submitted_at'])} · "
            f'<span class="verdict verdict--{escape(s["verdict"])}">{escape(verdicts.get(s["verdict"], s["verdict"]))}</span></summary>\n'
            f'      <div class="small prose" style="margin:6px 0">{linebreaksbr(s["key_results"])}</div>\n'
            f"      {files}\n"
            f"      {results}\n"
            "    </details>\n    "
        )
    return mark_safe("".join(out))  # noqa: S308 - every text a person wrote is escaped


def judge_verdict(state: str) -> str:
    """What `review/_judge.html` writes for a judged measured value (`views.judged`: "pass",
    "fail", "bad" or ""), so a form that comes back shows the verdict it had as typed."""
    if state == "pass":
        return f'<span class="verdict verdict--accepted">✓ {_("Meets the threshold: pass")}</span>'
    if state == "fail":
        return f'<span class="verdict verdict--rework">✗ {_("Below the threshold: fail")}</span>'
    if state == "bad":
        return f'<span class="field-error">{_("Not a number")}</span>'
    return ""


def review_rows(rows: list[dict]) -> SafeString:
    """The review form's criteria, each a fieldset with the measured value (judged by the
    comparator as it is typed, over htmx) or pass / fail, the comment and the field's errors;
    or, with no criteria, the bare verdict. `rows` are `views._review_context`'s: a check (a
    `selectors.review_rounds` dict) with what was posted, what the comparator said of it
    (`judged`) and the errors."""
    if not rows:
        return mark_safe(  # noqa: S308 - constant markup and translations
            '\n  <fieldset class="card card__body"><legend class="small">'
            f"{_('No criteria were written down: accept or send back.')}</legend>\n"
            f'    <label class="check"><input type="radio" name="verdict" value="accepted"> {_("Accept")}</label>\n'
            f'    <label class="check"><input type="radio" name="verdict" value="rework"> {_("Send back for rework")}</label>\n'
            "  </fieldset>\n  "
        )
    judge = reverse("review:judge", args=[0]).replace("/0/", "/{}/")
    pass_label, fail_label = _("Pass"), _("Fail")
    comment_label = _("Comment (required when it fails)")
    out = []
    for row in rows:
        c = row["check"]
        pk = c["id"]
        if c["metric"]:
            shown = escape(measure_display(c["metric"], c["comparator"], c["threshold"], c["unit"]))
            label = _("Measured value (%(m)s)") % {"m": shown}
            answer = (
                f'\n      <div class="field{" field--error" if row["errors"] else ""}">\n'
                f'        <label for="measured-{pk}">{label}</label>\n'
                f'        <input id="measured-{pk}" name="measured-{pk}" inputmode="decimal" maxlength="30" '
                f'value="{escape(row["measured"])}"\n'
                f'               hx-get="{judge.format(pk)}" hx-trigger="input changed delay:300ms" '
                f'hx-target="#judge-{pk}">\n'
                f'        <span id="judge-{pk}" aria-live="polite">{judge_verdict(row.get("judged", ""))}</span>\n'
                "      </div>\n    "
            )
        else:
            passed = row["passed"]
            answer = (
                '\n      <div class="btn-row" role="radiogroup">\n'
                f'        <label class="check"><input type="radio" name="passed-{pk}" value="1"'
                f"{' checked' if passed == '1' else ''}> {pass_label}</label>\n"
                f'        <label class="check"><input type="radio" name="passed-{pk}" value="0"'
                f"{' checked' if passed == '0' else ''}> {fail_label}</label>\n"
                "      </div>\n    "
            )
        errors = "".join(f'<p class="field-error">{escape(m)}</p>' for m in row["errors"])
        out.append(
            f'\n  <fieldset class="card card__body criterion-check" id="check-{c["position"]}">\n'
            f'    <legend class="small"><strong>{c["position"]}.</strong> {escape(c["text"])}</legend>\n'
            f"    {answer}\n"
            '    <div class="field">\n'
            f'      <label for="comment-{pk}">{comment_label}</label>\n'
            f'      <textarea id="comment-{pk}" name="comment-{pk}" rows="2" maxlength="5000">'
            f"{escape(row['comment'])}</textarea>\n"
            "    </div>\n"
            f"    {errors}\n"
            "  </fieldset>\n  \n  "
        )
    return mark_safe("".join(out))  # noqa: S308 - every text a person wrote or posted is escaped


def earlier_rounds(rounds: list[dict]) -> SafeString:
    """The review page's earlier attempts (`selectors.review_rounds` dicts): each attempt's
    verdict and every criterion's result, measured value and comment; "" when none."""
    if not rounds:
        return mark_safe("")
    verdicts = {value: str(label) for value, label in Verdict.choices}
    out = [
        '<section class="card" style="margin-top:16px"><div class="card__head"><h2>'
        f'{_("Earlier attempts")}</h2></div><div class="card__body">\n  '
    ]
    for s in rounds:
        items = []
        for c in s["checks"]:
            measured = f" ({escape(measured_display(c['measured'], c['unit']))})" if c["metric"] else ""
            comment = f" — {escape(c['comment'])}" if c["comment"] else ""
            items.append(f"<li>{'✓' if c['passed'] else '✗'} {escape(c['text'])}{measured}{comment}</li>")
        out.append(
            '<details class="round"><summary>'
            f"{_('Attempt %(n)s') % {'n': s['attempt']}} · {escape(verdicts.get(s['verdict'], s['verdict']))}</summary>\n"
            f'    <ul class="small">{"".join(items)}</ul></details>'
        )
    out.append("\n</div></section>")
    return mark_safe("".join(out))  # noqa: S308 - criteria and comments escaped
