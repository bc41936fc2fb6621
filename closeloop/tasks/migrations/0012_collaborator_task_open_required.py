"""Second step of 0011 (its own transaction: on PostgreSQL a table with rows just updated under
a deferred foreign key cannot be altered in the same one): the link's copy of its task's
department and state is required, and the open links are indexed by person and department."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


def analyze(apps, schema_editor):
    """As 0009: on a SQLite database with planner statistics, give the new index its own; on
    PostgreSQL the links' statistics after 0011 rewrote every row (autovacuum would, later)."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE tasks_taskcollaborator")
        return
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE collab_user_open_dept")


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0011_collaborator_task_open"),
    ]

    operations = [
        migrations.AlterField(
            model_name="taskcollaborator",
            name="task_department",
            field=models.ForeignKey(
                db_index=False,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="orgs.department",
            ),
        ),
        migrations.AlterField(
            model_name="taskcollaborator",
            name="task_open",
            field=models.BooleanField(),
        ),
        migrations.AddIndex(
            model_name="taskcollaborator",
            index=models.Index(
                condition=models.Q(("task_open", True)),
                fields=["user", "task_department"],
                name="collab_user_open_dept",
            ),
        ),
        migrations.RunPython(analyze, migrations.RunPython.noop, elidable=True),
    ]
