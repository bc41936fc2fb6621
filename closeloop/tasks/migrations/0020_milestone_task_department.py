"""Each milestone carries its task's department (issue 16): 日历 reads a department's milestones
of a month through an index of the milestones alone. Added nullable, filled from the tasks in
batches of milestone ids (one UPDATE per batch), as collab 0003; 0021 makes it required and adds
the index."""

import django.db.models.deletion
from django.db import migrations, models
from django.db.models import Max, OuterRef, Subquery

BATCH = 5000


def backfill(apps, schema_editor):
    milestone_model = apps.get_model("tasks", "Milestone")
    task_model = apps.get_model("tasks", "Task")
    last = milestone_model.objects.aggregate(m=Max("id"))["m"] or 0
    department = Subquery(task_model.objects.filter(pk=OuterRef("task_id")).values("department_id")[:1])
    for start in range(0, last + 1, BATCH):
        milestone_model.objects.filter(id__gte=start, id__lt=start + BATCH).update(task_department_id=department)


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0019_owner_department_status_index"),
    ]

    operations = [
        migrations.AddField(
            model_name="milestone",
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
