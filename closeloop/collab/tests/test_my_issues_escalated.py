"""我的工作's "escalated to me" box reads the issues through the receiver's index (an IN
subquery) instead of a join with DISTINCT: the same issues in the same order as the join
(issue 16), one issue escalated twice to the same person shown once, and none on a task the
person must not see."""

import datetime as dt

import pytest
from django.utils import timezone

from closeloop.collab import services
from closeloop.collab.models import Escalation, Issue, IssueStatus
from closeloop.collab.permissions import sees_task
from closeloop.collab.selectors import MY_ISSUES_LIMIT, my_issues
from closeloop.orgs.models import User

pytestmark = pytest.mark.django_db


def _joined(user) -> list[int]:
    """The query this replaced: a join on the escalations, DISTINCT."""
    rows = (
        Issue.objects.filter(status=IssueStatus.OPEN, escalations__escalated_to=user)
        .select_related("task__department", "resolver")
        .distinct()
        .order_by("raised_at", "id")[: MY_ISSUES_LIMIT * 2]
    )
    return [i.pk for i in rows if sees_task(user, i.task)][:MY_ISSUES_LIMIT]


def test_escalated_issues_are_the_joined_ones(shared, private, member, outsider, head, ceo):
    now = timezone.now()
    issues = []
    for i in range(MY_ISSUES_LIMIT + 6):
        task = shared if i % 3 else private
        issues.append(
            services.issue_raise(
                actor=member,
                task=task,
                problem=f"<b>问题</b>{i}",
                resolver=outsider if task == shared else head,
                now=now - dt.timedelta(hours=i),
            )
        )
    for n, issue in enumerate(issues):
        # Some climb twice to the same person (the join's duplicates), some reach the
        # outsider, who does not see the private task.
        receivers = [head, head] if n % 4 == 0 else [outsider] if n % 4 == 1 else [head, ceo]
        for level, person in enumerate(receivers, start=1):
            Escalation.objects.create(
                issue=issue, level=level, escalated_to=person, due_at=now, created_at=now
            )
    Issue.objects.filter(pk=issues[2].pk).update(
        status=IssueStatus.RESOLVED, resolved_at=now, resolution="已解决"
    )
    for person in (head, ceo, outsider, member):
        fresh = User.objects.get(pk=person.pk)
        shown = [i.pk for i in my_issues(fresh).escalated]
        assert shown == _joined(User.objects.get(pk=person.pk)), person.username
    outsider_sees = {i.pk for i in my_issues(User.objects.get(pk=outsider.pk)).escalated}
    assert outsider_sees and not outsider_sees & {i.pk for i in issues if i.task_id == private.pk}
    head_sees = [i.pk for i in my_issues(User.objects.get(pk=head.pk)).escalated]
    assert len(head_sees) == len(set(head_sees)) > 10  # twice escalated, shown once
