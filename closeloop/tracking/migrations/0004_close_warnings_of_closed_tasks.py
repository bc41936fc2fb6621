"""Delay warnings still pending on tasks that are already closed (done or cancelled) — left
behind before `tracking.services.close_with_task` closed them with their task — are closed
now, each with a `delay_warning_closed` event in the task's log, so they leave everyone's
待我决定 and the escalation sweep. Closed tasks' forecasts are dropped and their at-risk flag
cleared: a closed task shows no forecast and is never at risk."""

from django.db import migrations
from django.db.models import OuterRef, Subquery
from django.db.models.functions import Coalesce, Now

CLOSED = ("done", "cancelled")


def close_pending(apps, schema_editor):
    DelayWarning = apps.get_model("tracking", "DelayWarning")
    TaskForecast = apps.get_model("tracking", "TaskForecast")
    Task = apps.get_model("tasks", "Task")
    TaskEvent = apps.get_model("tasks", "TaskEvent")
    stale = list(
        DelayWarning.objects.filter(status="pending", task__status__in=CLOSED)
        .order_by("id")
        .values_list("id", "task_id", "task__status")
    )
    for start in range(0, len(stale), 500):
        batch = stale[start : start + 500]
        ids = [pk for pk, _task, _status in batch]
        # Closed when the task closed, as the service records it.
        closed_at = Task.objects.filter(pk=OuterRef("task_id")).values(
            at=Coalesce("completed_at", "cancelled_at", Now())
        )
        DelayWarning.objects.filter(pk__in=ids, status="pending").update(
            status="closed", decided_at=Subquery(closed_at[:1])
        )
        TaskEvent.objects.bulk_create(
            [
                TaskEvent(
                    task_id=task_id,
                    actor=None,
                    verb="delay_warning_closed",
                    before={},
                    after={"warning": pk, "status": "closed", "task_status": status},
                    note="",
                )
                for pk, task_id, status in batch
            ]
        )
    TaskForecast.objects.filter(task__status__in=CLOSED).delete()
    Task.objects.filter(status__in=CLOSED, at_risk=True).update(at_risk=False)


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0003_delay_warning_closed_with_task"),
        ("tasks", "0025_task_last_update_day"),
    ]

    operations = [migrations.RunPython(close_pending, migrations.RunPython.noop)]
