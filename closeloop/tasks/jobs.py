"""Periodic jobs of the tasks app, registered with the core worker."""

import logging
import zoneinfo
from datetime import datetime

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


def register() -> None:
    register_periodic("tasks.mark_overdue", every=60, fn=mark_overdue)
