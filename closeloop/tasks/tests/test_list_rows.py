"""The task list's and 我的工作's rows, built with f-strings (`plan_tags.task_table_rows`,
`task_rows`), are byte for byte what the `format_html` versions they replaced made — kept
below as the reference — and escape every user-written text: title, owner, project,
customer, notes."""

import datetime as dt

import pytest
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.text import Truncator
from django.utils.translation import gettext as _

from closeloop.core.templatetags.closeloop_ui import overdue_flag, priority_badge, progress_bar, status_badge
from closeloop.tasks import selectors
from closeloop.tasks.models import Customer, Project, Task
from closeloop.tasks.templatetags.plan_tags import (
    countdown,
    icon,
    row_flags,
    task_rows,
    task_table_rows,
    task_url_pattern,
)
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db
TODAY = timezone.localdate()
XSS = "<script>alert(1)</script>"

# -- the versions on main, as the reference -------------------------------------------------


def old_task_table_rows(tasks, today):
    """The <tr>s of the task list (日常任务清单表's columns), built in Python: thirty rows of
    nine cells through the template language cost more than the list's queries."""
    detail = task_url_pattern()
    labels = (
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
    overdue_html = overdue_flag()

    def row(t):
        late = t.due_date < today and t.is_open
        notes = ""
        if t.project or t.customer or t.notes:
            notes = format_html(
                '<div>{}{}<span class="small">{}</span></div>',
                format_html('<span class="tag">{}</span> ', t.project.name) if t.project else "",
                format_html('<span class="tag">{}</span> ', t.customer.name) if t.customer else "",
                Truncator(t.notes).chars(60),
            )
        return (
            labels[0], t.department.code, t.code,
            labels[1], detail.format(t.pk), t.title, format_html(" {}", overdue_html) if late else "", row_flags(t, today),
            labels[2], t.get_task_type_display(),
            labels[3], priority_badge(t.priority, t.get_priority_display()),
            labels[4], t.owner.display_name,
            labels[5], " due--overdue" if late else "", f"{t.due_date:%Y-%m-%d}",
            labels[6], progress_bar(t.progress),
            labels[7], status_badge(t.status, t.get_status_display()),
            labels[8], notes,
        )  # fmt: skip

    return format_html_join(
        "\n",
        '<tr><td class="col-code" data-label="{}"><span class="code">{}-{}</span></td>'
        '<td class="col-title" data-label="{}"><a href="{}">{}</a>{}{}</td>'
        '<td data-label="{}" class="nowrap">{}</td>'
        '<td data-label="{}">{}</td>'
        '<td data-label="{}" class="nowrap">{}</td>'
        '<td data-label="{}" class="nowrap{}">{}</td>'
        '<td data-label="{}">{}</td>'
        '<td data-label="{}">{}</td>'
        '<td class="col-notes" data-label="{}">{}</td></tr>',
        (row(t) for t in tasks),
    )


def old_task_rows(context, tasks, today):
    """The <li>s of 我的工作's groups, built in Python as the task list's rows are (one template
    include per row was half of the page): title, code, priority, status, flags, respond-by
    countdown, the owner when it is someone else, progress and due date."""
    detail = task_url_pattern()
    user = context.get("user")
    me = getattr(user, "pk", None)
    due_label = _("Due date")
    calendar = icon("calendar")

    def row(t):
        owner = ""
        if t.owner_id != me:
            owner = format_html("<span>{}</span>", _("Owner: %(name)s") % {"name": t.owner.display_name})
        return (
            detail.format(t.pk), t.title,
            t.department.code, t.code,
            priority_badge(t.priority, t.get_priority_display()),
            status_badge(t.status, t.get_status_display()), row_flags(t, today),
            countdown(t.respond_by) if t.respond_by and t.is_open else "",
            owner,
            progress_bar(t.progress),
            " due--overdue" if t.due_date is not None and t.due_date < today else "",
            due_label, calendar, f"{t.due_date:%Y-%m-%d}" if t.due_date is not None else "",
        )  # fmt: skip

    return format_html_join(
        "",
        '<li class="task-row">\n'
        '  <div class="task-row__main">\n'
        '    <a class="task-row__title" href="{}">{}</a>\n'
        '    <div class="task-row__meta">\n'
        '      <span class="code">{}-{}</span>\n'
        "      {}\n"
        "      {}{}\n"
        "      {}\n"
        "      {}\n"
        "    </div>\n"
        "  </div>\n"
        '  <div class="task-row__side">\n'
        "    {}\n"
        '    <span class="small nowrap{}" title="{}">{} {}</span>\n'
        "  </div>\n"
        "</li>\n",
        (row(t) for t in tasks),
    )


# -- the tests ------------------------------------------------------------------------------


@pytest.fixture
def rows(head, member, sales):
    """Tasks with every cell filled in some row: project, customer and notes (with a script),
    overdue, done, a respond-by deadline, other priorities, statuses and progress."""
    member.name = XSS
    member.save(update_fields=["name"])
    project = Project.objects.create(name=XSS + "项目")
    customer = Customer.objects.create(name="客户 & <b>")
    made = [
        make_task(actor=head, department=sales, owner=member if i % 2 else head, title=f"{XSS}{i}")
        for i in range(8)
    ]
    Task.objects.filter(pk=made[0].pk).update(project=project, customer=customer, notes=XSS * 5)
    Task.objects.filter(pk=made[1].pk).update(due_date=TODAY - dt.timedelta(days=2), priority=1, progress=30)
    Task.objects.filter(pk=made[2].pk).update(
        status="done", progress=100, due_date=TODAY - dt.timedelta(days=1)
    )
    Task.objects.filter(pk=made[3].pk).update(
        status="in_progress", respond_by=timezone.now() + dt.timedelta(hours=2), notes="短备注"
    )
    Task.objects.filter(pk=made[4].pk).update(customer=customer, priority=3, status="blocked")
    return [t.pk for t in made]


def test_the_list_rows_are_the_reference_html_and_escape_everything(head, rows):
    for sort in ("code", "due", "-priority"):
        page = list(selectors.task_list(head, selectors.TaskFilters(sort=sort)))
        html = task_table_rows(page, TODAY)
        assert html == old_task_table_rows(page, TODAY)
        assert XSS not in html and "&lt;script&gt;" in html and "客户 &amp; &lt;b&gt;" in html


def test_my_work_rows_are_the_reference_html_and_escape_everything(head, member, rows, monkeypatch):
    now = timezone.now()
    monkeypatch.setattr(timezone, "now", lambda: now)  # one respond-by countdown for both
    for user in (head, member):
        work = selectors.my_work(user)
        groups = [work.overdue, work.today, work.this_week, work.later, work.to_review]
        assert sum(map(len, groups)) >= 3
        for group in groups:
            # Also as someone else sees them: with the owner's name.
            for viewer in (head, member):
                html = task_rows({"user": viewer}, group, TODAY)
                assert html == old_task_rows({"user": viewer}, group, TODAY)
                assert XSS not in html
