"""Rows the task page renders in Python (issue 16, item 2) are the HTML the templates they
replace gave, byte for byte, and escape what people write."""

import datetime as dt
from types import SimpleNamespace

from django.template import engines
from django.utils import timezone

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
