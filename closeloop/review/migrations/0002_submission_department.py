"""Submissions carry their task's department (nullable until 0003 has filled it in)."""

import django.db.models.deletion
from django.db import migrations, models


class Migration(migrations.Migration):
    dependencies = [
        ("orgs", "0002_seed_work_calendar"),
        ("review", "0001_submissions_reviews_retrospectives"),
    ]

    operations = [
        migrations.AddField(
            model_name="submission",
            name="department",
            field=models.ForeignKey(
                db_index=False,
                null=True,
                on_delete=django.db.models.deletion.CASCADE,
                related_name="+",
                to="orgs.department",
            ),
        ),
    ]
