"""Periodic jobs of the tasks app, registered with the core worker."""

import logging
import zoneinfo
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction
from django.db.models import CharField, Exists, OuterRef, Value
from django.db.models.functions import Cast, Concat

from closeloop.core.jobs import register_periodic
from closeloop.notify.services import notify
from closeloop.orgs.models import Department
from closeloop.tasks.models import Task, TaskEvent

log = logging.getLogger("closeloop.tasks.jobs")

OVERDUE_BATCH = 500


def overdue_key(task_id: int, due: object) -> str:
    return f"overdue:{task_id}:{due}"


def mark_overdue(now: datetime) -> int:
    """Write one "became overdue" event per task and due date, at the department's midnight.

    The event's `dedupe_key` is unique in the database, so however many workers run this at
    the same moment, each (task, due date) gets exactly one event and one notification. A
    due date moved later and missed again is a new key, so it is marked again."""
    written = 0
    for dept in Department.objects.only("id", "time_zone", "code"):
        try:
            tz = zoneinfo.ZoneInfo(dept.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = zoneinfo.ZoneInfo("Asia/Shanghai")
        today = now.astimezone(tz).date()
        key = Concat(
            Value("overdue:"),
            Cast(OuterRef("pk"), CharField()),
            Value(":"),
            Cast(OuterRef("due_date"), CharField()),
            output_field=CharField(),
        )
        candidates = (
            Task.objects.overdue(today)
            .filter(department=dept)
            .exclude(Exists(TaskEvent.objects.filter(dedupe_key=key)))
            .select_related("owner", "department")
            .order_by("due_date", "id")[:OVERDUE_BATCH]
        )
        for task in candidates:
            try:
                with transaction.atomic():
                    TaskEvent.objects.create(
                        task=task,
                        actor=None,
                        verb="became_overdue",
                        after={"due_date": task.due_date.isoformat()},
                        dedupe_key=overdue_key(task.pk, task.due_date.isoformat()),
                    )
                    notify(
                        recipients=[task.owner],
                        kind="task.overdue",
                        data={
                            "task": task.pk,
                            "code": task.full_code,
                            "title": task.title,
                            "due": task.due_date.isoformat(),
                        },
                        link=task.get_absolute_url(),
                    )
            except IntegrityError:
                continue  # another worker wrote it first
            written += 1
    if written:
        log.info("marked %s task(s) overdue", written)
    return written


def create_recurring(now: datetime) -> int:
    """Create each recurring task's next instance `lead_days` ahead of its due date, exactly
    once: the (rule, occurrence) slot is claimed in the same transaction that creates the
    instance, so a second run, or a second worker at the same moment, creates nothing. An
    occurrence already past is not created late."""
    from closeloop.core.jobs import claim_slot
    from closeloop.tasks.models import RecurrenceRule
    from closeloop.tasks.services_plan import occurrences, recurrence_instantiate

    created = 0
    rules = RecurrenceRule.objects.filter(active=True).select_related("department").order_by("id")
    for rule in rules:
        try:
            tz = zoneinfo.ZoneInfo(rule.department.time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = zoneinfo.ZoneInfo("Asia/Shanghai")
        today = now.astimezone(tz).date()
        horizon = today + timedelta(days=rule.lead_days)
        for due in occurrences(rule, start=max(today, rule.starts_on), end=horizon):
            try:
                with transaction.atomic():
                    if claim_slot(job="tasks.recurrence", scope=rule.pk, slot=due.isoformat()) is None:
                        continue
                    if recurrence_instantiate(rule=rule, occurrence=due) is not None:
                        created += 1
            except IntegrityError:
                continue  # another worker created it first
            except Exception:
                log.exception("recurrence %s: could not create the instance due %s", rule.pk, due)
    if created:
        log.info("created %s recurring task instance(s)", created)
    return created


def register() -> None:
    register_periodic("tasks.mark_overdue", every=60, fn=mark_overdue)
    register_periodic("tasks.create_recurring", every=600, fn=create_recurring)
