"""Each issue carries its task's department (issue 16): 仪表盘 counts and lists a department's
open issues through a partial index of the issues alone. Added nullable, filled from the tasks
in batches of issue ids (one UPDATE per batch); 0004 makes it required and adds the index."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery

BATCH = 5000


def backfill(apps, schema_editor):
    issue_model = apps.get_model("collab", "Issue")
    task_model = apps.get_model("tasks", "Task")
    last = issue_model.objects.aggregate(m=Max("id"))["m"] or 0
    department = Subquery(task_model.objects.filter(pk=OuterRef("task_id")).values("department_id")[:1])
    for start in range(0, last + 1, BATCH):
        issue_model.objects.filter(id__gte=start, id__lt=start + BATCH).update(task_department_id=department)


class Migration(migrations.Migration):
    dependencies = [
        ("collab", "0002_issue_open_resolver_deadline"),
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0014_task_dept_done_time_covering"),
    ]

    operations = [
        migrations.AddField(
            model_name="issue",
            name="task_department",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="orgs.department",
            ),
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
