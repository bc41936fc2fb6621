from django.conf import settings
from django.db import migrations, models


def analyze_index(apps, schema_editor):
    """As 0026: on a SQLite database with planner statistics, give the rebuilt index its own
    (SQLite keeps no INCLUDE columns: the index is the one it had). PostgreSQL's autovacuum
    analyzes on its own."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE task_dept_status_due")


class Migration(migrations.Migration):
    """task_dept_status_due INCLUDEs the id on PostgreSQL: 日历 ranks the days' tasks of a
    person's departments from the index alone (`_days_and_first_tasks_pg`)."""

    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0028_milestone_task_cancelled"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="task",
            name="task_dept_status_due",
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["department", "status", "due_date", "priority"],
                include=["id"],
                name="task_dept_status_due",
            ),
        ),
        migrations.RunPython(analyze_index, migrations.RunPython.noop, elidable=True),
    ]
