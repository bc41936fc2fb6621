"""What collaboration adds to pages the tasks app owns, through `closeloop.tasks.extensions`:
the 协作 panel on the task page (next sync, the issue log with its ladder, a quick-add form,
minutes) and, on 我的工作, the open issues the person resolves or that escalated to them."""

from django.template.loader import render_to_string
from django.utils import timezone

from closeloop.collab import selectors
from closeloop.collab.forms import IssueQuickForm
from closeloop.tasks import extensions


def panel_context(request, task, *, form=None) -> dict:
    issues = selectors.issue_rows(task)
    plan = selectors.task_plan(task)
    return {
        "task": task,
        "issues": issues,
        "open_count": sum(1 for i in issues if i.is_open),
        "plan": plan,
        "next_sync": selectors.next_sync_for(plan, task, timezone.now()),
        "minutes": selectors.task_minutes(task),
        "form": form or IssueQuickForm(task=task),
        "task_open": task.is_open,
    }


def task_panel(request, task) -> str:
    return render_to_string("collab/_panel.html", panel_context(request, task), request=request)


def home_panel(request) -> str:
    mine = selectors.my_issues(request.user)
    if not mine.total:
        return ""
    return render_to_string("collab/_home.html", {"mine": mine}, request=request)


def register() -> None:
    extensions.register_task_panel(task_panel)
    extensions.register_home_panel(home_panel)
