"""Fills the task's copy of its forecast's flag (`Task.at_risk`, tasks 0024) from the stored
forecasts, then gives the planner statistics for the new partial index."""

from django.db import migrations


def backfill(apps, schema_editor):
    Task = apps.get_model("tasks", "Task")
    TaskForecast = apps.get_model("tracking", "TaskForecast")
    Task.objects.filter(at_risk=True).exclude(forecast__at_risk=True).update(at_risk=False)
    Task.objects.filter(pk__in=TaskForecast.objects.filter(at_risk=True).values("task_id")).update(
        at_risk=True
    )
    connection = schema_editor.connection
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute("ANALYZE tasks_task")
        elif connection.vendor == "sqlite":
            cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
            if cursor.fetchone():
                cursor.execute("ANALYZE task_at_risk")


class Migration(migrations.Migration):
    dependencies = [
        ("tracking", "0001_initial"),
        ("tasks", "0024_task_at_risk"),
    ]

    operations = [migrations.RunPython(backfill, migrations.RunPython.noop)]
