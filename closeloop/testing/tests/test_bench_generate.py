"""The benchmark generator's bulk load (bench/generate.py, issue 16 item 5) on the test
database: a tiny dataset leaves the schema exactly as migrated (the foreign keys and indexes
it sets aside come back under their names), every table holds the rows the steps counted,
and a row pointing nowhere is refused when the keys come back."""

import io
from datetime import UTC, datetime

import pytest
from django.apps import apps
from django.db import IntegrityError, connection

from bench import generate as gen

pytestmark = pytest.mark.django_db(transaction=True)

NOW = datetime(2026, 11, 18, 3, 30, tzinfo=UTC)  # a Wednesday, 11:30 in Shanghai


def _schema():
    with connection.cursor() as cursor:
        return gen._schema(cursor, connection.vendor)


def test_tiny_dataset_keeps_the_migrated_schema_and_counts_its_rows():
    before = _schema()
    info = gen.generate(gen.Scale(people=12, departments=3, tasks=60), seed=7, now=NOW, out=io.StringIO())
    assert _schema() == before
    models = {m._meta.label: m for m in apps.get_models(include_auto_created=True)}
    counted = {label: n for label, n in info["rows"].items() if n}
    assert counted["tasks.Task"] == 60
    assert {"tracking.ProgressUpdate", "tasks.TaskEvent", "notify.Notification"} <= set(counted)
    for label, n in counted.items():
        assert models[label].objects.count() == n, label
    # Only a task with acceptance criteria is ever submitted (review.services.refuse_obstacles).
    Task = models["tasks.Task"]
    assert not Task.objects.filter(submitted_at__isnull=False, criteria__isnull=True).exists()
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            assert cursor.execute("PRAGMA foreign_keys").fetchone()[0] == 1


def test_a_dangling_foreign_key_is_refused(monkeypatch):
    def dangling(ctx):
        from closeloop.tasks.models import Project

        with connection.cursor() as cursor:
            # A collaborator row whose task, user and department do not exist.
            cursor.execute(
                "INSERT INTO tasks_taskcollaborator (task_id, user_id, added_at, task_department_id, task_open)"
                " VALUES (%s, %s, %s, %s, %s)",
                [999_999, 999_999, NOW, 999_999, True],
            )
        gen.save(ctx, Project, [{"name": "x"}])

    monkeypatch.setattr(gen, "STEPS", [("dangling", dangling)])
    before = _schema()
    # Raised when the keys come back (not at COMMIT, which would be a deferred check).
    with pytest.raises(IntegrityError, match="invalid foreign key|violates foreign key"):
        gen.generate(gen.Scale(people=8, departments=2, tasks=10), seed=7, now=NOW, out=io.StringIO())
    assert _schema() == before


def test_collaboration_links_carry_their_tasks_department_and_open_state():
    """What the task services keep on a link (collab's cross-department load reads only the
    link): the generated links must say what their task says."""
    from closeloop.tasks.models import TaskCollaborator
    from closeloop.tasks.states import CLOSED_STATUSES

    gen.generate(gen.Scale(people=12, departments=3, tasks=200), seed=7, now=NOW, out=io.StringIO())
    links = list(TaskCollaborator.objects.select_related("task"))
    assert links
    assert {
        (link.task_department_id, link.task_open) for link in links if link.task.status in CLOSED_STATUSES
    }
    for link in links:
        assert link.task_department_id == link.task.department_id
        assert link.task_open == (link.task.status not in CLOSED_STATUSES)
