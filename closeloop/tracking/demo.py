"""Demo data of progress tracking, on top of the tasks of `closeloop.demo.loader` (call
`seed_demo()` after it). Two weeks of updates, an approved on-time delay warning and a late one
awaiting the head's decision, a blocked task with its blocker, an at-risk task, and a ready
weekly review, so 仪表盘 and 周复盘 are full on first look. Idempotent: does nothing once the
demo department has updates. Everything goes through the real services, each step at the
moment it happened (`core.democlock.at`): an update at 17:30 on the day it reports, so the
activity log shows it then, and a percent that only grows."""

import datetime as dt
import logging

from django.db import transaction
from django.utils import timezone

from closeloop.core.democlock import at
from closeloop.orgs.calendar import add_workdays, is_workday
from closeloop.orgs.models import Department, User
from closeloop.tasks.models import Task
from closeloop.tasks.states import CLOSED_STATUSES, Status
from closeloop.tracking import cadence, services
from closeloop.tracking.models import ProgressUpdate

log = logging.getLogger("closeloop.demo")


def _task(dept: Department, code: str) -> Task | None:
    return Task.objects.select_related("department", "owner").filter(department=dept, code=code).first()


def _history(task: Task, points: list[tuple[int, int, str, str]], today: dt.date) -> None:
    """(days ago, percent, state, blocker) on working days, as posted at 17:30 that day."""
    for ago, percent, state, blocker in points:
        day = today - dt.timedelta(days=ago)
        if not is_workday(day):
            continue
        current = Task.objects.select_related("department", "owner").get(pk=task.pk)
        if current.status in CLOSED_STATUSES or current.status == Status.SUBMITTED:
            return
        if current.start_date and day < current.start_date:
            continue
        when = cadence.at_local(current.department, day, dt.time(17, 30))
        with at(when):
            services.update_post(
                actor=current.owner,
                task=current,
                percent=percent,
                state=state,
                blocker=blocker,
                # No filler note: the percent and the state say it in the reader's language
                # (a typed 今日推进 read as Chinese to an English reader); notes are people's words.
                note="",
                now=when,
            )


def last_review_due(department: Department, now: dt.datetime) -> tuple[dt.date, dt.datetime]:
    """(week start, moment) of the department's latest weekly review whose posting time on its
    review day (default Friday 16:00) is not after `now`."""
    settings = cadence.settings_for(department)
    week = cadence.week_start(cadence.local_today(department, now))
    for _ in range(8):
        day = cadence.review_day(week, settings.review_weekday)
        if day is not None:
            moment = cadence.at_local(department, day, settings.weekly_review_at)
            if moment <= now:
                return week, moment
        week -= dt.timedelta(days=7)
    return week, now


def seed_demo() -> bool:
    sales = Department.objects.filter(code="SALES").first()
    if sales is None or ProgressUpdate.objects.filter(task__department=sales).exists():
        return False
    head = User.objects.filter(username="sales_head").first()
    now = timezone.now()
    today = cadence.local_today(sales, now)
    with transaction.atomic():
        # T004 跟进B客户签约进度: steady updates from its start date, then a late warning (past due),
        # awaiting the head's decision.
        t004 = _task(sales, "T004")
        if t004:
            _history(t004, [(10 - i, 8 + 7 * i, "in_progress", "") for i in range(10)], today)
            t004 = _task(sales, "T004")
            if t004 and t004.is_open:
                services.delay_warning_raise(
                    actor=t004.owner,
                    task=t004,
                    reason="dependency",
                    explanation="B客户法务仍在审合同条款,预计下周回传",
                    new_due_date=add_workdays(today, 3),
                    now=now,
                )
        # T001-2 召回策略制定: steady progress, an on-time warning approved by the head.
        t0012 = _task(sales, "T001-2")
        if t0012:
            _history(
                t0012,
                [
                    (5, 10, "in_progress", ""),
                    (4, 18, "in_progress", ""),
                    (3, 26, "in_progress", ""),
                    (2, 33, "in_progress", ""),
                    (1, 40, "in_progress", ""),
                ],
                today,
            )
            t0012 = _task(sales, "T001-2")
            if t0012 and t0012.is_open and head is not None:
                raised = now - dt.timedelta(days=2)
                with at(raised):
                    w = services.delay_warning_raise(
                        actor=t0012.owner,
                        task=t0012,
                        reason="requirements",
                        explanation="市场部新增了分层召回的要求",
                        new_due_date=max(t0012.due_date + dt.timedelta(days=2), today),
                        now=raised,
                    )
                with at(raised + dt.timedelta(hours=3)):
                    services.delay_warning_decide(
                        actor=head,
                        warning=w,
                        approve=True,
                        comment="同意,注意同步市场部",
                        now=raised + dt.timedelta(hours=3),
                    )
        # T003 客户需求调研: slow recent progress → forecast after the due date → at risk.
        t003 = _task(sales, "T003")
        if t003:
            _history(
                t003,
                [
                    (6, 10, "in_progress", ""),
                    (5, 40, "in_progress", ""),
                    (4, 43, "in_progress", ""),
                    (3, 45, "in_progress", ""),
                    (2, 47, "in_progress", ""),
                    (1, 48, "in_progress", ""),
                ],
                today,
            )
        # T005 筹备下周产品推介会: blocked since the afternoon it started, waiting on marketing
        # (the loader blocks it; every update since says so).
        t005 = _task(sales, "T005")
        if t005:
            _history(
                t005,
                [
                    (3, 10, "blocked", "等待市场部提供推广物料"),
                    (2, 15, "blocked", "等待市场部提供推广物料"),
                    (1, 15, "blocked", "等待市场部提供推广物料"),
                ],
                today,
            )
        for t in (
            Task.objects.filter(department=sales)
            .exclude(status__in=CLOSED_STATUSES)
            .select_related("department")
        ):
            if ProgressUpdate.objects.filter(task=t).exists():
                services.forecast_refresh(task=t, now=now)
        # The last review that is due by now, ready and posted at its time on its review day
        # (this week's once Friday 16:00 has passed, else last week's): its "sent" time is
        # never before its review day.
        from closeloop.insights.services import weekly_review_notes_save, weekly_review_ready

        week, posted = last_review_due(sales, now)
        weekly_review_ready(department=sales, week_start=week, now=posted)
        if head is not None:
            weekly_review_notes_save(
                actor=head,
                department=sales,
                week_start=week,
                notes="1. T004 等B客户法务回传,下周一跟进\n2. T005 推介会物料请市场部周三前提供",
            )
    log.info("tracking demo: updates, delay warnings, forecasts and the weekly review loaded")
    return True
