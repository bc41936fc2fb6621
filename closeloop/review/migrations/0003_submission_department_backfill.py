"""Copy each existing submission's department from its task, a range of ids at a time
(one UPDATE … = (SELECT department_id FROM tasks_task …) per BATCH ids, each in its own
transaction), on SQLite and PostgreSQL alike. Its own migration: PostgreSQL refuses to alter
a table (0004's NOT NULL) in the transaction that queued the foreign-key checks of updated
rows."""

from django.db import migrations, transaction
from django.db.models import Max, Min, OuterRef, Subquery

BATCH = 5000


def copy_departments(apps, schema_editor):
    Submission = apps.get_model("review", "Submission")
    Task = apps.get_model("tasks", "Task")
    db = schema_editor.connection.alias
    todo = Submission.objects.using(db).filter(department__isnull=True)
    bounds = todo.aggregate(lo=Min("id"), hi=Max("id"))
    if bounds["lo"] is None:
        return
    department = Subquery(Task.objects.using(db).filter(pk=OuterRef("task_id")).values("department_id")[:1])
    for lo in range(bounds["lo"], bounds["hi"] + 1, BATCH):
        with transaction.atomic(using=db):
            todo.filter(id__gte=lo, id__lt=lo + BATCH).update(department_id=department)


class Migration(migrations.Migration):
    atomic = False

    dependencies = [
        ("review", "0002_submission_department"),
        ("tasks", "0001_initial"),
    ]

    operations = [migrations.RunPython(copy_departments, migrations.RunPython.noop, elidable=True)]
