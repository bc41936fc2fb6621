from django.conf import settings
from django.db import migrations, models


def settle_index(apps, schema_editor):
    """PostgreSQL: build the index again from its own catalog definition, once. Created from
    Django's `status IN (…)`, PostgreSQL stores the list as `ARRAY[…]::text[]`, which it reads
    back as an array of casts: an index rebuilt from `pg_indexes.indexdef` (as bench.generate
    rebuilds them after a load, comparing the schema before and after) differs in text from
    the one migrated. Rebuilt once, the definition reads back as itself. The planner uses both
    forms alike. SQLite, with planner statistics: as 0026, give the new index its own
    (PostgreSQL's autovacuum analyzes on its own)."""
    connection = schema_editor.connection
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT indexdef FROM pg_indexes WHERE indexname = 'task_open_dept_due'")
            row = cursor.fetchone()
            if row:
                cursor.execute("DROP INDEX task_open_dept_due")
                cursor.execute(row[0])
        return
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
        migrations.RunPython(settle_index, migrations.RunPython.noop, elidable=True),
    ]
