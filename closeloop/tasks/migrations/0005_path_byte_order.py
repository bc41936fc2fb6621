"""Compare task paths byte by byte on PostgreSQL, so a subtree is an index range.

`tasks.models.subtree_q` selects a subtree as `path >= '/…/12/' AND path < '/…/120'`, which
relies on '/' sorting right before '0'. SQLite compares text as bytes already; PostgreSQL
uses the database's collation, where punctuation may be ignored, so the column gets the "C"
collation there. (Django's field does not say so: db_collation="C" would fail on SQLite.)
"""

from django.db import migrations


def to_c_collation(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute('ALTER TABLE tasks_task ALTER COLUMN path TYPE varchar(255) COLLATE "C"')


def back(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("ALTER TABLE tasks_task ALTER COLUMN path TYPE varchar(255) COLLATE \"default\"")


class Migration(migrations.Migration):
    dependencies = [("tasks", "0004_search_index")]
    operations = [migrations.RunPython(to_c_collation, back)]
