"""On SQLite, the task list's department-and-path index also carries the status and the
priority (issue 16): a filtered walk in path order — the API's bulk read of a department's
open tasks of one priority — then checks each task in the index and reads the table only for
the rows it keeps. Bench s5 (a department's 20,000 tasks, 2,052 kept): 14 → 8.5 ms; it read
all 20,000 rows. The same name and leading columns, so every statement that walked the index
walks it as before (plans compared for the list, board, workload, 我的工作, 仪表盘, 周复盘, 日历).

SQLite only, so the models keep describing the index as `(department, path) INCLUDE (id)`:
on PostgreSQL the wider index made the planner take it, in parallel, for 仪表盘's missing
updates (7.7 → 8.6 ms, a worker started per request) while the bulk read kept its bitmap
scan, so there it gains nothing. A database with planner statistics gets this index's (as
0009 did). A later migration that makes Django rebuild the tasks table on SQLite rebuilds the
index from the models, narrow: widen it again there (`test_api_bulk` checks the columns)."""

from django.db import migrations

WIDE = 'CREATE INDEX "task_dept_path" ON "tasks_task" ("department_id", "path", "status", "priority")'
NARROW = 'CREATE INDEX "task_dept_path" ON "tasks_task" ("department_id", "path")'


def _recreate(schema_editor, create: str) -> None:
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute('DROP INDEX IF EXISTS "task_dept_path"')
        cursor.execute(create)
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute('ANALYZE "task_dept_path"')


def widen(apps, schema_editor):
    _recreate(schema_editor, WIDE)


def narrow(apps, schema_editor):
    _recreate(schema_editor, NARROW)


class Migration(migrations.Migration):
    dependencies = [
        ("tasks", "0021_milestone_task_department_required"),
    ]

    operations = [
        migrations.RunPython(widen, narrow),
    ]
