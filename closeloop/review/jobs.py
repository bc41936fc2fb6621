"""Periodic jobs of review: drop the files kept for submit forms that were never sent
(`drop_stale_staged_uploads`); remind the owner of a done task that needs a retrospective
(project-type by default, a department setting) and has none N working days after
completion. Claims (job, task, "once") so running twice, or on two workers, reminds once.

One query reads what is due in every department (tasks reminded before are left out by the
query), then each batch of `BATCH` tasks is claimed (`claim_slots`) and notified
(`notify_batch`) in one transaction: a constant number of queries per batch however many
tasks and departments."""

import zoneinfo
from datetime import datetime, timedelta
from functools import reduce
from operator import or_

from django.db import transaction
from django.db.models import CharField, Exists, OuterRef, Q
from django.db.models.functions import Cast
from django.utils import timezone

from closeloop.core.jobs import claim_slots, register_periodic
from closeloop.core.models import JobRun
from closeloop.notify.services import Message, notify_batch
from closeloop.orgs.calendar import add_workdays, is_workday
from closeloop.orgs.models import Department
from closeloop.review.models import Retrospective, ReviewPolicy, default_required_types
from closeloop.tasks.models import Task
from closeloop.tasks.states import Status

LOOKBACK_DAYS = 60
JOB = "review.retro_reminder"
BATCH = 500


def _due_clause(dept: Department, policy: ReviewPolicy | None, now: datetime) -> Q | None:
    """The department's done top-level tasks whose retrospective is due by `now`, or None
    when none can be today (no required types, or not a working day there)."""
    types = policy.retro_required_types if policy else default_required_types()
    days = policy.retro_reminder_workdays if policy else 3
    if not types:
        return None
    try:
        tz = zoneinfo.ZoneInfo(dept.time_zone or "Asia/Shanghai")
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        tz = zoneinfo.ZoneInfo("Asia/Shanghai")
    today = timezone.localtime(now, tz).date()
    if not is_workday(today):
        return None
    # Done on or before this day: N working days have passed since.
    cutoff = add_workdays(today, -days)
    return Q(
        department=dept,
        task_type__in=types,
        completed_at__lt=datetime.combine(cutoff + timedelta(days=1), datetime.min.time(), tzinfo=tz),
    )


def remind_missing_retrospectives(now: datetime) -> int:
    """Returns the number of reminders queued."""
    policies = {p.department_id: p for p in ReviewPolicy.objects.all()}
    clauses = [
        c
        for dept in Department.objects.order_by("id")
        if (c := _due_clause(dept, policies.get(dept.pk), now)) is not None
    ]
    if not clauses:
        return 0
    reminded = JobRun.objects.filter(job=JOB, slot="once", scope=Cast(OuterRef("pk"), CharField()))
    due = list(
        Task.objects.filter(
            reduce(or_, clauses),
            parent__isnull=True,
            status=Status.DONE,
            completed_at__gte=now - timedelta(days=LOOKBACK_DAYS),
        )
        .exclude(Exists(Retrospective.objects.filter(task=OuterRef("pk"))))
        .exclude(Exists(reminded))
        .select_related("owner", "department")
        .order_by("department_id", "id")
    )
    sent = 0
    for start in range(0, len(due), BATCH):
        batch = due[start : start + BATCH]
        # The claims commit with the notifications (claim_slots refuses to run outside a
        # transaction; the worker calls jobs without one).
        with transaction.atomic():
            claimed = claim_slots(job=JOB, slot="once", scopes=[t.pk for t in batch])
            messages = [
                Message(
                    recipients=[task.owner],
                    data={"task": task.pk, "code": task.full_code, "title": task.title},
                    link=task.get_absolute_url() + "#retrospective",
                )
                for task in batch
                if str(task.pk) in claimed
            ]
            notify_batch(kind="review.retrospective_due", messages=messages)
        sent += len(messages)
    return sent


def drop_stale_staged_uploads(now: datetime) -> int:
    """Delete the files kept for a submit form (`StagedUpload`) that nobody submitted within
    `STAGED_UPLOAD_HOURS`, row and stored file; returns how many. A row whose file cannot be
    deleted now (the storage not answering) stays for the next run. Safe to run twice at once:
    a row is deleted by whoever deletes it first, and deleting a missing file is no error."""
    from closeloop.review.files import STORAGE_ERRORS
    from closeloop.review.models import STAGED_UPLOAD_HOURS, StagedUpload, deliverable_storage

    storage = deliverable_storage()
    dropped = 0
    stale = StagedUpload.objects.filter(created_at__lt=now - timedelta(hours=STAGED_UPLOAD_HOURS))
    for pk, name in stale.order_by("id").values_list("id", "file")[:BATCH]:
        try:
            storage.delete(name)
        except STORAGE_ERRORS:
            continue
        dropped += StagedUpload.objects.filter(pk=pk).delete()[0]
    return dropped


def register() -> None:
    register_periodic("review.retro_reminders", every=900, fn=remind_missing_retrospectives)
    register_periodic("review.staged_uploads", every=3600, fn=drop_stale_staged_uploads)
