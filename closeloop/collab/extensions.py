"""What collaboration adds to pages the tasks app owns, through `closeloop.tasks.extensions`:
the 协作 panel on the task page (next sync, the issue log with its ladder, a quick-add form,
minutes); on 我的工作, the open issues the person resolves or that escalated to them; and,
for a department's head on 工作量, each member's load in other departments."""

from django.template.loader import render_to_string
from django.templatetags.static import static
from django.urls import reverse
from django.utils import timezone
from django.utils.safestring import SafeString, mark_safe
from django.utils.text import Truncator
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from closeloop.collab import ladder, selectors
from closeloop.collab.models import CommunicationPlan, Issue, Minutes
from closeloop.core.choices import choice_display
from closeloop.core.escape import esc
from closeloop.orgs.selectors import leads
from closeloop.tasks import extensions

_ISSUE_ROW = (
    '\n        <li class="issue-row issue-row--{}">\n'
    '          <a href="{}" class="issue-row__problem">{}</a>\n'
    '          <div class="small muted">\n'
    '            <span class="issue-status issue-status--{}">{}</span>\n'
    "            · {} {}\n"
    "            {}\n"
    "            {}\n"
    "          </div>\n"
    "        </li>"
)


_PK_MARK = 987654321012  # an issue id in the URL pattern, replaced by each row's


def issue_rows_html(issues) -> SafeString:
    """The 协作 panel's issue log rows (Issue rows with `resolver` loaded) as HTML: the same
    as the template loop it replaced (`tests/test_panel_html.py` compares them), each value
    escaped as format_html does (`core.escape.esc`: format_html was ~8 calls a value, Django's
    get_status_display ~300 a row), the URL reversed once, times in the current time zone;
    an open issue past its deadline is flagged overdue."""
    resolver_label, deadline_label = esc(_("Resolver")), esc(_("Deadline"))
    url_head, url_tail = esc(reverse("collab:issue", args=[_PK_MARK])).split(str(_PK_MARK))
    now = timezone.now()
    overdue = f' <span class="flag-overdue">{esc(_("Overdue"))}</span>'
    statuses: dict[str, str] = {}  # status → its label, escaped
    out = []
    for i in issues:
        if i.status not in statuses:
            statuses[i.status] = esc(choice_display(i, "status"))
        deadline = ""
        if i.is_open:
            when = timezone.localtime(i.deadline).strftime("%m-%d %H:%M") if i.deadline else ""
            deadline = f"· {deadline_label} {when}"
            if i.deadline and i.deadline < now:
                deadline += overdue
        flag = ""
        if i.level:
            flag = f'<span class="flag flag--late">{esc(ladder.escalated_label(i.level))}</span>'
        out.append(
            _ISSUE_ROW.format(
                esc(i.status),
                f"{url_head}{int(i.pk)}{url_tail}",
                esc(Truncator(i.problem).chars(80)),
                esc(i.status),
                statuses[i.status],
                resolver_label,
                esc(i.resolver.display_name),
                deadline,
                flag,
            )
        )
    return mark_safe("".join(out))  # noqa: S308 - every value above went through esc


def panel_context(request, task, *, form=None) -> dict:
    issues = selectors.issue_rows(task) if extensions.task_has(task, "issues") else []
    plan = selectors.task_plan(task) if extensions.task_has(task, "communication_plan") else None
    return {
        "task": task,
        "issues": issues,
        "issue_rows": issue_rows_html(issues),
        "open_count": sum(1 for i in issues if i.is_open),
        "plan": plan,
        "next_sync": selectors.next_sync_for(plan, task, timezone.now()),
        "minutes": selectors.task_minutes(task) if extensions.task_has(task, "minutes") else [],
        # The quick-add form only when shown again with errors; else it loads when opened
        # (`views.issue_add`'s GET from htmx), as its people and departments cost a query.
        "form": form,
        "task_open": task.is_open,
    }


def task_panel(request, task) -> str:
    return render_to_string("collab/_panel.html", panel_context(request, task), request=request)


def home_panel(request) -> str:
    """我的工作's collaboration box (`selectors.my_issues`), or "" when there is nothing in it:
    the open issues I resolve and those I raised; escalations to me are decisions
    (`escalation_decisions`), the box only says how many and links the list."""
    mine = selectors.my_issues_for_request(request.user)
    if not (mine.total or mine.escalated_count):
        return ""
    return my_issues_html(mine)


def my_issues_html(mine: selectors.MyIssues, *, now=None) -> SafeString:
    """The box's HTML, built in Python: the template it replaced (kept in
    `tests/test_my_issues_html.py`, which compares them byte for byte) cost ~11,000 Python
    calls for 20 rows on every 我的工作 of a department head. Every value is escaped (`esc`),
    times are shown in the current time zone; an issue past its deadline is flagged."""
    now = now or timezone.now()
    url = reverse("collab:issue", args=[_MARK]).split(str(_MARK))
    you, raised, resolver, deadline = (
        esc(_("You resolve")),
        esc(_("You raised")),
        esc(_("Resolver")),
        esc(_("Deadline")),
    )
    overdue = f' <span class="flag-overdue">{esc(_("Overdue"))}</span>'
    out = [
        f'<link rel="stylesheet" href="{esc(static("collab/collab.css"))}">\n'
        '<section class="card" id="my-issues">\n'
        f'  <div class="card__head"><h2 class="group-title">{esc(_("Collaboration issues"))}</h2>'
        f'<span class="count">{mine.total}</span></div>\n'
        '  <div class="card__body"><ul class="issue-rows">\n    '
    ]
    for i in mine.to_resolve:
        when = timezone.localtime(i.deadline).strftime("%m-%d %H:%M")
        out.append(
            f'<li class="issue-row"><a href="{url[0]}{i.pk}{url[1]}" class="issue-row__problem">'
            f"{esc(Truncator(i.problem).chars(60))}</a>\n"
            f'      <div class="small muted">{you} · {esc(i.full_code)} · {deadline} {when}'
            f"{overdue if i.deadline < now else ''}</div></li>"
        )
    out.append("\n    ")
    for i in mine.raised:
        when = timezone.localtime(i.deadline).strftime("%m-%d %H:%M")
        flag = (
            f' <span class="flag flag--late">{esc(ladder.escalated_label(i.level))}</span>' if i.level else ""
        )
        out.append(
            f'<li class="issue-row"><a href="{url[0]}{i.pk}{url[1]}" class="issue-row__problem">'
            f"{esc(Truncator(i.problem).chars(60))}</a>\n"
            f'      <div class="small muted">{raised} · {esc(i.full_code)} · {resolver} {esc(i.resolver_name)}'
            f" · {deadline} {when}{overdue if i.deadline < now else ''}{flag}</div></li>"
        )
    out.append("\n  </ul>")
    if mine.escalated_count:
        text = ngettext(
            "%(n)s issue escalated to you waits under Waiting for my decision.",
            "%(n)s issues escalated to you wait under Waiting for my decision.",
            mine.escalated_count,
        ) % {"n": mine.escalated_count}
        out.append(f'<p class="small muted">{esc(text)}</p>')
    out.append(
        f'</div>\n  <div class="card__foot"><a href="{esc(reverse("collab:issue_list"))}">'
        f"{esc(_('All my collaboration issues'))}</a></div>\n</section>\n"
    )
    return mark_safe("".join(out))  # noqa: S308 - every value above is escaped


def escalation_decisions(user, limit: int) -> tuple[int, list[extensions.Decision]]:
    """待我决定 on 我的工作: the open issues escalated to `user` (the ladder's receivers: a
    department's head or deputy, or the superior), oldest first — how many, and the first
    `limit`. From the statement the collaboration box reads too (`my_issues_for_request`)."""
    mine = selectors.my_issues_for_request(user)
    if not mine.escalated_count:
        return 0, []
    url = reverse("collab:issue", args=[_MARK]).split(str(_MARK))
    kind = str(_("Escalated issue"))
    line = _("%(code)s %(problem)s (escalated to level %(n)s, %(whom)s; resolver %(resolver)s)")
    rows = [
        extensions.Decision(
            kind=kind,
            text=line
            % {
                "code": i.full_code,
                "problem": Truncator(i.problem).chars(60),
                "n": i.level,
                "whom": ladder.rung_whom(i.level),
                "resolver": i.resolver_name,
            },
            url=f"{url[0]}{i.pk}{url[1]}",
        )
        for i in mine.escalated[:limit]
    ]
    return mine.escalated_count, rows


_MARK = 987_654_321  # an issue id, to cut the issue page's URL around


def workload_columns(user, *, department, people) -> list[extensions.WorkloadColumn]:
    """工作量's 外部门任务 / 外部门未解决问题 per member, for whoever leads `department` (its head
    or deputy, or a head above; the same people who see it on 仪表盘); nothing for anyone
    else. Five queries whatever the number of people (`selectors.cross_department_load`)."""
    if not leads(user, department.pk):
        return []
    tasks, issues = selectors.cross_department_load([p.pk for p in people])
    return [
        extensions.WorkloadColumn(
            label=_("Tasks elsewhere"),
            values=dict(tasks),
            hint=_("Open tasks they own or help on in departments they are not members of."),
        ),
        extensions.WorkloadColumn(
            label=_("Open issues elsewhere"),
            values=dict(issues),
            hint=_("Open issues they resolve or are party to in departments they are not members of."),
        ),
    ]


def register() -> None:
    extensions.register_task_panel(task_panel)
    extensions.register_task_presence("issues", Issue)
    extensions.register_task_presence("communication_plan", CommunicationPlan)
    extensions.register_task_presence("minutes", Minutes)
    extensions.register_home_panel(home_panel)
    extensions.register_decision_source(escalation_decisions)
    extensions.register_workload_columns(workload_columns)
