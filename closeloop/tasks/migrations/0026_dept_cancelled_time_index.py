from django.conf import settings
from django.db import migrations, models


def analyze_new_index(apps, schema_editor):
    """As 0019: on a SQLite database with planner statistics, give the new index its own;
    PostgreSQL's autovacuum analyzes on its own."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE task_dept_cancelled_time")


class Migration(migrations.Migration):
    """task_dept_cancelled_time: a department's tasks cancelled in a time window, for 周复盘 of a
    past week (the tasks open at its end and cancelled since), as task_dept_done_time is for
    the done ones."""

    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0025_task_last_update_day"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(("status", "cancelled")),
                fields=["department", "cancelled_at"],
                name="task_dept_cancelled_time",
            ),
        ),
        migrations.RunPython(analyze_new_index, migrations.RunPython.noop, elidable=True),
    ]
