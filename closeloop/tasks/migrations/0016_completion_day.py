"""The completion tally (`CompletionDay`, issue 16), filled from the done tasks: per department,
local day and owner, how many were completed and how many on time (as `tasks.completions`
counts them), the day in the department's time zone."""

import zoneinfo
from collections import Counter


import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models
from django.utils import timezone


def _zone(name):
    for candidate in (name, settings.TIME_ZONE, "Asia/Shanghai"):
        try:
            return zoneinfo.ZoneInfo(candidate)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
            continue
    return zoneinfo.ZoneInfo("UTC")


def backfill(apps, schema_editor):
    department_model = apps.get_model("orgs", "Department")
    task_model = apps.get_model("tasks", "Task")
    day_model = apps.get_model("tasks", "CompletionDay")
    zones = {pk: _zone(name) for pk, name in department_model.objects.values_list("pk", "time_zone")}
    counts = Counter()
    rows = (
        task_model.objects.filter(status="done", completed_at__isnull=False)
        .order_by()
        .values_list("department_id", "owner_id", "completed_at", "due_date", "original_due_date")
        .iterator(chunk_size=5000)
    )
    for department_id, owner_id, completed_at, due, original in rows:
        day = timezone.localtime(completed_at, zones[department_id]).date()
        key = (department_id, day, owner_id)
        counts[(*key, "done")] += 1
        counts[(*key, "on_time")] += day <= due
        counts[(*key, "on_time_original")] += day <= original
    made = {}
    for key, n in counts.items():
        department_id, day, owner_id, field = key
        row = made.get((department_id, day, owner_id))
        if row is None:
            row = made[(department_id, day, owner_id)] = day_model(
                department_id=department_id, day=day, owner_id=owner_id
            )
        setattr(row, field, n)
    day_model.objects.bulk_create(made.values(), batch_size=2000)


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0002_seed_work_calendar'),
        ('tasks', '0015_task_dept_priority_status'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.CreateModel(
            name='CompletionDay',
            fields=[
                ('id', models.BigAutoField(auto_created=True, primary_key=True, serialize=False, verbose_name='ID')),
                ('day', models.DateField()),
                ('done', models.PositiveIntegerField(default=0)),
                ('on_time', models.PositiveIntegerField(default=0)),
                ('on_time_original', models.PositiveIntegerField(default=0)),
                ('department', models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='orgs.department')),
                ('owner', models.ForeignKey(on_delete=django.db.models.deletion.CASCADE, related_name='+', to=settings.AUTH_USER_MODEL)),
            ],
            options={
                'constraints': [models.UniqueConstraint(fields=('department', 'day', 'owner'), name='completion_day_once'), models.CheckConstraint(condition=models.Q(('on_time__lte', models.F('done')), ('on_time_original__lte', models.F('done'))), name='completion_day_counts')],
            },
        ),
        migrations.RunPython(backfill, migrations.RunPython.noop),
    ]
