"""Rows the task page renders in Python (issue 16, item 2) are the HTML the templates they
replace gave, byte for byte, and escape what people write."""

import datetime as dt
import re
from pathlib import Path
from types import SimpleNamespace
from unittest import mock

from django.conf import settings
from django.template import engines
from django.test import Client, override_settings
from django.utils import timezone

from closeloop.core.templatetags import fast_tags
from closeloop.tasks.history import _event_names, describe_event
from closeloop.tasks.models import TaskEvent
from closeloop.tasks.services import task_transition
from closeloop.tasks.views.tasks import activity_rows
from closeloop.testing.factories import make_task

# The template loop `activity_rows` replaced (tasks/detail.html before issue 16's work).
OLD_ACTIVITY = """{% for item in activity %}
          <li class="{% if item.kind %}v-{{ item.kind }}{% endif %}">
            {% for line in item.lines %}<div>{{ line }}</div>{% endfor %}
            {% if item.event.note %}<div class="activity__note">{{ item.event.note }}</div>{% endif %}
            <div class="activity__when" title="{{ item.event.created_at|date:'Y-m-d H:i:s' }}">{{ item.event.created_at|date:"Y-m-d H:i" }}</div>
          </li>
          {% endfor %}"""


def test_the_activity_rows_are_the_templates_html_and_escape_what_people_wrote(head, member, sales):
    task = make_task(actor=head, department=sales, owner=member, title="<script>alert('t')</script>")
    task = task_transition(actor=member, task=task, to="in_progress")
    task_transition(actor=member, task=task, to="blocked", note="等<script>alert(1)</script> & 'x'")
    events = list(TaskEvent.objects.filter(task=task).select_related("actor").order_by("-created_at", "-id"))
    names = _event_names(events)
    activity = [
        {
            "event": e,
            "lines": describe_event(e, names),
            "kind": "status" if e.verb == "status_changed" else "",
        }
        for e in events
    ]
    # One more: an event at midnight UTC (a different day in Asia/Shanghai), lines with markup.
    activity.append(
        {
            "event": SimpleNamespace(note="", created_at=dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=dt.UTC)),
            "lines": ["<b>王总</b> & co", '"quoted"'],
            "kind": "overdue",
        }
    )
    old = engines["django"].from_string(OLD_ACTIVITY).render({"activity": activity})
    new = activity_rows(activity)
    assert new == old
    assert "<script>" not in new and "&lt;script&gt;" in new
    assert timezone.get_current_timezone_name() and "2026-03-02 07:59:59" in new


OLD_SUBTASKS = """{% load i18n closeloop_ui %}{% for s in plan.subtasks %}
      <li class="plan-tree__row" style="--indent:{{ s.indent }}" id="sub-{{ s.pk }}">
        <div class="plan-tree__main">
          <span class="code">{{ task.department.code }}-{{ s.code }}</span> <a href="{% url 'tasks:detail' s.pk %}">{{ s.title }}</a>
          <div class="small muted plan-tree__meta">
            <span class="person"><span class="avatar avatar--sm">{{ s.owner|initials }}</span>{{ s.owner.display_name }}</span>
            {% for c in s.collaborator_list %}<span class="chip chip--sm">{{ c.display_name }}</span>{% endfor %}
            <span class="nowrap">{{ s.start_date|date:"m-d"|default:"…" }} → <span class="{% if s.due_date < today and s.is_open %}due--overdue{% endif %}">{{ s.due_date|date:"m-d" }}</span></span>
            {% if s.criteria_count %}<span class="nowrap" title="{% translate 'Acceptance criteria' %}">{% icon "check" %}{{ s.criteria_count }}</span>{% endif %}
            {% if s.weight != 1 %}<span class="nowrap">{% blocktranslate with w=s.weight %}weight {{ w }}{% endblocktranslate %}</span>{% endif %}
            {% if s.after_codes %}<span class="nowrap after">{% translate "after" %} {{ s.after_codes|join:", " }}</span>{% endif %}
          </div>
        </div>
        <div class="subtasks__meta">{% status_badge s.status s.get_status_display %}{% progress_bar s.progress %}</div>
      </li>
      {% endfor %}"""


def test_the_subtask_rows_are_the_templates_html_and_escape_what_people_wrote(head, member, outsider, sales):
    from django.utils import translation

    from closeloop.planning.selectors.plan import task_plan
    from closeloop.planning.views.decomposition import subtask_rows
    from closeloop.tasks.models import Task
    from closeloop.tasks.selectors import task_detail
    from closeloop.tasks.services import CriterionIn

    today = timezone.localdate()
    parent = make_task(actor=head, department=sales, owner=member, title="召回")
    a = make_task(
        actor=head,
        department=sales,
        owner=member,
        parent=parent,
        title="<script>alert('a')</script> & 名单",
        collaborators=[outsider],
        criteria=[CriterionIn(text="<b>达标</b>")],
    )
    make_task(actor=head, department=sales, owner=head, parent=parent, title="预算\"确认'")
    Task.objects.filter(pk=a.pk).update(
        weight=3, start_date=None, due_date=today - dt.timedelta(days=2), progress=100
    )
    for language in ("en", "zh-hans"):
        with translation.override(language):
            task = task_detail(head, parent.pk)
            plan = task_plan(head, task, subtasks=task.subtask_list)
            for s in plan.subtasks:
                s.after_codes = ["T001-<2>", "T001-3"] if s.pk == a.pk else []
            ctx = {"task": task, "plan": plan, "today": today}
            old = engines["django"].from_string(OLD_SUBTASKS).render(ctx)
            new = subtask_rows(task, plan.subtasks, today)
            assert new == old, language
    assert "<script>" not in new and "&lt;script&gt;" in new and "due--overdue" in new


# The loop `comment_rows` replaced (tasks/_comments.html before issue 16's work).
OLD_COMMENTS = """{% load closeloop_ui %}{% for c in comments %}
      <li id="comment-{{ c.pk }}"><div class="comments__head"><span class="person"><span class="avatar avatar--sm">{{ c.author|initials }}</span><strong>{{ c.author.display_name }}</strong></span>
        <span class="small muted">{{ c.created_at|date:"Y-m-d H:i" }}</span></div>
        <div class="prose comment-body">{{ c.html|safe }}</div></li>
    {% endfor %}"""


def test_the_comment_rows_are_the_templates_html_and_escape_what_people_wrote(head, member, sales):
    from closeloop.tasks.comments import comment_add
    from closeloop.tasks.models import Comment
    from closeloop.tasks.templatetags.task_page import comment_rows
    from closeloop.testing.factories import UserFactory, add_member

    task = make_task(actor=head, department=sales, owner=member, title="评论")
    odd = UserFactory(username="odd", name='<b>O\'Neil</b> & "张"')
    add_member(odd, sales)
    comment_add(
        actor=head,
        task=task,
        body="**粗体** <script>alert(1)</script> & `code` [链接](https://example.com/?a=1&b=2)",
    )
    comment_add(actor=odd, task=task, body="- 一\n- 二 <img src=x onerror=alert(1)>")
    comment_add(actor=member, task=task, body="Ascii name's text")
    # One at midnight UTC (a different day in Asia/Shanghai).
    Comment.objects.filter(task=task, author=member).update(
        created_at=dt.datetime(2026, 3, 1, 0, 0, 30, tzinfo=dt.UTC)
    )
    comments = list(Comment.objects.filter(task=task).select_related("author").order_by("created_at", "id"))
    assert len(comments) == 3
    old = engines["django"].from_string(OLD_COMMENTS).render({"comments": comments})
    new = str(comment_rows(comments))
    assert new == old
    assert "<script>" not in new and "<img" not in new and "&lt;b&gt;O&#x27;Neil&lt;/b&gt;" in new
    for tz in ("UTC", "America/Los_Angeles"):
        with timezone.override(tz):
            assert str(comment_rows(comments)) == engines["django"].from_string(OLD_COMMENTS).render(
                {"comments": comments}
            )


# -- the whole page against the template before the cards were built in Python -------------------
# `old_templates/tasks/detail.html` is tasks/detail.html as it was (the Details and People cards
# as template text, Django's own `{% translate %}` and `{% url %}`); served in its place, with
# the panels' `fast_tags` doing their work through Django's nodes, the page must be the same,
# byte for byte, but for the CSRF token and the CSP nonce (new on each request).
OLD = Path(__file__).parent / "old_templates"
XSS = "<script>alert('x')</script> & \"q\""


def _masked(html: str) -> str:
    html = re.sub(r'name="csrfmiddlewaretoken" value="[^"]+"', 'name="csrfmiddlewaretoken"', html)
    html = re.sub(r'"X-CSRFToken": "[^"]+"', '"X-CSRFToken": ""', html)
    return re.sub(r'nonce="[^"]*"', 'nonce=""', html)


def _both(client, url: str) -> tuple[str, str]:
    """The page as served, and as served with the old template."""
    response = client.get(url)
    assert response.status_code == 200
    new = response.content.decode()
    engine = settings.TEMPLATES[0]
    with (
        override_settings(TEMPLATES=[{**engine, "DIRS": [OLD, *engine.get("DIRS", [])]}]),
        mock.patch.object(fast_tags.TranslateOnceNode, "render", lambda self, c: self.inner.render(c)),
        mock.patch.object(fast_tags.URLOnceNode, "render", lambda self, c: self.inner.render(c)),
    ):
        old = client.get(url).content.decode()
    return _masked(new), _masked(old)


def test_the_task_page_is_the_old_templates_html_with_markup_in_every_field(
    head, member, outsider, sales, company
):
    from django.contrib.auth import get_user_model

    from closeloop.orgs.models import Department
    from closeloop.tasks.models import Task
    from closeloop.tasks.services import customer_get_or_create, project_get_or_create

    User = get_user_model()
    Department.objects.filter(pk=sales.pk).update(name=f"销售{XSS}")
    User.objects.filter(pk=head.pk).update(name=f"王{XSS}")
    User.objects.filter(pk=member.pk).update(name=f"<b>李</b>{XSS}")
    User.objects.filter(pk=outsider.pk).update(name="O'Neil <i>赵</i>")
    today = timezone.localdate()
    rich = make_task(
        actor=head,
        department=sales,
        owner=member,
        title=XSS,
        collaborators=[outsider, head],
        reviewer=head,
        project=project_get_or_create(name=f"项目{XSS}"),
        customer=customer_get_or_create(name=f"客户{XSS}"),
        source="adhoc",
        adhoc_category="complaint",
        respond_by=timezone.now() - dt.timedelta(days=3, hours=2, minutes=30),
    )
    task_transition(actor=member, task=rich, to="in_progress")
    # Overdue, moved once (an original due date), a recurrence's day, done in part.
    Task.objects.filter(pk=rich.pk).update(
        due_date=today - dt.timedelta(days=2),
        original_due_date=today - dt.timedelta(days=9),
        start_date=today - dt.timedelta(days=20),
        occurrence=today - dt.timedelta(days=20),
        progress=100,
        created_at=dt.datetime(2026, 3, 1, 23, 59, 59, tzinfo=dt.UTC),
    )
    # And a bare one: no project, customer, reviewer, collaborators, start date.
    bare = make_task(actor=head, department=sales, owner=member, title="空")
    pages = 0
    for person in (head, member, outsider):
        for language in ("en", "zh-hans"):
            for tz in ("UTC", "Asia/Shanghai", "America/Los_Angeles"):
                User.objects.filter(pk=person.pk).update(language=language, time_zone=tz)
                client = Client()
                client.force_login(person)
                if person == outsider:
                    assert client.get(f"/tasks/{bare.pk}/").status_code == 404
                # The outsider (a collaborator on `rich`) must not see `bare`: 404, not compared.
                for task in (rich, bare) if person != outsider else (rich,):
                    new, old = _both(client, f"/tasks/{task.pk}/")
                    assert new == old, (person.username, language, tz, task.title)
                    pages += 1
                    if task is rich:
                        assert "<script>" not in new and "&lt;b&gt;李&lt;/b&gt;" in new
    assert pages == 30
    # The people form's panel open (?open=…) and both cards' branches were seen.
    User.objects.filter(pk=head.pk).update(language="en", time_zone="UTC")
    client = Client()
    client.force_login(head)
    for which in ("collaborators", "reassign"):
        new, old = _both(client, f"/tasks/{rich.pk}/?open={which}")
        assert new == old
    assert "Remove O&#x27;Neil &lt;i&gt;赵&lt;/i&gt;" in new and "Original due date" in new
    assert "Recurring, for" in new and "countdown--late" in new and "due--overdue" in new
