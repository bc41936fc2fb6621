"""Second step of 0020 (its own transaction: on PostgreSQL a table with rows just updated under a
deferred foreign key cannot be altered in the same one): the milestone's copy of its task's
department is required, and milestones are indexed by department and date."""

import django.db.models.deletion
from django.db import migrations, models


def analyze(apps, schema_editor):
    """As collab 0004: planner statistics for the new index where the database keeps them."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tasks_milestone")
        return
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE milestone_dept_date")


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0020_milestone_task_department"),
    ]

    operations = [
        migrations.AlterField(
            model_name="milestone",
            name="task_department",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="orgs.department",
            ),
        ),
        migrations.AddIndex(
            model_name="milestone",
            index=models.Index(fields=["task_department", "date", "id"], name="milestone_dept_date"),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop),
    ]
