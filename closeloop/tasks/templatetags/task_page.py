"""Rows of the task page built in Python (issue 16, item 2): a template loop costs ~350
Python calls per comment, this a tenth of it. Each is compared with the template loop it
replaced, byte for byte, in `tasks/tests/test_task_page_html.py`."""

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.translation import gettext

from closeloop.core.escape import esc
from closeloop.core.templatetags.closeloop_ui import _built, _csrf_input, initials
from closeloop.tasks.templatetags.plan_tags import countdown

register = template.Library()


@register.simple_tag
def comment_rows(comments) -> SafeString:
    """The `<li>` of each comment (Comment rows with `author` loaded): the author's initials
    and name and the time (current time zone) escaped; the body is `Comment.html`, which
    the services made from the author's text through nh3's fixed allow-list (shown as
    stored, as the template did)."""
    out = []
    for c in comments:
        when = timezone.localtime(c.created_at).strftime("%Y-%m-%d %H:%M")
        out.append(
            f'\n      <li id="comment-{esc(c.pk)}"><div class="comments__head"><span class="person">'
            f'<span class="avatar avatar--sm">{esc(initials(c.author))}</span>'
            f"<strong>{esc(c.author.display_name)}</strong></span>\n"
            f'        <span class="small muted">{when}</span></div>\n'
            f'        <div class="prose comment-body">{c.html}</div></li>\n    '
        )
    return mark_safe("".join(out))  # noqa: S308 - values through esc; the body is nh3's output


# -- the Details and People cards (issue 16, item 2) -----------------------------------------
# As template text they were ~35 `{% translate %}`, `{% url %}` and filter nodes (~80-130
# Python calls each). Here the labels are translated and escaped once per language and the URL
# reversed once with placeholder ids (`_built`: the cache of the layout, keyed by language,
# script prefix and URL conf); a page fills in its task's values.

# Placeholder ids reversed in place of a task's or a person's id, then replaced.
_IDS = (987654321098, 987654321099)

DETAILS_LABELS = (
    "Details",
    "Task ID",
    "Department",
    "Type",
    "Priority",
    "Progress",
    "Start date",
    "Work started",
    "Due date",
    "Original due date",
    "Project",
    "Customer",
    "Source",
    "Respond by",
    "Recurring, for",
    "Created",
    "People",
    "Owner",
    "Initiator",
    "Reviewer",
    "The department head",
    "Collaborators",
    "Overdue",
)


def _labels() -> dict[str, str]:
    """The cards' labels in the active language, as `{% translate "literal" %}` writes them
    (a template's literal is safe: not escaped)."""
    return _built(("task-page-labels",), lambda: {m: gettext(m) for m in DETAILS_LABELS})


def url_pieces(name: str, nargs: int) -> tuple[str, ...]:
    """`reverse(name, args=…)` with `nargs` integer ids as the pieces around them (escaped as
    `{% url %}` writes a URL), reversed once per language, script prefix and URL conf: join
    them with the ids (`str` of each) in between. Raises NoReverseMatch for an unknown name."""

    def build():
        url = esc(reverse(name, args=_IDS[:nargs]))
        pieces = [url]
        for i in _IDS[:nargs]:
            pieces[-1:] = pieces[-1].split(str(i))
        return tuple(pieces)

    return _built(("url-pieces", name, nargs), build)


def _day(value) -> str:
    """`value|date:"Y-m-d"` of a date (or "" for None)."""
    return value.isoformat() if value is not None else ""


def _minute(value) -> str:
    """`value|date:"Y-m-d H:i"` of an aware datetime, in the current time zone."""
    return timezone.localtime(value).strftime("%Y-%m-%d %H:%M") if value is not None else ""


def _progress(value) -> str:
    """`{% progress_bar value %}` (closeloop_ui), the same HTML."""
    try:
        pct = max(0, min(100, int(value or 0)))
    except (TypeError, ValueError):
        pct = 0
    return (
        f'<span class="progress{" progress--done" if pct == 100 else ""}" role="progressbar" '
        f'aria-valuemin="0" aria-valuemax="100" aria-valuenow="{pct}">'
        f'<span class="progress__bar"><span class="progress__fill" style="width:{pct}%"></span></span>'
        f'<span class="progress__num">{pct}%</span></span>'
    )


@register.simple_tag(takes_context=True)
def details_card(context) -> SafeString:
    """The task page's Details card (`<section>` … `</section>`) from the page's context
    (`task` as `selectors.task_detail` reads it, `labels` of its choices, `overdue`): the
    HTML the template gave (`test_task_page_html` compares them), every value escaped, times
    in the current time zone."""
    task = context["task"]
    labels = context["labels"]
    overdue = context["overdue"]
    t = _labels()
    flag = f'<span class="flag-overdue">{t["Overdue"]}</span>'
    dept = task.department
    rows = [
        f'<dt>{t["Task ID"]}</dt><dd class="code">{esc(dept.code)}-{esc(task.code)}</dd>',
        f"<dt>{t['Department']}</dt><dd>{esc(dept.name)}</dd>",
        f"<dt>{t['Type']}</dt><dd>{esc(labels['task_type'])}</dd>",
        f'<dt>{t["Priority"]}</dt><dd><span class="badge prio prio--{esc(task.priority)}">'
        f"{esc(labels['priority'])}</span></dd>",
        f"<dt>{t['Progress']}</dt><dd>{_progress(task.progress)}</dd>",
        f"<dt>{t['Start date']}</dt><dd>{_day(task.start_date) or '—'}</dd>",
        # When work actually began (`Task.started_at`, the first 开始); the start date above is
        # the planned one, written at intake and never overwritten by starting.
        f"<dt>{t['Work started']}</dt><dd>{_minute(task.started_at) or '—'}</dd>",
        f'<dt>{t["Due date"]}</dt><dd class="{"due--overdue" if overdue else ""}">'
        f"{_day(task.due_date)}{' ' + flag if overdue else ''}</dd>",
    ]
    # A line of the template whose condition fails still wrote its line break and indent.
    rows.append(
        f"<dt>{t['Original due date']}</dt><dd>{_day(task.original_due_date)}</dd>"
        if task.original_due_date != task.due_date
        else ""
    )
    project = task.project.name if task.project is not None else ""
    customer = task.customer.name if task.customer is not None else ""
    source = esc(labels["source"])
    if task.adhoc_category:
        source += f" · {esc(labels['adhoc_category'])}"
    rows += [
        f"<dt>{t['Project']}</dt><dd>{esc(project) if project else '—'}</dd>",
        f"<dt>{t['Customer']}</dt><dd>{esc(customer) if customer else '—'}</dd>",
        f"<dt>{t['Source']}</dt><dd>{source}</dd>",
    ]
    if task.respond_by:
        left = f"<br>{countdown(task.respond_by)}" if task.is_open else ""
        rows.append(f"<dt>{t['Respond by']}</dt><dd>{_minute(task.respond_by)}{left}</dd>")
    else:
        rows.append("")
    rows.append(f"<dt>{t['Recurring, for']}</dt><dd>{_day(task.occurrence)}</dd>" if task.occurrence else "")
    rows.append(f"<dt>{t['Created']}</dt><dd>{_minute(task.created_at)}</dd>")
    body = "\n          ".join(rows)
    return mark_safe(  # noqa: S308 - labels and values through esc; the badges are built above
        f'<section class="card">\n      <div class="card__head"><h2>{t["Details"]}</h2></div>\n'
        f'      <div class="card__body">\n        <dl class="dl">\n          {body}\n'
        f"        </dl>\n      </div>\n    </section>"
    )


@register.simple_tag(takes_context=True)
def people_list(context) -> SafeString:
    """The People card's head and list (owner, initiator, reviewer, collaborators with their
    remove buttons for one who may edit) from the page's context (`task`, `may_edit`,
    `csrf_token`): the HTML the template gave (`test_task_page_html` compares them), every
    name escaped."""
    task = context["task"]
    t = _labels()
    owner = task.owner
    initiator = task.initiator
    reviewer = (
        esc(task.reviewer.display_name)
        if task.reviewer
        else f'<span class="muted">{t["The department head"]}</span>'
    )
    chips = []
    if task.collaborator_list:
        remove = None
        if context.get("may_edit"):
            remove = url_pieces("tasks:collaborator_remove", 2)
            csrf = _csrf_input(context)
            title = gettext("Remove %(name)s")
        for p in task.collaborator_list:
            name = esc(p.display_name)
            form = ""
            if remove is not None:
                said = title % {"name": name}
                form = (
                    f'<form method="post" action="{remove[0]}{task.pk}{remove[1]}{p.pk}{remove[2]}">'
                    f'{csrf}<button type="submit" title="{said}" aria-label="{said}">×</button></form>'
                )
            chips.append(f'\n            <span class="chip">{name}{form}</span>\n            ')
    else:
        chips.append('<span class="muted">—</span>')
    return mark_safe(  # noqa: S308 - labels and names through esc; the CSRF input is format_html's
        f'<div class="card__head"><h2>{t["People"]}</h2></div>\n'
        f'      <div class="card__body">\n        <dl class="dl">\n'
        f'          <dt>{t["Owner"]}</dt><dd><span class="person"><span class="avatar">'
        f"{esc(initials(owner))}</span>{esc(owner.display_name)}</span></dd>\n"
        f"          <dt>{t['Initiator']}</dt><dd>{esc(initiator.display_name) if initiator else ''}</dd>\n"
        f"          <dt>{t['Reviewer']}</dt><dd>{reviewer}</dd>\n"
        f"          <dt>{t['Collaborators']}</dt>\n"
        f'          <dd><div class="people">{"".join(chips)}</div></dd>\n'
        f"        </dl>\n      </div>"
    )
