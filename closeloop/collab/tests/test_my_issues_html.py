"""我的工作's collaboration box, read by hand-written SQL and built in Python (issue 16): the
same issues as the ORM query it replaced, in the same order, and the HTML the template
(`old_templates/_home.html`, with the issues I raised and the overdue flag since) gave, byte
for byte, in both languages, with markup in every field a person writes; none on a task the
person must not see."""

import datetime as dt
from pathlib import Path

import pytest
from django.template import engines
from django.test import RequestFactory
from django.utils import timezone, translation

from closeloop.collab import services
from closeloop.collab.extensions import home_panel, my_issues_html
from closeloop.collab.models import Escalation, Issue, IssueStatus
from closeloop.collab.permissions import sees_task
from closeloop.collab.selectors import MY_ISSUES_LIMIT, my_issues
from closeloop.orgs.models import User

pytestmark = pytest.mark.django_db

OLD = Path(__file__).parent / "old_templates" / "_home.html"
XSS = '<script>alert("x")</script>'


class _Old:
    def __init__(self, to_resolve, escalated, raised, escalated_count):
        self.to_resolve, self.escalated, self.raised = to_resolve, escalated, raised
        self.escalated_count = escalated_count
        listed = {i.pk for i in to_resolve} | {i.pk for i in raised}
        self.total = len(listed) + escalated_count - sum(1 for i in escalated if i.pk in listed)


def _old_my_issues(user) -> _Old:
    """The ORM reads this replaced."""
    base = Issue.objects.filter(status=IssueStatus.OPEN).select_related("task__department", "resolver")
    to_resolve = [
        i
        for i in base.filter(resolver=user).order_by("deadline", "id")[: MY_ISSUES_LIMIT * 2]
        if sees_task(user, i.task)
    ][:MY_ISSUES_LIMIT]
    to_me = base.filter(id__in=Escalation.objects.filter(escalated_to=user).values("issue_id"))
    escalated = [
        i for i in to_me.order_by("raised_at", "id")[: MY_ISSUES_LIMIT * 2] if sees_task(user, i.task)
    ][:MY_ISSUES_LIMIT]
    raised = [
        i
        for i in base.filter(raised_by=user)
        .exclude(resolver=user)
        .order_by("deadline", "id")[: MY_ISSUES_LIMIT * 2]
        if sees_task(user, i.task)
    ][:MY_ISSUES_LIMIT]
    count = sum(1 for i in to_me if sees_task(user, i.task))
    return _Old(to_resolve, escalated, raised, count)


def test_the_box_is_the_old_one(shared, private, member, outsider, head, ceo):
    for person, name in ((outsider, f"赵{XSS}&'q'"), (head, ""), (ceo, "")):
        User.objects.filter(pk=person.pk).update(name=name, first_name="<b>F</b>", last_name="L&")
    now = timezone.now()
    issues = []
    for i in range(2 * MY_ISSUES_LIMIT + 6):
        task = shared if i % 3 else private
        issues.append(
            services.issue_raise(
                # Most raised by the member; some by the head, for the outsider or themselves.
                actor=head if i % 5 == 0 else member,
                task=task,
                problem=(f"<b>问题</b>{i} & \"'{XSS}" * (3 if i % 2 else 1)),
                resolver=outsider if task == shared else head,
                now=now - dt.timedelta(hours=i),
            )
        )
    for n, issue in enumerate(issues):
        # The same deadline for some (ordered by id then), 23:30 UTC: the next day in Shanghai.
        # From tomorrow on: today's 23:30 is before the issue was raised when the test runs
        # after 23:30 UTC (the deadline must follow the raise).
        deadline = (now + dt.timedelta(days=n % 5 + 1)).replace(hour=23, minute=30, tzinfo=dt.UTC)
        if n % 7 == 1:  # past its deadline: flagged overdue (after it was raised, n hours ago)
            deadline = issue.raised_at + dt.timedelta(minutes=30)
        Issue.objects.filter(pk=issue.pk).update(deadline=deadline, level=n % 3)
        receivers = [head, head] if n % 4 == 0 else [outsider] if n % 4 == 1 else [head, ceo]
        for level, person in enumerate(receivers, start=1):
            Escalation.objects.create(
                issue=issue, level=level, escalated_to=person, due_at=now, created_at=now
            )
    Issue.objects.filter(pk=issues[2].pk).update(
        status=IssueStatus.RESOLVED, resolved_at=now, resolution="好"
    )
    template = engines["django"].from_string(OLD.read_text())
    seen = 0
    for person in (head, ceo, outsider, member):
        user = User.objects.get(pk=person.pk)
        old, new = _old_my_issues(user), my_issues(User.objects.get(pk=person.pk))
        assert [i.pk for i in new.to_resolve] == [i.pk for i in old.to_resolve], person.username
        assert [i.pk for i in new.escalated] == [i.pk for i in old.escalated], person.username
        assert [i.pk for i in new.raised] == [i.pk for i in old.raised], person.username
        assert new.escalated_count == old.escalated_count, person.username
        request = RequestFactory().get("/")
        request.user = User.objects.get(pk=person.pk)
        for language in ("en", "zh-hans"):
            with timezone.override("Asia/Shanghai"), translation.override(language):
                html = home_panel(request)
                now = timezone.now()
                html = my_issues_html(my_issues(request.user), now=now) if html else html
                want = (
                    template.render({"mine": old, "now": now}, request)
                    if old.total or old.escalated_count
                    else ""
                )
            assert html == want, (person.username, language)
        seen += new.total
        assert "<script>" not in html and "<b>" not in html
    assert seen
    head_box = my_issues(User.objects.get(pk=head.pk))
    assert head_box.raised and head_box.escalated_count > MY_ISSUES_LIMIT  # counted past the list
    member_box = my_issues(User.objects.get(pk=member.pk))
    assert member_box.raised and any(i.deadline < now for i in member_box.raised)
    # The outsider resolves issues on the shared task only, and sees none of the private one.
    private_ids = set(Issue.objects.filter(task=private).values_list("id", flat=True))
    outsider_box = my_issues(User.objects.get(pk=outsider.pk))
    assert outsider_box.to_resolve and outsider_box.escalated
    assert not {i.pk for i in outsider_box.to_resolve + outsider_box.escalated} & private_ids
