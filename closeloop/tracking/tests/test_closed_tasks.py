"""A closed task leaves nothing open behind in tracking: its pending delay warning is closed
with it (whichever path closed the task: acceptance, cancel on the page or the API, an
import), leaves every queue and the escalation sweep, and the task shows no forecast and is
not at risk. A decision's log line says which way it went."""

import datetime as dt
import importlib

import pytest
from django.apps import apps
from django.utils import translation

from closeloop.core.errors import Conflict
from closeloop.notify.models import Notification
from closeloop.review.services import CheckIn, submission_create, submission_review
from closeloop.tasks.extensions import decisions_for
from closeloop.tasks.history import describe_event
from closeloop.tasks.models import Task, TaskEvent
from closeloop.tasks.services import task_cancel, task_transition, task_update
from closeloop.testing.clients import english_client
from closeloop.testing.factories import make_task
from closeloop.tracking import jobs
from closeloop.tracking.models import DelayWarning, TaskForecast
from closeloop.tracking.selectors import pending_warnings_for
from closeloop.tracking.services import (
    close_with_task,
    delay_warning_decide,
    delay_warning_raise,
    update_post,
)
from closeloop.tracking.tests.conftest import at, fresh

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def media(tmp_path, settings):
    settings.MEDIA_ROOT = str(tmp_path / "media")


def warned(task, member, *, when=None):
    """The member's pending warning on `task`, raised on 2026-03-20 (decide by the 23rd)."""
    return delay_warning_raise(
        actor=member,
        task=fresh(task),
        reason="dependency",
        explanation="客户法务仍在审合同",
        new_due_date=dt.date(2026, 4, 10),
        now=when or at(2026, 3, 20),
    )


def accept(task, member, head):
    task = task_update(actor=member, task=fresh(task), progress=100)
    sub = submission_create(
        actor=member, task=fresh(task), key_results="合同已签署", links=["https://e.example/c"]
    )
    checks = [
        CheckIn(c.pk, passed=True, measured="100" if c.metric else None)
        for c in sub.checks.order_by("position")
    ]
    submission_review(actor=head, submission=sub, checks=checks)
    return fresh(task)


def log_lines(task, verb):
    with translation.override("zh-hans"):
        return [
            line for e in TaskEvent.objects.filter(task=task, verb=verb) for line in describe_event(e, {})
        ]


def test_accepting_a_task_closes_its_pending_warning_and_takes_it_out_of_every_queue(started, head, member):
    w = warned(started, member)
    assert list(pending_warnings_for(head)) == [w]
    done = accept(started, member, head)
    assert done.status == "done"

    w.refresh_from_db()
    assert w.status == "closed" and w.decided_at is not None and w.decided_by is None
    assert list(pending_warnings_for(head)) == []
    # 我的工作 → 待我决定, and 仪表盘's 待我处理.
    assert decisions_for(head) == (0, [])
    assert f"/delay-warnings/{w.pk}/" not in english_client(head).get("/").content.decode()
    dashboard = english_client(head).get("/dashboard/").content.decode()
    assert f"/delay-warnings/{w.pk}/" not in dashboard
    # Recorded in the task's log, in words.
    assert log_lines(started, "delay_warning_closed") == ["待审批的延期预警已随任务关闭，无需再审批"]


def test_the_escalation_sweep_never_escalates_a_warning_of_a_closed_task(started, head, member, ceo):
    w = warned(started, member)
    accept(started, member, head)
    # Even a row left pending from before the rule (the migration closes those too).
    DelayWarning.objects.filter(pk=w.pk).update(status="pending")
    assert jobs.escalate_delay_warnings(at(2026, 3, 30)) == 0
    w.refresh_from_db()
    assert w.escalated_at is None
    assert not Notification.objects.filter(kind="delay_warning.escalated").exists()


@pytest.mark.parametrize("path", ["service", "web", "api"])
def test_cancelling_a_task_closes_its_pending_warning(started, head, member, path):
    w = warned(started, member)
    if path == "service":
        task_cancel(actor=head, task=fresh(started), reason="客户取消合作")
    elif path == "web":
        r = english_client(head).post(
            f"/tasks/{started.pk}/transition/", {"to": "cancelled", "note": "客户取消合作"}
        )
        assert r.status_code in (200, 302), r.content
    else:
        r = english_client(head).post(
            f"/api/v1/tasks/{started.pk}/transition",
            {"to": "cancelled", "note": "客户取消合作", "version": fresh(started).version},
            content_type="application/json",
        )
        assert r.status_code == 200, r.content
    assert fresh(started).status == "cancelled"
    w.refresh_from_db()
    assert w.status == "closed"
    assert list(pending_warnings_for(head)) == []


def test_an_import_that_cancels_the_task_closes_its_warning(tmp_path, started, head, member, sales):
    from closeloop.sheets.services import task_import_apply
    from closeloop.sheets.tests.conftest import HEADER, write_xlsx

    w = warned(started, member)
    t = fresh(started)
    row = [t.code, t.title, "项目型", "高", member.username, t.due_date, "", "已取消", ""]
    task_import_apply(actor=head, department=sales, path=write_xlsx(tmp_path / "t.xlsx", [HEADER, row]))
    assert fresh(started).status == "cancelled"
    w.refresh_from_db()
    assert w.status == "closed"


def test_the_warning_page_of_a_closed_task_says_so_and_offers_no_decision(started, head, member):
    w = warned(started, member)
    accept(started, member, head)
    web = english_client(head)
    page = web.get(f"/delay-warnings/{w.pk}/").content.decode()
    assert "The task is closed (Done): this delay warning needs no decision." in page
    assert "Closed with the task" in page
    assert 'value="approve"' not in page and 'value="reject"' not in page
    # Deciding anyway is refused, saying why, and changes nothing.
    for approve in (True, False):
        with pytest.raises(Conflict) as exc:
            delay_warning_decide(actor=head, warning=w, approve=approve, comment="不需要了")
        assert exc.value.code == "task_closed" and "needs no decision" in exc.value.message
    r = web.post(
        f"/api/v1/delay-warnings/{w.pk}/decision",
        {"approve": False, "comment": "x"},
        content_type="application/json",
    )
    assert r.status_code == 409 and r.json()["code"] == "task_closed"
    w.refresh_from_db()
    assert w.status == "closed" and w.decided_by is None


def test_a_warning_cannot_be_raised_on_a_closed_task(started, head, member):
    accept(started, member, head)
    with pytest.raises(Conflict):
        warned(started, member)


def test_the_log_says_whether_the_head_approved_or_rejected(started, head, member, sales):
    w = warned(started, member)
    delay_warning_decide(actor=head, warning=w, approve=False, comment="先推进合同", now=at(2026, 3, 20, 11))
    w2 = warned(started, member, when=at(2026, 3, 20, 12))
    delay_warning_decide(actor=head, warning=w2, approve=True, now=at(2026, 3, 20, 13))
    assert sorted(log_lines(started, "delay_warning_decided")) == ["王总批准了延期预警", "王总拒绝了延期预警"]


# -- the forecast of a closed task ------------------------------------------------------------


def behind(started, member):
    """Two slow updates: the forecast finishes after the due date, at risk."""
    update_post(actor=member, task=fresh(started), percent=5, now=at(2026, 3, 12, 17))
    update_post(actor=member, task=fresh(started), percent=10, now=at(2026, 3, 19, 17))
    fc = TaskForecast.objects.get(task=started)
    assert fc.at_risk and fc.forecast_date > started.due_date
    assert fresh(started).at_risk


def test_a_done_task_shows_no_forecast_and_is_not_at_risk(started, head, member):
    behind(started, member)
    done = accept(started, member, head)
    assert not done.at_risk
    assert not TaskForecast.objects.filter(task=started).exists()
    page = english_client(head).get(f"/tasks/{started.pk}/").content.decode()
    assert "Forecast finish" not in page and "At risk" not in page
    # The sweep finds nothing to bring back.
    jobs.forecast_sweep(at(2026, 3, 25))
    assert not fresh(started).at_risk and not TaskForecast.objects.filter(task=started).exists()
    # 仪表盘 counts no risk.
    r = english_client(head).get("/api/v1/dashboard")
    assert r.status_code == 200 and r.json()["at_risk"] == 0


def test_a_closed_tasks_stale_forecast_is_not_shown(started, head, member):
    """A forecast row kept from before the rule (the migration drops them) is not shown."""
    behind(started, member)
    task_cancel(actor=head, task=fresh(started), reason="客户取消合作")
    TaskForecast.objects.update_or_create(
        task=fresh(started),
        defaults={
            "forecast_date": dt.date(2026, 12, 5),
            "due_date": started.due_date,
            "judge_from": started.due_date,
            "at_risk": True,
            "reason": "behind",
            "computed_at": at(2026, 3, 20),
        },
    )
    page = english_client(head).get(f"/tasks/{started.pk}/").content.decode()
    assert "Forecast finish" not in page and "2026-12-05" not in page


def test_the_migration_closes_pending_warnings_and_forecasts_of_closed_tasks(started, head, member, sales):
    w = warned(started, member)
    behind(started, member)
    open_task = task_transition(
        actor=member,
        task=make_task(actor=head, department=sales, owner=member, due=dt.date(2026, 3, 31)),
        to="in_progress",
    )
    w_open = warned(open_task, member)
    # As a database from before the rule holds them: the task closed, the warning pending,
    # the forecast kept, the task's flag still set.
    Task.objects.filter(pk=started.pk).update(status="cancelled", at_risk=True, cancelled_at=at(2026, 3, 21))
    TaskEvent.objects.filter(verb="delay_warning_closed").delete()
    migration = importlib.import_module("closeloop.tracking.migrations.0004_close_warnings_of_closed_tasks")
    migration.close_pending(apps, None)

    w.refresh_from_db()
    w_open.refresh_from_db()
    assert (w.status, w.decided_at) == ("closed", at(2026, 3, 21))
    assert w_open.status == "pending"
    assert TaskEvent.objects.filter(task=started, verb="delay_warning_closed").count() == 1
    assert not TaskForecast.objects.filter(task=started).exists()
    assert not fresh(started).at_risk
    assert list(pending_warnings_for(head)) == [w_open]


# -- who is told that the warning closed with the task ----------------------------------------


def closed_notes(person):
    return list(Notification.objects.filter(recipient=person, kind="delay_warning.closed"))


def test_the_raiser_and_the_deciders_are_told_once_when_acceptance_closes_the_warning(
    started, head, deputy, member, outsider
):
    w = warned(started, member)
    accept(started, member, head)
    # Accepting again (a retried request) is refused and tells nobody a second time; so is a
    # close hook run twice for the task.
    with pytest.raises(Conflict):
        task_transition(actor=head, task=fresh(started), to="done")
    assert close_with_task(fresh(started), actor=head, status="done", now=at(2026, 3, 25)) == 0

    # The raiser (the owner) and the deputy it also waited on: one each, linking the task.
    for person in (member, deputy):
        (note,) = closed_notes(person)
        assert note.link == f"/tasks/{started.pk}/"
        en = note.render("en")
        assert en.title == (
            f"{fresh(started).full_code} 老用户召回活动 is done: its delay warning (to 2026-04-10) "
            "was closed with it"
        )
        assert en.body == "No decision is needed any more."
        zh = note.render("zh-hans")
        assert "已完成" in zh.title and "已随任务关闭" in zh.title and "2026-04-10" in zh.title
    # The head accepted the task: they closed it themselves and are not told. Nobody else is.
    assert closed_notes(head) == [] and closed_notes(outsider) == []
    assert Notification.objects.filter(kind="delay_warning.closed").count() == 2
    w.refresh_from_db()
    assert w.status == "closed"


def test_a_cancel_tells_the_raiser_and_the_one_it_was_escalated_to(started, head, deputy, member, ceo):
    w = warned(started, member)
    assert jobs.escalate_delay_warnings(at(2026, 3, 24)) == 1
    w.refresh_from_db()
    assert w.escalated_to == ceo
    r = english_client(deputy).post(
        f"/api/v1/tasks/{started.pk}/transition",
        {"to": "cancelled", "note": "客户取消合作", "version": fresh(started).version},
        content_type="application/json",
    )
    assert r.status_code == 200, r.content
    # The same request again (a client retrying): refused, nobody told twice.
    again = english_client(deputy).post(
        f"/api/v1/tasks/{started.pk}/transition",
        {"to": "cancelled", "note": "客户取消合作", "version": fresh(started).version},
        content_type="application/json",
    )
    assert again.status_code in (400, 409), again.content
    for person in (member, head, ceo):
        (note,) = closed_notes(person)
        assert (
            "was cancelled: its delay warning (to 2026-04-10) was closed with it" in note.render("en").title
        )
        assert "已取消" in note.render("zh-hans").title
    assert closed_notes(deputy) == []  # who cancelled
    # The owner reads it in their list of notifications; opening it leads to the task.
    web = english_client(member)
    page = web.get("/notifications/").content.decode()
    assert "was cancelled: its delay warning (to 2026-04-10) was closed with it" in page
    (note,) = closed_notes(member)
    assert f"/notifications/{note.pk}/open/" in page
    assert web.get(f"/notifications/{note.pk}/open/")["Location"] == f"/tasks/{started.pk}/"


def test_closing_a_task_without_a_pending_warning_tells_nobody(started, head, member):
    w = warned(started, member)
    delay_warning_decide(actor=head, warning=w, approve=False, comment="先推进合同", now=at(2026, 3, 20, 11))
    accept(started, member, head)
    assert not Notification.objects.filter(kind="delay_warning.closed").exists()


def test_cancelling_a_parent_closes_the_pending_warnings_of_the_subtasks_cancelled_with_it(
    started, head, member, sales
):
    """Cancelling a task cancels its open subtasks (`task_transition`); their pending delay
    warnings close with them, in one go (`close_with_tasks`), each raiser and decider told once."""
    subs = [
        task_transition(
            actor=member,
            task=make_task(
                actor=head,
                department=sales,
                owner=member,
                title=title,
                parent=fresh(started),
                start_date=dt.date(2026, 3, 2),
                due=dt.date(2026, 3, 31),
            ),
            to="in_progress",
        )
        for title in ("用户画像分析", "召回策略制定")
    ]
    warnings = [warned(sub, member) for sub in subs]
    moved = task_cancel(actor=head, task=fresh(started), reason="客户取消合作")
    assert [s.pk for s in moved.cancelled_subtasks] == [s.pk for s in subs]
    for w in warnings:
        w.refresh_from_db()
        assert w.status == "closed"
    assert list(pending_warnings_for(head)) == []
    assert not TaskForecast.objects.filter(task__in=subs).exists()
    assert len(closed_notes(member)) == 2  # one per warning, never the canceller
    assert closed_notes(head) == []
    for sub in subs:
        assert log_lines(sub, "delay_warning_closed")
