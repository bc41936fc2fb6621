"""Every submission has its department (0003 filled them in); the partial index of accepted
attempts by department and review time that `selectors.quality_by` reads."""

import django.db.models.deletion
from django.conf import settings
from django.db import migrations, models


class Migration(migrations.Migration):

    dependencies = [
        ('orgs', '0002_seed_work_calendar'),
        ('review', '0003_submission_department_backfill'),
        ('tasks', '0008_task_dept_done_time'),
        migrations.swappable_dependency(settings.AUTH_USER_MODEL),
    ]

    operations = [
        migrations.AlterField(
            model_name='submission',
            name='department',
            field=models.ForeignKey(db_index=False, on_delete=django.db.models.deletion.CASCADE, related_name='+', to='orgs.department'),
        ),
        migrations.AddIndex(
            model_name='submission',
            index=models.Index(condition=models.Q(('verdict', 'accepted')), fields=['department', 'reviewed_at'], name='submission_dept_accepted'),
        ),
    ]
