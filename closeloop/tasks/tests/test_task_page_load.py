"""The task page's own row (issue 16, item 2): `access_task` with the page's constant raw SQL
annotations (presence flags, event count) runs a query compiled once per connection, and
loads the same task, related objects and annotations as the ORM's annotated query."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from closeloop.collab.services.issues import issue_raise
from closeloop.core.errors import NotFound
from closeloop.tasks import extensions
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import ACCESS_TASK_RELATED, _fixed_sql, access_task, event_count_annotation
from closeloop.tasks.services import task_transition
from closeloop.testing.factories import make_task


def _fields(obj) -> dict:
    return {f.attname: getattr(obj, f.attname) for f in obj._meta.concrete_fields}


def _page_annotations() -> dict:
    return {**extensions.presence_annotations(Task._meta.db_table), **event_count_annotation()}


def test_the_page_row_is_the_orms_annotated_row(head, member, outsider, sales):
    task = make_task(
        actor=head, department=sales, owner=member, title="<b>召回</b>", collaborators=[outsider]
    )
    task = task_transition(actor=member, task=task, to="in_progress")
    issue_raise(actor=member, task=task, problem="需要名单", resolver=head)
    plain = make_task(actor=head, department=sales, owner=head, title="空任务")
    assert _fixed_sql(_page_annotations())  # the page's annotations take the compiled-once path
    for t in (task, plain):
        annotate = _page_annotations()
        orm = Task.objects.select_related(*ACCESS_TASK_RELATED).annotate(**annotate).get(pk=t.pk)
        with CaptureQueriesContext(connection) as ctx:
            loaded = access_task(head, t.pk, annotate=_page_annotations())
        assert len(ctx.captured_queries) == 1
        assert _fields(loaded) == _fields(orm)
        for name in annotate:
            assert getattr(loaded, name) == getattr(orm, name), name
            assert type(getattr(loaded, name)) is type(getattr(orm, name)), name
        for rel in ACCESS_TASK_RELATED:
            a, b = getattr(loaded, rel), getattr(orm, rel)
            assert (a is None) == (b is None), rel
            if a is not None:
                assert _fields(a) == _fields(b), rel
        assert loaded._state.adding is False and loaded._state.db == orm._state.db
    assert access_task(head, task.pk, annotate=_page_annotations()).has_issues is True
    assert access_task(head, plain.pk, annotate=_page_annotations()).has_issues is False
    assert access_task(head, task.pk, annotate=_page_annotations()).event_count >= 2


def test_someone_who_may_not_see_the_task_gets_not_found_with_the_page_annotations(head, outsider, sales):
    task = make_task(actor=head, department=sales, owner=head, title="内部")
    with pytest.raises(NotFound):
        access_task(outsider, task.pk, annotate=_page_annotations())
    with pytest.raises(NotFound):
        access_task(head, 10**9, annotate=_page_annotations())
