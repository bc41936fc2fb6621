"""The task's copy of its forecast's flag (`Task.at_risk`; tracking 0002 fills it) and the
partial index of the tasks at risk. Adding the column rebuilds the tasks table on SQLite, and
with it `task_dept_path` from the models, narrow: widened again here as 0022 asks."""

import importlib

from django.conf import settings
from django.db import migrations, models

_0022 = importlib.import_module("closeloop.tasks.migrations.0022_task_dept_path_status_priority_sqlite")


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("tasks", "0023_task_dept_priority_status_owner_due"),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AddField(
            model_name="task",
            name="at_risk",
            field=models.BooleanField(default=False, editable=False, verbose_name="at risk"),
        ),
        migrations.AddIndex(
            model_name="task",
            index=models.Index(
                condition=models.Q(("at_risk", True)),
                fields=["department", "status", "due_date", "id"],
                name="task_at_risk",
            ),
        ),
        migrations.RunPython(_0022.widen, migrations.RunPython.noop),
    ]
