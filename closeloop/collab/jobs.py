"""Periodic jobs of collaboration. Each takes `now`; running twice, or on two workers at
once, records and sends nothing twice.

- `escalate_issues`: every open issue whose next rung is due climbs the ladder, 500 issues
  per transaction (`services.issues_escalate_due`: conditional UPDATEs of the level, checked
  against the rungs already in the unique (issue, level) table, then rungs, events and
  notifications in bulk — a constant number of statements per batch).
- `send_sync_reminders`: on working days, 15 minutes before a plan's sync time, the contacts
  and the owner of each task with a daily or weekly plan are reminded (claimed per plan and
  day with `claim_slot`).
"""

import logging
from datetime import datetime, timedelta

from django.db.models import Q

from closeloop.collab import schedule, services
from closeloop.collab.ladder import dept_tz
from closeloop.collab.models import Cadence, CommunicationPlan
from closeloop.core.jobs import claim_slot, register_periodic
from closeloop.notify.services import notify
from closeloop.tasks.states import CLOSED_STATUSES

log = logging.getLogger("closeloop.collab.jobs")

BATCH = 500
# A bound on one run (500,000 issues); the next run goes on where this one stopped.
MAX_BATCHES = 1000
REMIND_BEFORE = timedelta(minutes=15)


def escalate_issues(now: datetime) -> int:
    """Returns the number of rungs recorded. Reads only open issues whose time has come
    (a partial index), in batches of `BATCH`, one transaction each."""
    recorded = 0
    for _batch in range(MAX_BATCHES):
        read, done = services.issues_escalate_due(now=now, limit=BATCH)
        recorded += done
        if read < BATCH:
            break
    if recorded:
        log.info("escalated %s issue rung(s)", recorded)
    return recorded


def send_sync_reminders(now: datetime) -> int:
    sent = 0
    plans = (
        CommunicationPlan.objects.filter(Q(cadence=Cadence.DAILY) | Q(cadence=Cadence.WEEKLY))
        .exclude(task__status__in=CLOSED_STATUSES)
        .select_related("task__department", "task__owner")
        .prefetch_related("contacts__contact")
    )
    for plan in plans:
        task = plan.task
        local = now.astimezone(dept_tz(task.department))
        day = local.date()
        if not schedule.syncs_on(plan, day):
            continue
        at = datetime.combine(day, plan.sync_time, tzinfo=local.tzinfo)
        if not (at - REMIND_BEFORE <= local <= at):
            continue
        if claim_slot(job="collab.sync_reminder", scope=plan.pk, slot=day.isoformat()) is None:
            continue
        notify(
            recipients=[task.owner, *(c.contact for c in plan.contacts.all())],
            kind="collab.sync_reminder",
            data={
                "task": task.pk,
                "code": task.full_code,
                "title": task.title,
                "time": plan.sync_time.strftime("%H:%M"),
                "note": schedule.describe(plan),
            },
            link=task.get_absolute_url(),
            department=task.department,
        )
        sent += 1
    return sent


def register() -> None:
    register_periodic("collab.escalate_issues", every=120, fn=escalate_issues)
    register_periodic("collab.sync_reminders", every=60, fn=send_sync_reminders)
