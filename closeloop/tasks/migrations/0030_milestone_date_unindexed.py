from django.db import migrations, models


class Migration(migrations.Migration):
    """Milestone.date loses its own index: 日历 reads milestones' dates within departments
    (`milestone_shown_dept_date`), and with a date index SQLite walked every department's
    milestones of the weeks by date to spare the ranking window its sort."""

    dependencies = [
        ("tasks", "0029_calendar_id_in_dept_status_due"),
    ]

    operations = [
        migrations.AlterField(
            model_name="milestone",
            name="date",
            field=models.DateField(verbose_name="date"),
        ),
    ]
