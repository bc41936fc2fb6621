"""Periodic jobs of collaboration. Each takes `now`; running twice, or on two workers at
once, records and sends nothing twice.

- `escalate_issues`: every open issue whose next rung is due climbs the ladder, 500 issues
  per transaction (`services.issues_escalate_due`: conditional UPDATEs of the level, checked
  against the rungs already in the unique (issue, level) table, then rungs, events and
  notifications in bulk — a constant number of statements per batch).
- `send_sync_reminders`: on working days, 15 minutes before a plan's sync time, the contacts
  and the owner of each task with a daily or weekly plan are reminded (claimed per plan and
  day with `claim_slots`, in the transaction that queues the messages).
"""

import logging
from collections import defaultdict
from datetime import date, datetime, timedelta

from django.db import transaction
from django.db.models import Q

from closeloop.collab import schedule, services
from closeloop.collab.ladder import dept_tz
from closeloop.collab.models import Cadence, CommunicationPlan
from closeloop.core.jobs import claim_slots, register_periodic
from closeloop.notify.services import Message, notify_batch
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
    """Returns the number of plans whose people were reminded. The plans due now are claimed
    (`claim_slots`, per plan and day) and notified (`notify_batch`) in one transaction per
    day — the claims commit with the messages, and the worker calls jobs without a
    transaction, where claiming refuses to run."""
    plans = (
        CommunicationPlan.objects.filter(Q(cadence=Cadence.DAILY) | Q(cadence=Cadence.WEEKLY))
        .exclude(task__status__in=CLOSED_STATUSES)
        .select_related("task__department", "task__owner")
        .prefetch_related("contacts__contact")
    )
    due: dict[date, list[CommunicationPlan]] = defaultdict(list)
    for plan in plans:
        local = now.astimezone(dept_tz(plan.task.department))
        day = local.date()
        if not schedule.syncs_on(plan, day):
            continue
        at = datetime.combine(day, plan.sync_time, tzinfo=local.tzinfo)
        if at - REMIND_BEFORE <= local <= at:
            due[day].append(plan)
    sent = 0
    for day, todo in sorted(due.items()):
        with transaction.atomic():
            claimed = claim_slots(
                job="collab.sync_reminder", slot=day.isoformat(), scopes=[p.pk for p in todo]
            )
            messages = [
                Message(
                    recipients=[plan.task.owner, *(c.contact for c in plan.contacts.all())],
                    data={
                        "task": plan.task.pk,
                        "code": plan.task.full_code,
                        "title": plan.task.title,
                        "time": plan.sync_time.strftime("%H:%M"),
                        "note": schedule.describe(plan),
                    },
                    link=plan.task.get_absolute_url(),
                    department=plan.task.department,
                )
                for plan in todo
                if str(plan.pk) in claimed
            ]
            notify_batch(kind="collab.sync_reminder", messages=messages)
        sent += len(messages)
    return sent


def register() -> None:
    register_periodic("collab.escalate_issues", every=120, fn=escalate_issues)
    register_periodic("collab.sync_reminders", every=60, fn=send_sync_reminders)
