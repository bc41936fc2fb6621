"""The 协作 panel's issue rows, rendered in Python for the task page (issue 16, item 2), are
the HTML the template loop gave (with the overdue flag since), byte for byte, and escape
what people write."""

import datetime as dt

from django.template import engines
from django.utils import timezone, translation

from closeloop.collab.extensions import issue_rows_html
from closeloop.collab.models import Issue, IssueStatus
from closeloop.collab.selectors import issue_rows
from closeloop.collab.services.issues import issue_raise
from closeloop.testing.factories import make_task

OLD_ROWS = """{% load i18n collab %}{% for i in issues %}
        <li class="issue-row issue-row--{{ i.status }}">
          <a href="{% url 'collab:issue' i.pk %}" class="issue-row__problem">{{ i.problem|truncatechars:80 }}</a>
          <div class="small muted">
            <span class="issue-status issue-status--{{ i.status }}">{{ i.get_status_display }}</span>
            · {% translate "Resolver" %} {{ i.resolver.display_name }}
            {% if i.is_open %}· {% translate "Deadline" %} {{ i.deadline|date:"m-d H:i" }}{% if i.deadline < now %} <span class="flag-overdue">{% translate "Overdue" %}</span>{% endif %}{% endif %}
            {% if i.level %}<span class="flag flag--late">{{ i.level|escalated_label }}</span>{% endif %}
          </div>
        </li>{% endfor %}"""


def test_the_issue_rows_are_the_templates_html_and_escape_what_people_wrote(head, member, sales):
    from closeloop.orgs.models import User

    User.objects.filter(pk=head.pk).update(name="<b>王</b> & 'o' \"x\"")
    head.refresh_from_db()
    task = make_task(actor=head, department=sales, owner=member, title="召回")
    issue_raise(actor=member, task=task, problem="<script>alert(1)</script> & 名单" * 5, resolver=head)
    issue_raise(actor=member, task=task, problem="预算'\"确认", resolver=head)
    late = issue_raise(
        actor=member, task=task, problem="过了期限", resolver=head, now=timezone.now() - dt.timedelta(hours=5)
    )
    Issue.objects.filter(pk=late.pk).update(deadline=timezone.now() - dt.timedelta(hours=1))
    first, second, _late = Issue.objects.order_by("id")
    deadline = (first.raised_at + dt.timedelta(days=2)).replace(hour=23, minute=30, tzinfo=dt.UTC)
    Issue.objects.filter(pk=first.pk).update(level=2, deadline=deadline)
    Issue.objects.filter(pk=second.pk).update(status=IssueStatus.WITHDRAWN, resolved_at=timezone.now())
    rows = issue_rows(task)
    for language in ("en", "zh-hans"):
        for tz in ("Asia/Shanghai", "UTC", "America/Los_Angeles"):
            with timezone.override(tz), translation.override(language):
                old = engines["django"].from_string(OLD_ROWS).render({"issues": rows, "now": timezone.now()})
                new = issue_rows_html(rows)
            assert new == old, (language, tz)
    with timezone.override("Asia/Shanghai"):
        new = issue_rows_html(rows)
    assert "&lt;b&gt;王&lt;/b&gt; &amp; &#x27;o&#x27;" in new
    assert "<script>" not in new and "&lt;script&gt;" in new
    assert new.count('class="flag-overdue"') == 1  # the issue past its deadline, open
    # 23:30 UTC is 07:30 the next day in Shanghai.
    assert (deadline + dt.timedelta(hours=8)).strftime("%m-%d 07:30") in new
