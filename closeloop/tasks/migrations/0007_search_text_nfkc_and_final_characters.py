"""Re-index every task's search text: NFKC (full-width `Ｑ３` is indexed as `q3`) and the last
character of each Chinese run (so `报` finds 编写销售周报). See closeloop/tasks/search.py. The
SQLite FTS triggers and the PostgreSQL expression index follow the column by themselves."""

from django.db import migrations


def reindex(apps, schema_editor):
    from closeloop.tasks.search import task_index_text

    Task = apps.get_model("tasks", "Task")
    rows = Task.objects.select_related("department", "customer", "project").only(
        "id", "code", "title", "search_text", "department__code", "customer__name", "project__name"
    )
    batch = []
    for t in rows.iterator(chunk_size=2000):
        text = task_index_text(
            department_code=t.department.code,
            code=t.code,
            title=t.title,
            customer=t.customer.name if t.customer_id else "",
            project=t.project.name if t.project_id else "",
        )
        if text != t.search_text:
            t.search_text = text
            batch.append(t)
        if len(batch) >= 500:
            Task.objects.bulk_update(batch, ["search_text"])
            batch = []
    if batch:
        Task.objects.bulk_update(batch, ["search_text"])


class Migration(migrations.Migration):
    dependencies = [("tasks", "0006_recurrence_last_workday")]
    operations = [migrations.RunPython(reindex, migrations.RunPython.noop)]
