"""The partial index of done tasks by (department, completed_at) also carries the owner and the
due and original due dates, which the on-time tally of 仪表盘 and 周复盘 reads of each
completion (`insights.localday.tally_on_time`): PostgreSQL then scans the index only and SQLite
never seeks the table row (issue 16 item 4). Same name, same leading columns: every query that
used it ranges over it as before."""

from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0002_seed_work_calendar'),
        ('tasks', '0013_task_dept_path_with_id'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.RemoveIndex(
            model_name='task',
            name='task_dept_done_time',
        ),
        migrations.AddIndex(
            model_name='task',
            index=models.Index(condition=models.Q(('status', 'done')), fields=['department', 'completed_at', 'owner', 'due_date', 'original_due_date'], name='task_dept_done_time'),
        ),
    ]
