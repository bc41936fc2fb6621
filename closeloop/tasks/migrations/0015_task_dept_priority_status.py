"""Who owes today's update: a department's tasks of one priority under way, as a range (issue 16)."""

from django.conf import settings
from django.db import migrations, models


def analyze(apps, schema_editor):
    """As 0012: planner statistics for the new index where the database keeps them."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tasks_task")
        return
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE task_dept_priority_status")


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0002_seed_work_calendar'),
        ('tasks', '0014_task_dept_done_time_covering'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['department', 'priority', 'status'], name='task_dept_priority_status'),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]
