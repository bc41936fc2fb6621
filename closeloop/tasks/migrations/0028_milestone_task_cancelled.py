from django.conf import settings
from django.db import migrations, models


def copy_cancelled(apps, schema_editor):
    """The milestones of tasks already cancelled (closed is final: no other change follows)."""
    Milestone = apps.get_model("tasks", "Milestone")
    Task = apps.get_model("tasks", "Task")
    Milestone.objects.filter(task_id__in=Task.objects.filter(status="cancelled").values("id")).update(
        task_cancelled=True
    )


def analyze_new_index(apps, schema_editor):
    """As 0019: on a SQLite database with planner statistics, give the new index its own;
    PostgreSQL's autovacuum analyzes on its own."""
    connection = schema_editor.connection
    if connection.vendor != "sqlite":
        return
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'sqlite_stat1'")
        if cursor.fetchone():
            cursor.execute("ANALYZE milestone_shown_dept_date")


class Migration(migrations.Migration):
    """Milestone.task_cancelled, a copy of "the task is cancelled", and 日历's index of the
    milestones shown (those of tasks not cancelled) by department and date: the calendar ranks
    each day's first milestones from the index alone, without looking each one's task up."""

    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0027_calendar_priority_in_dept_status_due"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="milestone",
            name="task_cancelled",
            field=models.BooleanField(db_default=False, default=False),
        ),
        migrations.RunPython(copy_cancelled, migrations.RunPython.noop),
        migrations.RemoveIndex(
            model_name="milestone",
            name="milestone_dept_date",
        ),
        migrations.AddIndex(
            model_name="milestone",
            index=models.Index(
                condition=models.Q(("task_cancelled", False)),
                fields=["task_department", "date", "id"],
                name="milestone_shown_dept_date",
            ),
        ),
        migrations.RunPython(analyze_new_index, migrations.RunPython.noop, elidable=True),
    ]
