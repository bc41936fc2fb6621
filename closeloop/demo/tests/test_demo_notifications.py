"""The demo's bell tells the same story as its tasks (a tester, as sales_manager: SALES-T001-1
"sent back for rework" on 12-02, "submitted by 李娜" and a delay requested, while the task was
accepted on 11-27 and its 验收 panel said "尚未提交验收"). Every notification is one the real
services wrote at the moment of its step; the accepted subtask's panel shows its submission."""

import datetime as dt
import zoneinfo

import pytest
from django.test import Client
from django.utils import timezone

from closeloop.demo.loader import load
from closeloop.notify.models import Notification
from closeloop.orgs.models import User
from closeloop.review.models import Submission, Verdict
from closeloop.tasks.models import Task

SH = zoneinfo.ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 12, 2, 9, 21, tzinfo=SH)  # the Wednesday the tester loaded it


@pytest.fixture
def demo(db, monkeypatch, tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path)
    monkeypatch.setattr(timezone, "now", lambda: NOW.astimezone(dt.UTC))
    load()


def _about(task: Task):
    return Notification.objects.filter(link__startswith=task.get_absolute_url()).order_by("created_at", "id")


def test_the_bell_matches_every_tasks_final_state(demo):
    assert not Notification.objects.filter(data__demo=True).exclude(kind__startswith="channel.").exists()
    assert not Notification.objects.filter(created_at__gt=NOW).exists()
    for task in Task.objects.select_related("department"):
        notes = list(_about(task))
        for n in notes:
            if n.kind == "task.submitted":  # only the owner hands a task in
                assert n.actor_id == task.owner_id, (task.full_code, n.actor_id)
        verdicts = [n for n in notes if n.kind in ("task.accepted", "task.rework")]
        if task.status == "done":
            assert verdicts and verdicts[-1].kind == "task.accepted", task.full_code
            assert all(n.created_at <= task.completed_at for n in verdicts), task.full_code
        if task.status in ("done", "cancelled") and task.completed_at:
            # Nothing asks for a decision on a closed task after it closed.
            late = [
                n.kind
                for n in notes
                if n.created_at > task.completed_at and n.kind.startswith("delay_warning.")
            ]
            assert not late, (task.full_code, late)


def test_the_accepted_subtask_reads_the_same_on_its_page_and_in_the_bell(demo):
    profile = Task.objects.get(department__code="SALES", code="T001-1")
    assert profile.status == "done"
    (sub,) = Submission.objects.filter(task=profile)
    assert sub.verdict == Verdict.ACCEPTED and sub.submitted_by_id == profile.owner_id
    kinds = [(n.kind, n.recipient.username) for n in _about(profile).select_related("recipient")]
    assert kinds[0] == ("task.assigned", "sales_specialist")
    assert ("task.accepted", "sales_specialist") in kinds and ("task.rework", "sales_manager") not in kinds
    c = Client(HTTP_ACCEPT_LANGUAGE="zh-hans")
    c.force_login(User.objects.get(username="sales_manager"))
    html = c.get(profile.get_absolute_url()).content.decode()
    assert "尚未提交验收" not in html
    assert "沉睡用户按最近消费时间分为三层" in html  # the key results of the accepted round
    bell = c.get("/notifications/").content.decode()
    assert "SALES-T001-1" in bell
