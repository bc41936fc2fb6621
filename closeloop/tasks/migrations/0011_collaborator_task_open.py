"""Each collaboration link carries its task's department and whether the task is open (issue
16): the cross-department load of 仪表盘 and 工作量 counts the open links of a department's
people outside their departments through a partial index of the links alone. Added nullable,
filled from the tasks in batches of link ids (one UPDATE per batch); 0012 makes them required."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.db.models import Exists, Max, OuterRef, Subquery

BATCH = 5000
CLOSED = ("done", "cancelled")


def backfill(apps, schema_editor):
    link_model = apps.get_model("tasks", "TaskCollaborator")
    task_model = apps.get_model("tasks", "Task")
    last = link_model.objects.aggregate(m=Max("id"))["m"] or 0
    department = Subquery(task_model.objects.filter(pk=OuterRef("task_id")).values("department_id")[:1])
    is_open = Exists(task_model.objects.filter(pk=OuterRef("task_id")).exclude(status__in=CLOSED))
    for start in range(0, last + 1, BATCH):
        link_model.objects.filter(id__gte=start, id__lt=start + BATCH).update(
            task_department_id=department, task_open=is_open
        )


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0010_task_owner_reviewer_department"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="taskcollaborator",
            name="task_department",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="orgs.department",
            ),
        ),
        migrations.AddField(
            model_name="taskcollaborator",
            name="task_open",
            field=models.BooleanField(null=True),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
