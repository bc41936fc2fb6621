"""Small template helpers of the planning pages."""

from django import template
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from closeloop.core.templatetags.closeloop_ui import (
    icon,
    overdue_flag,
    priority_badge,
    progress_bar,
    status_badge,
)
from closeloop.core.text import fit_text
from closeloop.tasks import extensions

register = template.Library()


def task_url_pattern() -> str:
    """The task page's URL with `{}` for the id: long lists and the timeline link hundreds of
    tasks, and a reverse() per row would cost more than the row."""
    return reverse("tasks:detail", args=[0]).replace("/0/", "/{}/")


def _made_once():
    """`once(key, build)`: the HTML `build()` returns, made once per key for the rows of one
    call (a priority, status or progress badge repeats on many rows)."""
    made: dict[tuple, str] = {}

    def once(key, build):
        html = made.get(key)
        if html is None:
            html = made[key] = build()
        return html

    return once


@register.simple_tag
def row_flags(task, today):
    """Flags other apps add to a task row (e.g. tracking's 有风险), see tasks.extensions."""
    return extensions.row_flags(task, today)


@register.simple_tag
def task_table_rows(tasks, today):
    """The <tr>s of the task list (日常任务清单表's columns), built in Python: thirty rows of
    nine cells through the template language cost more than the list's queries. Plain
    f-strings over escaped values, each badge and label made once per call: a `format_html`
    per cell was ~1,200 function calls a row. Every text is escaped."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    detail = task_url_pattern()
    labels = [
        escape(label)
        for label in (
            _("Task ID"),
            _("Task name"),
            _("Type"),
            _("Priority"),
            _("Owner"),
            _("Due date"),
            _("Progress"),
            _("Status"),
            _("Notes (project / customer)"),
        )
    ]
    overdue_html = f" {overdue_flag()}"
    once = _made_once()

    out = []
    for t in tasks:
        late = t.due_date < today and t.is_open
        notes = ""
        if t.project or t.customer or t.notes:
            project = f'<span class="tag">{escape(t.project.name)}</span> ' if t.project else ""
            customer = f'<span class="tag">{escape(t.customer.name)}</span> ' if t.customer else ""
            notes = f'<div>{project}{customer}<span class="small">{escape(Truncator(t.notes).chars(60))}</span></div>'
        task_type = once(("type", t.task_type), lambda t=t: escape(t.get_task_type_display()))
        priority = once(
            ("priority", t.priority), lambda t=t: priority_badge(t.priority, t.get_priority_display())
        )
        status = once(("status", t.status), lambda t=t: status_badge(t.status, t.get_status_display()))
        progress = once(("progress", t.progress), lambda t=t: progress_bar(t.progress))
        out.append(
            f'<tr><td class="col-code" data-label="{labels[0]}"><span class="code">'
            f"{escape(t.department.code)}-{escape(t.code)}</span></td>"
            f'<td class="col-title" data-label="{labels[1]}"><a href="{detail.format(t.pk)}">{escape(t.title)}</a>'
            f"{overdue_html if late else ''}{row_flags(t, today)}</td>"
            f'<td data-label="{labels[2]}" class="nowrap">{task_type}</td>'
            f'<td data-label="{labels[3]}">{priority}</td>'
            f'<td data-label="{labels[4]}" class="nowrap">{escape(t.owner.display_name)}</td>'
            f'<td data-label="{labels[5]}" class="nowrap{" due--overdue" if late else ""}">{t.due_date:%Y-%m-%d}</td>'
            f'<td data-label="{labels[6]}">{progress}</td>'
            f'<td data-label="{labels[7]}">{status}</td>'
            f'<td class="col-notes" data-label="{labels[8]}">{notes}</td></tr>'
        )
    return mark_safe("\n".join(out))  # noqa: S308 - every interpolated text is escaped above


@register.simple_tag(takes_context=True)
def task_rows(context, tasks, today):
    """The <li>s of 我的工作's groups, built in Python as the task list's rows are (one template
    include per row was half of the page): title, code, priority, status, flags, respond-by
    countdown, the owner when it is someone else, progress and due date. Plain f-strings over
    escaped values (`core.escape.escape`, Django's escape without its lazy-text wrapper), each
    badge made once per call with its label read as `choice_display` does (Django's
    `get_FOO_display` hashes every choice's lazy label, a translation each). Every text is
    escaped."""
    from django.utils.safestring import mark_safe

    from closeloop.core.choices import choice_display
    from closeloop.core.escape import escape

    detail = task_url_pattern()
    user = context.get("user")
    me = getattr(user, "pk", None)
    due_label = escape(_("Due date"))
    calendar = icon("calendar")
    owner_of = _("Owner: %(name)s")
    once = _made_once()

    out = []
    for t in tasks:
        owner = ""
        if t.owner_id != me:
            owner = f"<span>{escape(owner_of % {'name': t.owner.display_name})}</span>"
        priority = once(
            ("priority", t.priority), lambda t=t: priority_badge(t.priority, choice_display(t, "priority"))
        )
        status = once(("status", t.status), lambda t=t: status_badge(t.status, choice_display(t, "status")))
        progress = once(("progress", t.progress), lambda t=t: progress_bar(t.progress))
        late = " due--overdue" if t.due_date is not None and t.due_date < today else ""
        due = f"{t.due_date:%Y-%m-%d}" if t.due_date is not None else ""
        out.append(
            '<li class="task-row">\n'
            '  <div class="task-row__main">\n'
            f'    <a class="task-row__title" href="{detail.format(t.pk)}">{escape(t.title)}</a>\n'
            '    <div class="task-row__meta">\n'
            f'      <span class="code">{escape(t.department.code)}-{escape(t.code)}</span>\n'
            f"      {priority}\n"
            f"      {status}{row_flags(t, today)}\n"
            f"      {countdown(t.respond_by) if t.respond_by and t.is_open else ''}\n"
            f"      {owner}\n"
            "    </div>\n"
            "  </div>\n"
            '  <div class="task-row__side">\n'
            f"    {progress}\n"
            f'    <span class="small nowrap{late}" title="{due_label}">{calendar} {due}</span>\n'
            "  </div>\n"
            "</li>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped above


@register.simple_tag
def countdown(deadline) -> str:
    """A respond-by countdown ("Respond within 5 h 20 min"); tasks/plan.js keeps it ticking."""
    if not deadline:
        return ""
    seconds = int((deadline - timezone.now()).total_seconds())
    late = seconds < 0
    s = abs(seconds)
    days, rest = divmod(s, 86400)
    hours, rest = divmod(rest, 3600)
    minutes = rest // 60
    if days:
        left = _("%(d)s d %(h)s h") % {"d": days, "h": hours}
    elif hours:
        left = _("%(h)s h %(m)s min") % {"h": hours, "m": minutes}
    else:
        left = _("%(m)s min") % {"m": minutes}
    text = (_("Response overdue by %(left)s") if late else _("Respond within %(left)s")) % {"left": left}
    return format_html(
        '<span class="countdown{}" data-deadline="{}" data-late="{}" data-left="{}" data-dh="{}" data-hm="{}"'
        ' data-m="{}" title="{}">{}</span>',
        " countdown--late" if late else (" countdown--soon" if seconds < 4 * 3600 else ""),
        deadline.isoformat(),
        _("Response overdue by %(left)s"),
        _("Respond within %(left)s"),
        # The units in the person's language, for plan.js to keep the countdown ticking.
        _("%(d)s d %(h)s h"),
        _("%(h)s h %(m)s min"),
        _("%(m)s min"),
        timezone.localtime(deadline).strftime("%Y-%m-%d %H:%M"),
        text,
    )


# The timeline's names: 12 px (plan.css .tl-label), kept 6 px clear of the column's edge; the
# column is `Timeline.label_w` wide, 112 px on a phone (plan.css .timeline-names).
LABEL_FONT = 12
LABEL_PAD = 6
PHONE_NAMES_W = 112


@register.simple_tag
def timeline_svg(tl, label: str = "") -> str:
    """The timeline as SVG markup. Built here rather than in a template loop: a task with 200
    subtasks and a few months of days renders in a few milliseconds."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    detail = task_url_pattern()
    w, h = tl.width, tl.height
    lw = tl.label_w
    # Two pictures side by side: the names stay put in their own column (narrower on a phone,
    # see plan.css), the bars scroll under the dates; plan.js scrolls them to today on load.
    today_attr = f' data-today-x="{tl.today_x - lw}"' if tl.today_x is not None else ""
    out = [
        '<div class="timeline-frame">'
        f'<div class="timeline-names"><svg class="timeline timeline--names" xmlns="http://www.w3.org/2000/svg" '
        f'width="{lw}" height="{h}" viewBox="0 0 {lw} {h}" aria-hidden="true">'
        f'<rect class="tl-labels-bg" x="0" y="0" width="{lw}" height="{h}"/>'
    ]
    for r in tl.rows:
        # SVG text has no text-overflow: a name too long for its column is cut here with "…"
        # (CJK characters counted double), once for the desktop column and once for a phone's
        # narrower one, plan.css showing the one that fits; the full name is the <title>.
        full = escape(r["label"])
        cls = "tl-label is-overdue" if r["overdue"] else "tl-label"
        at = f'x="{r["indent"]}" y="{r["text_y"]}"'
        wide = fit_text(r["label"], lw - r["indent"] - LABEL_PAD, LABEL_FONT)
        narrow = fit_text(r["label"], PHONE_NAMES_W - r["indent"] - LABEL_PAD, LABEL_FONT)
        if wide == narrow:
            texts = f'<text class="{cls}" {at}><title>{full}</title>{escape(wide)}</text>'
        else:
            texts = (
                f'<text class="{cls} tl-label--wide" {at}><title>{full}</title>{escape(wide)}</text>'
                f'<text class="{cls} tl-label--narrow" {at}><title>{full}</title>{escape(narrow)}</text>'
            )
        out.append(f'<a href="{detail.format(r["task"].pk)}">{texts}</a>')
    out.append(
        f'</svg></div><div class="timeline-scroll" tabindex="0"{today_attr}>'
        f'<svg class="timeline" xmlns="http://www.w3.org/2000/svg" width="{w - lw}" height="{h}" '
        f'viewBox="{lw} 0 {w - lw} {h}" role="img" aria-label="{escape(label)}">'
        '<defs><marker id="arrow" viewBox="0 0 8 8" refX="7" refY="4" markerWidth="7" markerHeight="7" '
        'orient="auto-start-reverse"><path d="M0,0 L8,4 L0,8 z" class="tl-arrowhead"/></marker></defs>'
    )
    for d in tl.days:
        out.append(f'<rect class="tl-off" x="{d["x"]}" y="0" width="{d["w"]}" height="{h}"/>')
    for t in tl.ticks:
        out.append(
            f'<line class="tl-tick" x1="{t["x"]}" x2="{t["x"]}" y1="22" y2="{h}"/>'
            f'<text class="tl-tick-label" x="{t["x"] + 3}" y="16">{escape(t["label"])}</text>'
        )
    for r in tl.rows:
        t = r["task"]
        title = escape(
            f"{r['label']} · {t.owner.display_name} · {t.start_date or ''} → {t.due_date} · {t.progress}%"
        )
        out.append(
            f'<g class="tl-row{" is-overdue" if r["overdue"] else ""} st-{t.status}">'
            f'<line class="tl-rowline" x1="0" x2="{w}" y1="{r["y"] + 30}" y2="{r["y"] + 30}"/>'
            f'<a href="{detail.format(t.pk)}"><rect class="tl-bar" x="{r["x"]}" y="{r["bar_y"]}" width="{r["w"]}" '
            f'height="16" rx="3"><title>{title}</title></rect>'
        )
        if r["progress_w"]:
            out.append(
                f'<rect class="tl-progress" x="{r["x"]}" y="{r["bar_y"] + 12}" width="{r["progress_w"]}" '
                'height="4" rx="2"/>'
            )
        out.append("</a></g>")
    for a in tl.arrows:
        out.append(
            f'<path class="tl-dep{" is-late" if a["late"] else ""}" d="{a["d"]}" marker-end="url(#arrow)"/>'
        )
    reached_label = _("Reached %(day)s")
    for m in tl.milestones:
        ms = m["m"]
        state = f" · {escape(reached_label % {'day': _month_day(ms.reached_at)})}" if m["reached"] else ""
        out.append(
            f'<polygon class="tl-milestone{" is-reached" if m["reached"] else ""}" points="{m["points"]}">'
            f"<title>{escape(ms.title)} · {ms.date}{' ⚠' if m.get('out_of_range') else ''}{state}</title></polygon>"
        )
        if m["reached"]:
            # A ✓ inside the diamond: reached reads without telling green from blue.
            cx, cy = m["center"]
            out.append(f'<path class="tl-ms-check" d="M{cx - 3.5},{cy} l2.5,2.5 l4.5,-5"/>')
    if tl.today_x is not None:
        out.append(f'<line class="tl-today" x1="{tl.today_x}" x2="{tl.today_x}" y1="20" y2="{h}"/>')
    out.append("</svg></div></div>")
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped above


def _month_day(moment) -> str:
    """`moment` (an aware datetime) as MM-DD in the current time zone: when a milestone was
    reached, beside "已达成"."""
    return timezone.localtime(moment).strftime("%m-%d") if moment else ""


@register.simple_tag
def calendar_weeks(weeks, department=None) -> str:
    """The rows of 日历's month grid (`planning.selectors.calendar.calendar_month`'s `weeks`),
    built in Python as the task list's rows are: a month of days with their milestones and
    tasks through the template language cost more than the page's queries. Every text is
    escaped. A busy day's "+n more" links to that day's page (`tasks:calendar_day`: every
    milestone and task of the day, of `department`, the Department shown, if given). A reached
    milestone has a ✓ for its diamond, is muted and says "已达成 MM-DD" to a screen reader and
    in its title."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    detail = task_url_pattern()
    overdue = format_html(' <span class="dot dot--overdue" title="{}"></span>', _("Overdue"))
    more = _("+%(n)s more")
    more_title = _("Every milestone and task of this day")
    reached_label = _("Reached %(day)s")
    check = '<span class="ms-check" aria-hidden="true">✓</span>'
    diamond = '<span class="diamond"></span>'
    day_page = reverse("tasks:calendar_day", args=["0000-00-00"]).replace("0000-00-00", "{}") + (
        f"?department={department.pk}" if department else ""
    )
    out = []
    for week in weeks:
        out.append('<div class="cal__row" role="row">\n      ')
        for day in week:
            classes = "cal__day"
            if not day["in_month"]:
                classes += " is-out"
            if not day["workday"]:
                classes += " is-off"
            if day["today"]:
                classes += " is-today"
            if day["tasks"] or day["milestones"]:
                classes += " has-items"
            # A milestone names its task: the name on one line cut with "…", the code below it
            # never broken inside a part (SALES- / T001 at the most), the whole in the title.
            milestones = "".join(
                f'<li class="cal__ms{" is-reached" if state else ""}"><a href="{detail.format(m.task_id)}#plan"'
                f' title="{dept}-{code} {name}{tail}">'
                f'<span class="cal__ms-name">{mark}{name}{hidden}</span>'
                f'<span class="code cal__ms-task"><span class="nowrap">{dept}-</span><wbr>'
                f'<span class="nowrap">{code}</span></span></a></li>'
                for m in day["milestones"]
                for name, dept, code, state in (
                    (
                        escape(m.title),
                        escape(m.task_department.code),
                        escape(m.task_code),
                        escape(reached_label % {"day": _month_day(m.reached_at)}) if m.reached_at else "",
                    ),
                )
                for mark, tail, hidden in (
                    (check, f" · {state}", f'<span class="visually-hidden"> · {state}</span>')
                    if state
                    else (diamond, "", ""),
                )
            )
            tasks = "".join(
                f'<li class="cal__task st-{escape(t.status)}{" is-overdue" if t.late else ""}">'
                f'<a href="{detail.format(t.pk)}" title="{code} {escape(t.title)}">'
                f'<span class="code">{code}</span> <span class="cal__task-name">{escape(t.title)}</span></a></li>'
                for t in day["tasks"]
                for code in (f"{escape(t.department.code)}-{escape(t.code)}",)
            )
            extra = (
                f'<li class="small cal__more"><a href="{escape(day_page.format(day["date"].isoformat()))}"'
                f' title="{escape(more_title)}">{escape(more % {"n": day["more"]})}</a></li>'
                if day["more"]
                else ""
            )
            out.append(
                f'\n      <div class="{classes}" role="gridcell">\n'
                f'        <div class="cal__date">{day["date"].day}{overdue if day["overdue"] else ""}</div>\n'
                '        <ul class="cal__items">\n'
                f"          {milestones}\n"
                f"          {tasks}\n"
                f"          {extra}\n"
                "        </ul>\n"
                "      </div>\n      "
            )
        out.append("\n    </div>")
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped above


@register.simple_tag(takes_context=True)
def workload_rows(context, people) -> str:
    """The <tr>s of 工作量's table (`planning.selectors.workload.workload`'s `people`, each with
    `extra`, the other apps' columns), built in Python: a member's row through the template
    language, a translated title per week cell, cost more than the page's queries. The
    selected person (`person` in the context) is marked. Every text is escaped."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    current = context.get("current")
    person = context.get("person")
    selected = getattr(person, "pk", None)
    overloaded = format_html('<span class="badge badge--overload">{}</span>', _("Overloaded"))
    week_title = _("%(n)s open, %(h)s high priority")
    high = escape(_("high priority"))
    if not people:
        return format_html('<tr><td colspan="12" class="muted">{}</td></tr>\n      ', _("No members."))

    def count(n) -> str:
        return str(n) if n else "·"

    out = []
    for p in people:
        classes = ("is-overloaded" if p.overloaded else "") + (
            " is-selected" if selected == p.person.pk else ""
        )
        weeks = "".join(
            f'<td class="num load{" load--over" if w["over"] else (" load--some" if w["n"] else "")}" '
            f'title="{week_title % {"n": w["n"], "h": w["high"]}}">{count(w["n"])}'
            + (f'<sup class="prio-hi" title="{high}">{w["high"]}</sup>' if w["high"] else "")
            + "</td>"
            for w in p.weeks
        )
        extra = "".join(f'<td class="num workload-extra">{count(n)}</td>' for n in p.extra)
        prio = p.by_priority
        out.append(
            f'\n        <tr class="{classes}">\n'
            f'          <th scope="row"><a href="?department={current.pk}&person={p.person.pk}#person">'
            f"{escape(p.person.display_name)}</a>\n"
            f"            {overloaded if p.overloaded else ''}</th>\n"
            f'          <td class="num">{p.total}</td>\n'
            f'          <td class="num nowrap"><span class="prio-hi">{prio.get(1, "")}</span> / {prio.get(2, "")}'
            f" / {prio.get(3, '')}</td>\n"
            f'          <td class="num{" due--overdue" if p.overdue else ""}">{count(p.overdue)}</td>\n'
            f"          {weeks}\n"
            f'          <td class="num">{count(p.later)}</td>\n'
            f"          {extra}\n"
            "        </tr>\n      "
        )
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped above


@register.simple_tag(takes_context=True)
def board_cards(context, cards) -> str:
    """The <li>s of 看板's cards (`planning.selectors.board.board_cards`, each with `moves` and
    `overdue`), built in Python: 72 cards through a template include each were most of the
    board's time. The same HTML as the card template it replaced (kept in
    planning/tests/test_grid_rows.py, which compares them); every text is escaped. Needs
    `csrf_token` in the context for the move forms."""
    from django.utils.html import escape
    from django.utils.safestring import mark_safe

    from closeloop.core.templatetags.closeloop_ui import initials

    detail = task_url_pattern()
    transition = reverse("tasks:transition", args=[0]).replace("/0/", "/{}/")
    token = context.get("csrf_token")
    csrf = format_html('<input type="hidden" name="csrfmiddlewaretoken" value="{}">', token) if token else ""
    calendar = icon("calendar")
    chevron = icon("chevron-down")
    move_to = escape(_("Move to"))
    reason_hint = escape(_("Reason (needed to block, rework or cancel)"))
    reason = escape(_("Reason"))
    move = escape(_("Move"))
    out = []
    for c in cards:
        pk = c.pk
        moves = c.moves
        late = " due--overdue" if c.overdue else ""
        menu = ""
        if moves:
            options = "".join(f'<option value="{escape(m.value)}">{escape(m.label)}</option>' for m in moves)
            menu = (
                '\n  <details class="menu board-card__move">\n'
                f'    <summary class="btn btn--sm btn--ghost">{move_to}{chevron}</summary>\n'
                f'    <form method="post" action="{transition.format(pk)}" class="menu__panel board-move">{csrf}'
                f'<input type="hidden" name="version" value="{c.version}">\n'
                f'      <label class="visually-hidden" for="to-{pk}">{move_to}</label>\n'
                f'      <select name="to" id="to-{pk}">{options}</select>\n'
                f'      <input type="text" name="note" placeholder="{reason_hint}" aria-label="{reason}">\n'
                f'      <button type="submit" class="btn btn--sm btn--primary">{move}</button>\n'
                "    </form>\n"
                "  </details>\n  "
            )
        out.append(
            f'<li class="board-card{" board-card--overdue" if c.overdue else ""}" id="card-{pk}" data-task="{pk}"'
            f' data-version="{c.version}"\n'
            f'    data-moves="{"".join(f"{escape(m.value)} " for m in moves)}"'
            f' draggable="{"true" if moves else "false"}">\n'
            f'  <div class="board-card__top"><span class="code">{escape(c.department.code)}-{escape(c.code)}</span>'
            f"{priority_badge(c.priority, c.get_priority_display())}</div>\n"
            f'  <a class="board-card__title" href="{detail.format(pk)}" draggable="false">{escape(c.title)}</a>\n'
            '  <div class="board-card__meta small">\n'
            f'    <span class="person"><span class="avatar avatar--sm">{escape(initials(c.owner))}</span>'
            f"{escape(c.owner.display_name)}</span>\n"
            f'    <span class="nowrap{late}">{calendar}{c.due_date:%m-%d}</span>\n'
            f"    {countdown(c.respond_by) if c.respond_by and c.is_open else ''}\n"
            "  </div>\n"
            f"  {progress_bar(c.progress) if c.progress else ''}\n"
            f"  {menu}\n"
            "</li>\n"
        )
    return mark_safe("".join(out))  # noqa: S308 - every interpolated text is escaped above
