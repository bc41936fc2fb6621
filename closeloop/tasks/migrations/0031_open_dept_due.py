from django.conf import settings
from django.db import migrations, models


def analyze_index(apps, schema_editor):
    """As 0026: on a SQLite database with planner statistics, give the new index its own.
    PostgreSQL's autovacuum analyzes on its own."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE task_open_dept_due")


class Migration(migrations.Migration):
    """A department's open tasks by due date (`task_open_dept_due`): 仪表盘's and 周复盘's
    overdue lists read in due order, where PostgreSQL walked the due-date index of every
    department (issue 16, scale M)."""

    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0030_milestone_date_unindexed"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(
                    ("status__in", ["blocked", "in_progress", "not_started", "rework", "submitted"])
                ),
                fields=["department", "due_date", "id"],
                name="task_open_dept_due",
            ),
        ),
        migrations.RunPython(analyze_index, migrations.RunPython.noop, elidable=True),
    ]
