"""`Task.last_update_day`: the day of the task's latest daily update, filled from the updates
stored, and the owed-update index widened with it and `next_child_number` (issue 16)."""

from django.conf import settings
from django.db import migrations, models

BACKFILL = """
UPDATE tasks_task SET last_update_day = (
    SELECT MAX(u.day) FROM tracking_progressupdate u WHERE u.task_id = tasks_task.id
) WHERE EXISTS (SELECT 1 FROM tracking_progressupdate u WHERE u.task_id = tasks_task.id)
"""


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0024_task_at_risk"),
        ("tracking", "0002_task_at_risk_backfill"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name="task",
            name="task_dept_priority_status",
        ),
        migrations.AddField(
            model_name="task",
            name="last_update_day",
            field=models.DateField(blank=True, editable=False, null=True, verbose_name="last update"),
        ),
        migrations.RunSQL(BACKFILL, migrations.RunSQL.noop),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                fields=[
                    "department",
                    "priority",
                    "status",
                    "owner",
                    "due_date",
                    "last_update_day",
                    "next_child_number",
                ],
                include=("id",),
                name="task_dept_priority_status",
            ),
        ),
    ]
