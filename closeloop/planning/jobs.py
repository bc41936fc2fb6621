"""Periodic jobs of the planning app, registered with the core worker. The job keeps the name
it had in tasks (`tasks.create_recurring`, slots `tasks.recurrence`) so a running worker's
schedule and the slots it already claimed carry over."""

import logging
import zoneinfo
from datetime import datetime, timedelta

from django.db import IntegrityError, transaction

from closeloop.core.jobs import claim_slot, register_periodic
from closeloop.planning.services.recurrence import occurrences, recurrence_instantiate
from closeloop.tasks.models import RecurrenceRule

log = logging.getLogger("closeloop.planning.jobs")


def create_recurring(now: datetime) -> int:
    """Create each recurring task's next instance `lead_days` ahead of its due date, exactly
    once: the (rule, occurrence) slot is claimed in the same transaction that creates the
    instance, so a second run, or a second worker at the same moment, creates nothing. An
    occurrence already past is not created late."""

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
    register_periodic("tasks.create_recurring", every=600, fn=create_recurring)
