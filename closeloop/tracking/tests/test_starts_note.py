"""An update on a task not started starts it (services.update_post): the today form and the
task's update form say so on that task, in the person's language, so ticking a row never
starts a task unseen; tasks under way carry no such note."""

import datetime as dt
import re

import pytest
from django.utils import timezone

from closeloop.tasks.models import Priority, Task
from closeloop.tasks.services import task_transition
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db
NOTE_ZH = "尚未开始：提交后任务将开始。"


@pytest.fixture
def two(head, member, sales):
    today = timezone.localdate()
    tasks = [
        make_task(
            actor=head,
            department=sales,
            owner=member,
            title=title,
            priority=Priority.HIGH,
            start_date=today - dt.timedelta(days=3),
            due=today + dt.timedelta(days=10),
        )
        for title in ("还没开始的任务", "进行中的任务")
    ]
    tasks[1] = task_transition(actor=member, task=tasks[1], to="in_progress")
    return tasks


def _row(page: str, pk: int) -> str:
    m = re.search(rf'<li class="update-row[^"]*" id="row-{pk}">(.*?)</li>', page, re.S)
    assert m, pk
    return m[1]


def test_the_today_form_says_on_a_not_started_row_that_saving_starts_it(client, member, two):
    not_started, started = two
    client.force_login(member)  # Chinese, the default
    page = client.get("/updates/today/").content.decode()
    row = _row(page, not_started.pk)
    assert NOTE_ZH in row
    # The state menu points at the note, read out with it.
    assert f'aria-describedby="starts-{not_started.pk}"' in row and f'id="starts-{not_started.pk}"' in row
    assert NOTE_ZH not in _row(page, started.pk)
    # The rule stays: ticking the row and saving starts the task.
    data = {
        "task": [not_started.pk],
        f"t{not_started.pk}-include": "1",
        f"t{not_started.pk}-percent": "10",
        f"t{not_started.pk}-state": "in_progress",
        f"t{not_started.pk}-note": "开始准备",
    }
    assert client.post("/updates/today/", data).status_code == 302
    assert Task.objects.get(pk=not_started.pk).status == "in_progress"
    page = client.get("/updates/today/").content.decode()
    assert NOTE_ZH not in page


def test_the_tasks_update_form_says_it_too_in_english(member, two):
    not_started, started = two
    client = english_client(member)
    page = client.get(f"/tasks/{not_started.pk}/updates/").content.decode()
    assert "Not started yet: saving this update starts the task." in page
    assert "Not started yet" not in client.get(f"/tasks/{started.pk}/updates/").content.decode()
    assert "Not started yet: saving" in _row(client.get("/updates/today/").content.decode(), not_started.pk)
