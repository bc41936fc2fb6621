"""Reads of collaboration. An issue, plan or task's minutes is visible to whoever sees its
task (`tasks.selectors.access_task`, the tasks app's one rule); department minutes to the
department's members (and heads above), the attendees and the writer. Anything else is
NotFound, never "exists but hidden"."""

from dataclasses import dataclass
from datetime import datetime

from django.db.models import Prefetch, Q, QuerySet
from django.utils.translation import gettext as _

from closeloop.collab.models import (
    ActionItem,
    CommunicationPlan,
    Escalation,
    Issue,
    IssueStatus,
    Minutes,
    PlanContact,
)
from closeloop.collab.permissions import sees_task
from closeloop.core.errors import NotFound
from closeloop.orgs.models import User
from closeloop.orgs.selectors import visible_department_ids
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import access_task

MY_ISSUES_LIMIT = 20


def _issue_qs() -> QuerySet[Issue]:
    return Issue.objects.select_related("raised_by", "resolver", "resolved_by").prefetch_related(
        Prefetch("escalations", queryset=Escalation.objects.select_related("escalated_to", "department")),
        "party_users",
        "party_departments",
    )


def task_issues(user: User, task_id: int | str) -> tuple[Task, list[Issue]]:
    """The task (if the user sees it) and its issues, open first, newest first. Five
    queries whatever the number of issues."""
    task = access_task(user, task_id)
    issues = list(_issue_qs().filter(task_id=task.pk).order_by("status", "-raised_at", "-id"))
    for issue in issues:
        issue.task = task
    issues.sort(key=lambda i: (i.status != IssueStatus.OPEN,))
    return task, issues


def issue_rows(task: Task) -> list[Issue]:
    """The issue log of a task the caller has already accessed, for the task page: open
    first, then newest; one query (the resolver joined; the ladder shows as `level`)."""
    issues = list(
        Issue.objects.filter(task_id=task.pk).select_related("resolver").order_by("-raised_at", "-id")
    )
    for issue in issues:
        issue.task = task
    issues.sort(key=lambda i: i.status != IssueStatus.OPEN)
    return issues


def task_minutes(task: Task, *, limit: int = 5) -> list[Minutes]:
    """Minutes of a task the caller has already accessed (whoever sees a task reads its
    minutes); one query."""
    return list(Minutes.objects.filter(task_id=task.pk).order_by("-held_on", "-id")[:limit])


def access_issue(user: User, pk: int | str) -> Issue:
    """One issue whose task the user sees, with its ladder and parties; else NotFound."""
    try:
        pk_int = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("Issue not found.")) from None
    issue = _issue_qs().filter(pk=pk_int).first()
    if issue is None:
        raise NotFound(_("Issue not found."))
    try:
        issue.task = access_task(user, issue.task_id)
    except NotFound:
        raise NotFound(_("Issue not found.")) from None
    return issue


@dataclass
class MyIssues:
    """我的工作's collaboration box: open issues I resolve, and those escalated to me."""

    to_resolve: list[Issue]
    escalated: list[Issue]

    @property
    def total(self) -> int:
        return len(self.to_resolve) + len(self.escalated)


def my_issues(user: User) -> MyIssues:
    """Open issues on tasks the user sees where they are the resolver, or that escalated to
    them. Two queries (plus visibility, memoised per request)."""
    visible = Task.objects.visible_to(user).values("id")
    base = Issue.objects.filter(status=IssueStatus.OPEN, task_id__in=visible).select_related(
        "task__department", "raised_by", "resolver"
    )
    to_resolve = list(base.filter(resolver=user).order_by("deadline", "id")[:MY_ISSUES_LIMIT])
    escalated = list(
        base.filter(escalations__escalated_to=user).distinct().order_by("raised_at", "id")[:MY_ISSUES_LIMIT]
    )
    return MyIssues(to_resolve=to_resolve, escalated=escalated)


def task_plan(task: Task) -> CommunicationPlan | None:
    """The plan of a task the caller has already accessed, with its contacts (`contact_list`):
    one query without a plan, two with one."""
    plan = CommunicationPlan.objects.filter(task_id=task.pk).first()
    if plan is not None:
        plan.contact_list = list(
            PlanContact.objects.filter(plan=plan).select_related("department", "contact").order_by("id")
        )
    return plan


def _minutes_q(user: User) -> Q:
    if user.is_superuser:
        return Q()
    visible_tasks = Task.objects.visible_to(user).values("id")
    return (
        Q(task_id__in=visible_tasks)
        | Q(task__isnull=True, department_id__in=visible_department_ids(user))
        | Q(attendees=user)
        | Q(created_by=user)
    )


def minutes_list(user: User, *, task: Task | None = None) -> QuerySet[Minutes]:
    qs = Minutes.objects.filter(_minutes_q(user)).distinct()
    if task is not None:
        qs = qs.filter(task_id=task.pk)
    return qs.select_related("task__department", "department", "created_by").order_by("-held_on", "-id")


def access_minutes(user: User, pk: int | str) -> Minutes:
    try:
        pk_int = int(pk)
    except (TypeError, ValueError):
        raise NotFound(_("Minutes not found.")) from None
    m = (
        Minutes.objects.select_related("task__department", "task__owner", "department", "created_by")
        .prefetch_related(
            "attendees",
            Prefetch("action_items", queryset=ActionItem.objects.select_related("owner", "task__department")),
        )
        .filter(pk=pk_int)
        .first()
    )
    if m is None:
        raise NotFound(_("Minutes not found."))
    if user.is_superuser or m.created_by_id == user.pk or any(a.pk == user.pk for a in m.attendees.all()):
        return m
    if m.task is not None and sees_task(user, m.task):
        return m
    if m.task is None and m.department_id in visible_department_ids(user):
        return m
    raise NotFound(_("Minutes not found."))


def access_action_item(user: User, minutes_id: int | str, item_id: int | str) -> tuple[Minutes, ActionItem]:
    m = access_minutes(user, minutes_id)
    for item in m.action_items.all():
        if str(item.pk) == str(item_id):
            return m, item
    raise NotFound(_("Action item not found."))


def next_sync_for(plan: CommunicationPlan | None, task: Task, now: datetime) -> datetime | None:
    from closeloop.collab.schedule import next_sync

    return next_sync(plan, task.department, now) if plan else None
