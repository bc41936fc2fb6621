"""The Chinese search index: fill `search_text` for existing tasks, then FTS5 (SQLite) or a
GIN index (PostgreSQL) over it. See closeloop/tasks/search.py."""

from django.db import migrations


def fill(apps, schema_editor):
    from closeloop.tasks.search import install, task_index_text

    Task = apps.get_model("tasks", "Task")
    rows = Task.objects.select_related("department", "customer", "project").only(
        "id", "code", "title", "department__code", "customer__name", "project__name"
    )
    batch = []
    for t in rows.iterator():
        t.search_text = task_index_text(
            department_code=t.department.code,
            code=t.code,
            title=t.title,
            customer=t.customer.name if t.customer_id else "",
            project=t.project.name if t.project_id else "",
        )
        batch.append(t)
    Task.objects.bulk_update(batch, ["search_text"], batch_size=500)
    install(schema_editor.connection)


def drop(apps, schema_editor):
    from closeloop.tasks.search import uninstall

    uninstall(schema_editor.connection)


class Migration(migrations.Migration):
    dependencies = [("tasks", "0003_decomposition_recurrence_search")]
    operations = [migrations.RunPython(fill, drop)]
