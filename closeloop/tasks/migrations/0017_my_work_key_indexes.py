"""The indexes 我的工作's keys read (`tasks.selectors._my_work_keys`, issue 16): the owner's
index also carries the priority and the id, so a person's open tasks with what they are sorted
by are an index-only range (same name, same leading columns: every query that used it ranges
over it as before); the submitted tasks by reviewer (or none) and department, with due date and
owner, a small partial index, for what waits for a person's acceptance."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0002_seed_work_calendar'),
        ('tasks', '0016_completion_day'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='task',
            name='task_owner_status_due',
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(fields=['owner', 'status', 'due_date', 'priority'], include=('id',), name='task_owner_status_due'),
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(condition=models.Q(('status', 'submitted')), fields=['reviewer', 'department', 'due_date', 'owner'], include=('id',), name='task_submitted_review'),
        ),
    ]
