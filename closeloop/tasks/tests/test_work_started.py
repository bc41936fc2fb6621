"""When work on a task actually began (实际开始, `Task.started_at`) shows on the task page's
基本信息 beside the planned start date (开始日期, `start_date`), which starting never
overwrites. A tester started a task (开始), and the page still read 开始日期 「—」."""

import datetime as dt
import re

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.tasks.models import Task
from closeloop.tasks.services import task_transition
from closeloop.tasks.states import Status
from closeloop.testing.factories import make_task

pytestmark = pytest.mark.django_db


def chinese_client(user) -> Client:
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(user)
    return c


def _row(html: str, label: str) -> str:
    found = re.search(rf"<dt>{label}</dt><dd[^>]*>(.*?)</dd>", html)
    assert found, label
    return found.group(1)


def test_starting_a_task_shows_when_work_started_and_keeps_the_planned_start(head, member, sales):
    planned = timezone.localdate() + dt.timedelta(days=2)
    task = make_task(
        actor=head, department=sales, owner=member, start_date=planned, due=planned + dt.timedelta(days=5)
    )
    c = chinese_client(member)
    html = c.get(task.get_absolute_url()).content.decode()
    assert _row(html, "实际开始") == "—"
    assert c.post(f"/tasks/{task.pk}/transition/", {"to": "in_progress"}).status_code == 302
    started = Task.objects.get(pk=task.pk).started_at
    assert started is not None
    html = c.get(task.get_absolute_url()).content.decode()
    assert _row(html, "实际开始") == timezone.localtime(started).strftime("%Y-%m-%d %H:%M")
    assert _row(html, "开始日期") == planned.isoformat()  # the plan, not overwritten
    # Blocked and back, submitted and sent back: still the first start.
    for to in (Status.BLOCKED, Status.IN_PROGRESS, Status.SUBMITTED):
        task = task_transition(actor=member, task=Task.objects.get(pk=task.pk), to=to, note="等待数据")
    task = task_transition(actor=head, task=task, to=Status.REWORK, note="补充区域对比")
    task = task_transition(actor=member, task=task, to=Status.IN_PROGRESS)
    assert task.started_at == started and task.start_date == planned


def test_a_task_without_a_planned_start_shows_its_start_once_started_on_the_page_and_api(
    client, head, member, sales
):
    from closeloop.orgs.services import api_token_create

    task = make_task(actor=head, department=sales, owner=member)
    task_transition(actor=member, task=task, to=Status.IN_PROGRESS)
    html = chinese_client(member).get(task.get_absolute_url()).content.decode()
    assert _row(html, "开始日期") == "—" and _row(html, "实际开始") != "—"
    _t, raw = api_token_create(actor=member, name="t")
    body = client.get(f"/api/v1/tasks/{task.pk}", HTTP_AUTHORIZATION=f"Bearer {raw}").json()
    assert body["start_date"] is None and body["started_at"] is not None
