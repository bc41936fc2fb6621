"""Second step of 0003 (its own transaction: on PostgreSQL a table with rows just updated under
a deferred foreign key cannot be altered in the same one): the issue's copy of its task's
department is required, and the open issues are indexed by department and level."""

import django.db.models.deletion
from django.db import migrations, models


def analyze(apps, schema_editor):
    """As tasks 0012: planner statistics for the new index where the database keeps them."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE collab_issue")
        return
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE issue_open_dept_level")


class Migration(migrations.Migration):
    dependencies = [
        ("collab", "0003_issue_task_department"),
        ("orgs", "0002_seed_work_calendar"),
    ]

    operations = [
        migrations.AlterField(
            model_name="issue",
            name="task_department",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="orgs.department",
            ),
        ),
        migrations.AddIndex(
            model_name="issue",
            index=models.Index(
                condition=models.Q(("status", "open")),
                fields=["task_department", "level"],
                name="issue_open_dept_level",
            ),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]
