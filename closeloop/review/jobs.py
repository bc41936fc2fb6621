"""Periodic job of review: remind the owner of a done task that needs a retrospective
(project-type by default, a department setting) and has none N working days after
completion. Claims (job, task, "once") so running twice, or on two workers, reminds once."""

import zoneinfo
from datetime import datetime, timedelta

from django.db import transaction
from django.db.models import Exists, OuterRef
from django.utils import timezone

from closeloop.core.jobs import claim_slot, register_periodic
from closeloop.notify.services import notify
from closeloop.orgs.calendar import add_workdays, is_workday
from closeloop.orgs.models import Department
from closeloop.review.models import Retrospective, ReviewPolicy, default_required_types
from closeloop.tasks.models import Task
from closeloop.tasks.states import Status

LOOKBACK_DAYS = 60


def remind_missing_retrospectives(now: datetime) -> int:
    """Returns the number of reminders queued."""
    policies = {p.department_id: p for p in ReviewPolicy.objects.all()}
    sent = 0
    for dept in Department.objects.order_by("id"):
        policy = policies.get(dept.pk)
        types = policy.retro_required_types if policy else default_required_types()
        days = policy.retro_reminder_workdays if policy else 3
        if not types:
            continue
        try:
            tz = zoneinfo.ZoneInfo(dept.time_zone or "Asia/Shanghai")
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            tz = zoneinfo.ZoneInfo("Asia/Shanghai")
        today = timezone.localtime(now, tz).date()
        if not is_workday(today):
            continue
        # Done on or before this day: N working days have passed since.
        cutoff = add_workdays(today, -days)
        due = (
            Task.objects.filter(
                department=dept,
                parent__isnull=True,
                status=Status.DONE,
                task_type__in=types,
                completed_at__lt=datetime.combine(cutoff + timedelta(days=1), datetime.min.time(), tzinfo=tz),
                completed_at__gte=now - timedelta(days=LOOKBACK_DAYS),
            )
            .exclude(Exists(Retrospective.objects.filter(task=OuterRef("pk"))))
            .select_related("owner", "department")
        )
        for task in due:
            # The claim commits with the notification (claim_slot refuses to run outside a
            # transaction; the worker calls jobs without one).
            with transaction.atomic():
                if claim_slot(job="review.retro_reminder", scope=task.pk, slot="once") is None:
                    continue
                notify(
                    recipients=[task.owner],
                    kind="review.retrospective_due",
                    data={"task": task.pk, "code": task.full_code, "title": task.title},
                    link=task.get_absolute_url() + "#retrospective",
                )
            sent += 1
    return sent


def register() -> None:
    register_periodic("review.retro_reminders", every=900, fn=remind_missing_retrospectives)
