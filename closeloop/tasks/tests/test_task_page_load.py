"""The task page's own row (issue 16, item 2): `access_task` with the page's constant raw SQL
annotations (presence flags, event count) runs a query compiled once per connection, and
loads the same task, related objects and annotations as the ORM's annotated query; the
page's other reads (`core.compiled.rows`) give the ORM's rows."""

import pytest
from django.db import connection, connections
from django.test.utils import CaptureQueriesContext
from django.utils import translation

from closeloop.collab.services.issues import issue_raise
from closeloop.core import compiled
from closeloop.core.choices import choice_display
from closeloop.core.errors import NotFound
from closeloop.tasks import extensions
from closeloop.tasks.models import Task, TaskEvent, subtree_q
from closeloop.tasks.selectors import (
    ACCESS_TASK_RELATED,
    _fixed_sql,
    _subtree_range,
    access_task,
    event_count_annotation,
)
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


# -- reads compiled once per connection (core.compiled) -----------------------------------------


def _same(a: list, b: list) -> None:
    assert [_fields(x) for x in a] == [_fields(x) for x in b]
    assert [type(x) for x in a] == [type(x) for x in b]


def test_compiled_rows_are_the_orms_rows_with_related_objects_and_annotations(head, member, outsider, sales):
    parent = make_task(
        actor=head, department=sales, owner=member, title="<i>父</i>", collaborators=[outsider]
    )
    for i in range(3):
        make_task(
            actor=head, department=sales, owner=outsider if i else member, title=f"子{i}&", parent=parent
        )
    task_transition(actor=member, task=Task.objects.get(pk=parent.pk), to="in_progress")
    present = extensions.presence_annotations(Task._meta.db_table)

    def build(pk, low, high):
        return (
            Task.objects.filter(path__gte=low, path__lt=high)
            .exclude(pk=pk)
            .select_related("owner")
            .annotate(**present)
            .order_by("path")
        )

    low, high = _subtree_range(parent.path)
    for _ in range(2):  # compiled, then from the plan
        got = compiled.rows(("test.subtasks", tuple(present)), Task, build, (parent.pk, low, high))
        want = list(build(parent.pk, low, high))
        assert len(got) == 3
        _same(got, want)
        _same([t.owner for t in got], [t.owner for t in want])
        for name in present:
            assert [getattr(t, name) for t in got] == [getattr(t, name) for t in want]
    events = compiled.rows(
        ("test.events", 5),
        TaskEvent,
        lambda pk: (
            TaskEvent.objects.filter(task_id=pk).select_related("actor").order_by("-created_at", "-id")[:5]
        ),
        (parent.pk,),
    )
    want = list(
        TaskEvent.objects.filter(task_id=parent.pk).select_related("actor").order_by("-created_at", "-id")[:5]
    )
    _same(events, want)
    assert [e.before for e in events] == [e.before for e in want] and [e.actor.pk for e in events] == [
        e.actor.pk for e in want
    ]
    # A constant of the query stays; the argument is replaced.
    got = compiled.rows(
        "test.constant",
        Task,
        lambda pk: Task.objects.filter(parent_id=pk, status="not_started"),
        (parent.pk,),
    )
    _same(got, list(Task.objects.filter(parent_id=parent.pk, status="not_started")))


def test_a_query_whose_parameter_is_computed_from_an_argument_runs_through_the_orm(head, member, sales):
    parent = make_task(actor=head, department=sales, owner=member, title="父")
    child = make_task(actor=head, department=sales, owner=member, title="子", parent=parent)

    def build(path):  # the bound path[:-1] + "0" is not the argument: not replaceable
        return Task.objects.filter(subtree_q(path)).order_by("path")

    for _ in range(2):
        got = compiled.rows("test.transformed", Task, build, (parent.path,))
        assert [t.pk for t in got] == [parent.pk, child.pk]
    got = compiled.rows(
        "test.startswith", Task, lambda p: Task.objects.filter(path__startswith=p), (child.path,)
    )
    assert [t.pk for t in got] == [child.pk]
    plans = compiled._PLANS[connections["default"]]
    assert plans["test.transformed"] is None and plans["test.startswith"] is None
    with pytest.raises(TypeError):  # dates are arguments, datetimes not (their zone is the query's)
        compiled.rows("test.bad", Task, lambda d: Task.objects.filter(created_at__lt=d), (parent.created_at,))


def test_choice_display_is_djangos_get_display_in_both_languages(head, member, sales):
    task = make_task(actor=head, department=sales, owner=member, title="标签")
    for lang in ("zh-hans", "en"):
        with translation.override(lang):
            for name in ("status", "priority", "task_type", "source", "adhoc_category"):
                field = Task._meta.get_field(name)
                for value, _label in [*field.flatchoices, ("no-such-choice", None), ("", None)]:
                    if name == "priority" and not isinstance(value, int):
                        value = 99  # an int field: a number that is not a choice
                    setattr(task, field.attname, value)
                    want = getattr(task, f"get_{name}_display")()
                    assert choice_display(task, name) == want and type(choice_display(task, name)) is type(
                        want
                    )


def test_esc_is_conditional_escape():
    from django.utils.html import conditional_escape, format_html
    from django.utils.translation import gettext_lazy

    from closeloop.core.escape import esc

    for value in ["<script>alert('x')</script> & \"q\"", "普通", "", 12, 0, None, 1.5, gettext_lazy("after")]:
        assert esc(value) == str(conditional_escape(value))
    safe = format_html("<b>{}</b>", "<i>")
    assert esc(safe) == str(conditional_escape(safe)) == "<b>&lt;i&gt;</b>"


def test_a_large_tree_reads_its_people_and_criteria_without_keeping_a_plan_per_size(head, member, sales):
    from closeloop.tasks.models import AcceptanceCriterion
    from closeloop.tasks.selectors import COMPILED_TREE, attach_people_and_criteria

    parent = make_task(actor=head, department=sales, owner=member, title="大树")
    tasks = [Task.objects.get(pk=parent.pk)] * (COMPILED_TREE + 1)  # the size only decides the path
    before = set(compiled._PLANS.get(connections["default"], {}))
    attach_people_and_criteria(tasks)
    assert set(compiled._PLANS.get(connections["default"], {})) == before
    assert tasks[0].criteria_list == list(AcceptanceCriterion.objects.filter(task=parent))


def test_access_task_and_compiled_rows_keep_their_plans_in_the_one_cache(
    transactional_db, head, member, sales, monkeypatch
):
    """`access_task`'s look-up is a plan of `core.compiled`'s one cache, beside the page's
    `compiled.rows` reads: compiled once for the database, then another connection (a server
    thread's) finds both and compiles neither again (issue 16: each thread compiled the page's
    shapes again), and reads the same rows with its own backend operations."""
    import threading

    task = make_task(actor=head, department=sales, owner=member, title="共用")
    child = make_task(actor=head, department=sales, owner=member, title="子", parent=task)
    loader_key = ("tasks.access_task", False, _fixed_sql(_page_annotations()))
    rows_key = ("test.one_cache.children",)

    def children(pk):
        return Task.objects.filter(parent_id=pk).select_related("owner").order_by("id")

    main = connections["default"]
    want = access_task(head, task.pk, annotate=_page_annotations())
    assert [t.pk for t in compiled.rows(rows_key, Task, children, [task.pk])] == [child.pk]
    for key in (loader_key, rows_key):
        assert compiled._SHARED[(main.alias, main.vendor, key)] is not None
        assert compiled._PLANS[main][key] is not None

    compiles = []
    plan = compiled._plan

    def counting(*args, **kwargs):
        compiles.append(args)
        return plan(*args, **kwargs)

    monkeypatch.setattr(compiled, "_plan", counting)
    results = {}

    def other_thread():
        conn = connections["default"]
        try:
            assert conn is not main
            with CaptureQueriesContext(conn) as ctx:
                results["task"] = access_task(head, task.pk, annotate=_page_annotations())
                results["children"] = compiled.rows(rows_key, Task, children, [task.pk])
            results["queries"] = len(ctx.captured_queries)
            results["plans"] = {key: compiled._PLANS[conn][key] for key in (loader_key, rows_key)}
            results["ops"] = conn.ops
        finally:
            conn.close()

    thread = threading.Thread(target=other_thread)
    thread.start()
    thread.join()
    assert compiles == []
    assert results["queries"] == 2  # the task's row and the children: nothing else
    got = results["task"]
    assert _fields(got) == _fields(want) and got.event_count == want.event_count
    assert [_fields(t.owner) for t in results["children"]] == [_fields(member)]
    for key, (sql, positions, parts) in results["plans"].items():
        assert (sql, positions) == compiled._PLANS[main][key][:2]
        bound = [c for _pos, (convs, _e) in parts[4] for c in convs if hasattr(c, "__self__")]
        assert all(c.__self__ is results["ops"] for c in bound if "Operations" in type(c.__self__).__name__)
