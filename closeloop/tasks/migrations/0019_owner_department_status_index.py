from django.conf import settings
from django.db import migrations, models


def analyze_widened_index(apps, schema_editor):
    """As 0009: on a SQLite database with planner statistics, give the rebuilt index its own
    (dropping the old one dropped them); PostgreSQL's autovacuum analyzes on its own."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE task_owner_dept")


class Migration(migrations.Migration):
    """task_owner_dept (owner, department) widened with status, due date and priority (and the
    id on PostgreSQL): the same ranges for who-sees-what, and 工作量's counts without the table."""

    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0018_board_column_index"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(model_name="task", name="task_owner_dept"),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=["owner", "department", "status", "due_date", "priority"],
                include=("id",),
                name="task_owner_dept",
            ),
        ),
        migrations.RunPython(analyze_widened_index, migrations.RunPython.noop, elidable=True),
    ]
