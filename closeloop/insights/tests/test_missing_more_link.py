"""仪表盘's 今日未更新: a person's "还有 N 项" links to the task list of the tasks they owe
today's update on (`?owner=ID&owed=1`), which lists exactly the total the dashboard counts."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.insights import selectors
from closeloop.tasks.models import Priority
from closeloop.tasks.services import task_transition
from closeloop.testing.factories import make_task
from closeloop.tracking.tests.conftest import at

pytestmark = pytest.mark.django_db
NOW = at(2026, 3, 4)  # a Wednesday


def test_n_more_links_to_the_person_s_owed_tasks_in_the_list(head, member, sales, monkeypatch):
    monkeypatch.setattr(timezone, "now", lambda: NOW.astimezone(dt.UTC))
    n = selectors.MISSING_PER_PERSON + 2
    for i in range(n):
        t = make_task(
            actor=head,
            department=sales,
            owner=member,
            title=f"欠更新{i}",
            priority=Priority.HIGH,
            start_date=dt.date(2026, 3, 1),
            due=dt.date(2026, 3, 20),
        )
        task_transition(actor=member, task=t, to="in_progress")
    make_task(
        actor=head, department=sales, owner=member, title="欠更新外", priority=Priority.HIGH
    )  # not started
    c = Client()
    c.force_login(head)  # Chinese, the default
    page = c.get("/dashboard/").content.decode()
    link = re.search(r'<a class="small" href="([^"]+)">还有 2 项</a>', page)
    assert link, "还有 N 项 is a link"
    url = link[1].replace("&amp;", "&")
    assert url == f"/tasks/?department={sales.pk}&owed=1&owner={member.pk}"
    listed = c.get(url).content.decode()
    assert len(set(re.findall(r"欠更新\d", listed))) == n and "欠更新外" not in listed
    assert "今日未更新</label>" in listed
