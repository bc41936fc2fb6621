"""Periodic jobs of progress tracking. Each takes `now` and does each (job, department, day)
slot inside `run_slot`: the claim commits with the work, so running twice — or on two
workers at once — sends nothing twice, and a crash half-way loses nothing (the next tick
redoes the slot).

- `send_update_reminders`: at each department's end of day minus 15 minutes, on working days
  (make-up weekend days count, holidays don't): one digest per person listing all their owed
  updates (claimed per person and day), and one message in the department's group
  @-mentioning everyone who owes one.
- `send_due_soon`: from the start of each working day, a notice to the owner of every task
  due on the next working day; when it is not at 100 % and has no delay warning, the notice
  links to the delay-warning form (one `notify_batch` per department).
- `escalate_delay_warnings`: a warning still undecided one working day after it was raised
  goes to the head's superior (never one of a closed task: it was closed with the task).
- `forecast_sweep`: once a day per department, re-judges stored forecasts in a few UPDATE
  statements (a task becomes judgeable, goes stale, or its due date moved elsewhere).
"""

import logging
from collections import defaultdict
from datetime import datetime, timedelta

from django.db.models import Exists, F, OuterRef, Q
from django.urls import reverse

from closeloop.core.jobs import claim_slots, register_periodic, run_slot
from closeloop.core.models import JobRun
from closeloop.notify import services as notify_services
from closeloop.notify.services import Message
from closeloop.orgs.calendar import is_workday, next_workday
from closeloop.orgs.models import Department
from closeloop.tasks.models import Task
from closeloop.tasks.states import CLOSED_STATUSES, Status
from closeloop.tracking import cadence, forecast, selectors, services
from closeloop.tracking.models import DelayWarning, TaskForecast, WarningStatus

log = logging.getLogger("closeloop.tracking.jobs")


def _departments() -> list[Department]:
    return list(Department.objects.select_related("head", "deputy").order_by("id"))


def send_update_reminders(now: datetime) -> int:
    """Returns the number of people reminded. A constant number of queries per department
    that fires, whatever the number of people: the day's department slots already taken in
    one query, owed updates of every department in one, and per department its claim, the
    people's claims (`claim_slots`) and their digests (`notify_batch`) in a few statements."""
    departments = _departments()
    cadence.load_settings(departments)  # every department's reminder time in one query
    due = []
    for dept in departments:
        today = cadence.local_today(dept, now)
        if is_workday(today) and now >= cadence.reminder_time(dept, today):
            due.append((dept, today))
    if not due:
        return 0
    done = _done("tracking.update_reminder", [(dept.pk, today.isoformat()) for dept, today in due])
    firing = [dept for dept, today in due if (str(dept.pk), today.isoformat()) not in done]
    if not firing:
        return 0
    # Only what the messages show: at 200,000 tasks tens of thousands of rows owe an update.
    everyone = list(
        selectors.owed_tasks(departments=departments, now=now).only(
            "id", "code", "title", "department", "owner"
        )
    )
    by_owner: dict[int, list] = defaultdict(list)
    by_dept: dict[int, list] = defaultdict(list)
    for t in everyone:
        by_owner[t.owner_id].append(t)
        by_dept[t.department_id].append(t)
    link = reverse("tracking:today")
    reminded = 0
    for dept in firing:
        try:
            reminded += _remind_department(dept, now, by_dept[dept.pk], by_owner, link)
        except Exception:  # rolled back with its claim: the next tick tries again
            log.exception("update reminder of department %s failed", dept.pk)
    if reminded:
        log.info("reminded %s people to post their updates", reminded)
    return reminded


def _done(job: str, keys: list[tuple[int, str]]) -> set[tuple[str, str]]:
    """Which (scope, slot) of `keys` ran before, as strings, in one query."""
    return set(
        JobRun.objects.filter(
            job=job, scope__in={str(scope) for scope, _slot in keys}, slot__in={slot for _scope, slot in keys}
        ).values_list("scope", "slot")
    )


def _remind_department(dept, now, owed, by_owner, link) -> int:
    """One department's end-of-day reminder: the people who owe updates (`owed`: the
    department's owed tasks), each once a day whichever department reminds them first, and
    the department's group — claimed and queued in one transaction."""
    today = cadence.local_today(dept, now)
    with run_slot(job="tracking.update_reminder", scope=dept.pk, slot=today.isoformat()) as mine:
        if not mine or not owed:
            return 0
        people = selectors.owed_by_person(owed)
        # Someone reminded today by another department's reminder is not claimed again.
        claimed = claim_slots(
            job="tracking.update_reminder.person", slot=today.isoformat(), scopes=[p.pk for p, _t in people]
        )
        messages = []
        for person, _tasks in people:
            if str(person.pk) not in claimed:
                continue
            items = [{"task": t.pk, "code": t.full_code, "title": t.title} for t in by_owner[person.pk]]
            messages.append(
                Message(
                    recipients=[person],
                    data={"tasks": items, "count": len(items), "day": today.isoformat()},
                    link=link,
                )
            )
        notify_services.notify_batch(kind="update_reminder", messages=messages)
        notify_services.notify_group(
            department=dept,
            kind="update_reminder",
            data={
                "tasks": [
                    {"task": t.pk, "code": t.full_code, "title": t.title, "owner": t.owner.display_name}
                    for t in owed
                ],
                "count": len(owed),
                "people": [p.display_name for p, _t in people],
                "day": today.isoformat(),
                "department": dept.name,
            },
            link=link,
            mentions=[p for p, _t in people],
        )
    return len(messages)


def send_due_soon(now: datetime) -> int:
    sent = 0
    for dept in _departments():
        local = cadence.local_now(dept, now)
        today = local.date()
        if not is_workday(today) or local.time() < dept.workday_start:
            continue
        try:
            with run_slot(job="tracking.due_soon", scope=dept.pk, slot=today.isoformat()) as mine:
                if mine:
                    sent += _due_soon_department(dept, today)
        except Exception:  # rolled back with its claim: the next tick tries again
            log.exception("due-soon reminder of department %s failed", dept.pk)
    return sent


def _due_soon_department(dept, today) -> int:
    horizon = next_workday(today)
    warned = Exists(
        DelayWarning.objects.filter(
            task_id=OuterRef("pk"), status__in=[WarningStatus.PENDING, WarningStatus.APPROVED]
        )
    )
    tasks = (
        Task.objects.filter(department=dept, due_date__gt=today, due_date__lte=horizon)
        .exclude(status__in=[*CLOSED_STATUSES, Status.SUBMITTED])
        .annotate(warned=warned)
        .select_related("department", "owner")
    )
    messages = []
    for task in tasks:
        prompt = task.progress < 100 and not task.warned
        link = reverse("tracking:warning_new", args=[task.pk]) if prompt else task.get_absolute_url()
        messages.append(
            Message(
                recipients=[task.owner],
                data={
                    "task": task.pk,
                    "code": task.full_code,
                    "title": task.title,
                    "due": task.due_date.isoformat(),
                    "progress": task.progress,
                    "prompt_warning": prompt,
                },
                link=link,
            )
        )
    notify_services.notify_batch(kind="due_soon", messages=messages)
    return len(messages)


def escalate_delay_warnings(now: datetime) -> int:
    due = (
        DelayWarning.objects.filter(
            status=WarningStatus.PENDING, escalated_at__isnull=True, decide_by__lte=now
        )
        # A warning of a closed task is closed with it (`services.close_with_task`); never
        # escalate one, even a row from before that rule.
        .exclude(task__status__in=CLOSED_STATUSES)
        .select_related(
            "task", "task__department", "task__department__head", "task__department__parent__head"
        )
        .order_by("decide_by", "id")[:500]
    )
    return sum(1 for w in due if services.delay_warning_escalate(warning=w, now=now))


def forecast_sweep(now: datetime) -> int:
    """Re-judge stored forecasts in SQL; never reads update history. Returns rows changed."""
    changed = 0
    for dept in _departments():
        today = cadence.local_today(dept, now)
        try:
            with run_slot(job="tracking.forecast_sweep", scope=dept.pk, slot=today.isoformat()) as mine:
                if mine:
                    changed += _sweep_department(dept, today, now)
        except Exception:  # rolled back with its claim: the next tick tries again
            log.exception("forecast sweep of department %s failed", dept.pk)
    return changed


def _sweep_department(dept, today, now) -> int:
    changed = 0
    mine = TaskForecast.objects.filter(task__department_id=dept.pk)
    # Due dates moved outside tracking (a head's edit): recompute those few in full.
    for task in (
        Task.objects.filter(department=dept, forecast__isnull=False)
        .exclude(forecast__due_date=F("due_date"))
        .select_related("department")
    ):
        services.forecast_refresh(task=task, now=now)
        changed += 1
    # A closed task has no forecast (`services.close_with_task` drops it when the task closes).
    changed += mine.filter(task__status__in=CLOSED_STATUSES).delete()[0]
    open_rows = mine.exclude(task__status__in=CLOSED_STATUSES).filter(
        judge_from__lte=today, last_percent__lt=100
    )
    stale = today - timedelta(days=forecast.STALE_DAYS - 1)
    changed += (
        open_rows.filter(Q(forecast_date__isnull=True) | Q(last_day__lt=stale))
        .exclude(at_risk=True, reason="stalled")
        .update(at_risk=True, reason="stalled")
    )
    changed += open_rows.filter(at_risk=False, forecast_date__gt=F("due_date"), last_day__gte=stale).update(
        at_risk=True, reason="behind"
    )
    changed += open_rows.filter(at_risk=True, forecast_date__lt=F("due_date"), last_day__gte=stale).update(
        at_risk=False, reason="on_track"
    )
    changed += open_rows.filter(reason="too_early").update(reason="on_track")
    services.sync_at_risk(Task.objects.filter(department_id=dept.pk))
    return changed


def register() -> None:
    register_periodic("tracking.update_reminders", every=60, fn=send_update_reminders)
    register_periodic("tracking.due_soon", every=300, fn=send_due_soon)
    register_periodic("tracking.escalate_delay_warnings", every=300, fn=escalate_delay_warnings)
    register_periodic("tracking.forecast_sweep", every=600, fn=forecast_sweep)
