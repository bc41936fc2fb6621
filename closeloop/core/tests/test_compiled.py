"""`core.compiled.instances` builds each instance, and each select_related one, directly
(issue 16: ~40 Python calls an instance through `Model.from_db` and `__init__`, ~190 of them on
a head's 我的工作). The instances must be the ones Django makes: same values, same deferred
fields, same state, same related objects cached (None for a missing reverse one-to-one), and
Django's own path whenever something listens to an instance being made."""

import datetime as dt

from django.db.models.signals import post_init
from django.utils import timezone

from closeloop.core import compiled
from closeloop.tasks import extensions
from closeloop.tasks.models import Task
from closeloop.tasks.selectors import my_work_rows
from closeloop.testing.factories import make_task
from closeloop.tracking.models import TaskForecast


def _build(*ids):
    return extensions.prepare_rows(my_work_rows(Task.objects.filter(pk__in=ids))).order_by("id")


def _same(got, want, parents=()) -> None:
    """`got` is `want` as far as anyone can tell: type, values, deferred fields, state, and the
    related objects cached, compared the same way (a back reference to an object compared
    above, `parents` as (got, want) pairs, must be that very object)."""
    assert type(got) is type(want)
    assert {k: v for k, v in vars(got).items() if k != "_state"} == {
        k: v for k, v in vars(want).items() if k != "_state"
    }
    assert got.get_deferred_fields() == want.get_deferred_fields()
    assert (got._state.adding, got._state.db) == (want._state.adding, want._state.db)
    assert got._state.fields_cache.keys() == want._state.fields_cache.keys()
    for name, related in want._state.fields_cache.items():
        back = [g for g, w in parents if w is related]
        if related is None:
            assert got._state.fields_cache[name] is None
        elif back:
            assert got._state.fields_cache[name] is back[0]
        else:
            _same(got._state.fields_cache[name], related, ((got, want), *parents))


def _tasks(head, member, sales):
    tasks = [
        make_task(actor=head, department=sales, owner=o, title=f"任务{i}")
        for i, o in enumerate([head, member, member])
    ]
    today = dt.date(2026, 3, 4)
    TaskForecast.objects.create(
        task=tasks[1], due_date=today, judge_from=today, at_risk=True, reason="", computed_at=timezone.now()
    )
    return [t.pk for t in tasks]


def test_instances_are_the_ones_django_makes(db, head, member, sales, monkeypatch):
    ids = _tasks(head, member, sales)
    made = []
    new = compiled._new
    monkeypatch.setattr(compiled, "_new", lambda model, *args: made.append(model) or new(model, *args))
    got = compiled.rows(("test.compiled.rows", len(ids)), Task, _build, ids)
    # Built directly: three tasks, each with its department and owner, one forecast.
    assert sorted(m.__name__ for m in made) == sorted(["Task", "Department", "User"] * 3 + ["TaskForecast"])
    want = list(_build(*ids))
    assert len(got) == len(want) == 3
    for g, w in zip(sorted(got, key=lambda t: t.pk), want, strict=True):
        _same(g, w)
        assert g.department.code == w.department.code and g.owner.display_name == w.owner.display_name
    with_forecast = [t for t in got if t.pk == ids[1]][0]
    assert with_forecast.forecast.at_risk and with_forecast.forecast.task is with_forecast
    assert not hasattr([t for t in got if t.pk == ids[0]][0], "forecast")  # None cached: DoesNotExist


def test_a_listener_to_instances_being_made_gets_djangos_path(db, head, member, sales):
    ids = _tasks(head, member, sales)
    compiled.rows(("test.compiled.listened", len(ids)), Task, _build, ids)  # compiled
    seen = []

    def listener(sender, instance, **kwargs):
        seen.append((sender, instance.pk))

    post_init.connect(listener, sender=Task)
    try:
        got = compiled.rows(("test.compiled.listened", len(ids)), Task, _build, ids)
    finally:
        post_init.disconnect(listener, sender=Task)
    assert sorted(pk for sender, pk in seen if sender is Task) == sorted(ids)
    for g, w in zip(sorted(got, key=lambda t: t.pk), list(_build(*ids)), strict=True):
        _same(g, w)


def test_a_model_whose_attribute_does_more_than_hold_its_value_gets_djangos_path():
    from closeloop.review.models import Deliverable

    # A file field's descriptor wraps the value on access and on set: not built directly.
    names = [f.attname for f in Deliverable._meta.concrete_fields]
    assert compiled._fields_of(Deliverable, tuple(names)) is None
    assert compiled._fields_of(Task, tuple(f.attname for f in Task._meta.concrete_fields)) is not None


def test_a_date_argument_is_a_parameter_of_the_one_statement(db, head, member, sales):
    """Dates (not datetimes) are arguments like ints and strs: compiled once, each call's
    date in its place, as the backend adapts it (SQLite's text, PostgreSQL's date)."""
    from django.db import connection, connections
    from django.test.utils import CaptureQueriesContext

    ids = _tasks(head, member, sales)
    today = dt.date.today()
    for i, pk in enumerate(ids):
        Task.objects.filter(pk=pk).update(due_date=today + dt.timedelta(days=i))

    def due_before(dept, day):
        return Task.objects.filter(department_id=dept, due_date__lt=day).only("id", "due_date").order_by("id")

    key = ("test.compiled.date",)
    for days in (0, 1, 2, 3, 1):
        day = today + dt.timedelta(days=days)
        with CaptureQueriesContext(connection) as ctx:
            got = compiled.rows(key, Task, due_before, [sales.pk, day])
        assert [t.pk for t in got] == [t.pk for t in due_before(sales.pk, day)] == ids[:days]
        assert len(ctx.captured_queries) == 1
    plan = compiled._PLANS[connections["default"]][key]
    assert plan is not None and [is_arg for is_arg, _v in plan[1]] == [True, True]
    try:
        compiled.rows(("test.compiled.datetime",), Task, due_before, [sales.pk, timezone.now()])
    except TypeError as exc:
        assert "datetime" in str(exc)
    else:
        raise AssertionError("a datetime argument is refused")


def test_a_plan_is_compiled_once_for_every_connection_of_the_database(transactional_db, head, member, sales):
    """A server's threads each have their own connection: the plan compiled by one is given
    to the others (their own backend's converters bound), not compiled again — and reads the
    same rows there."""
    import threading

    from django.db import connections

    ids = _tasks(head, member, sales)
    key = ("test.compiled.shared", len(ids))
    want = list(_build(*ids))
    first = compiled.rows(key, Task, _build, ids)
    compiled_again = []
    plan = compiled._plan

    def counting(*args, **kwargs):
        compiled_again.append(args)
        return plan(*args, **kwargs)

    results = {}

    def other_thread():
        conn = connections["default"]
        try:
            results["rows"] = compiled.rows(key, Task, _build, ids)
            parts = compiled._PLANS[conn][key][2]
            bound = [c for _pos, (convs, _e) in parts[4] for c in convs if hasattr(c, "__self__")]
            results["ops"] = {
                c.__self__ is conn.ops for c in bound if "DatabaseOperations" in type(c.__self__).__name__
            }
        finally:
            conn.close()

    compiled._plan = counting
    try:
        thread = threading.Thread(target=other_thread)
        thread.start()
        thread.join()
    finally:
        compiled._plan = plan
    assert compiled_again == []
    assert results["ops"] <= {True}  # the thread's own operations, where a converter is one
    for got in (first, results["rows"]):
        for g, w in zip(sorted(got, key=lambda t: t.pk), want, strict=True):
            _same(g, w)


def test_detached_converters_are_bound_again_to_each_connection(db):
    from django.db import connections

    from closeloop.tasks.models import TaskEvent

    conn = connections["default"]
    qs = TaskEvent.objects.filter(task_id=1).select_related("actor")
    compiler = qs.query.get_compiler(connection=conn)
    compiler.as_sql()
    parts = compiled.loader(compiler, conn)
    other = connections.create_connection("default")
    attached = compiled.attach_loader(compiled.detach_loader(parts, conn), other)
    for (pos, (convs, expression)), (pos2, (convs2, expression2)) in zip(parts[4], attached[4], strict=True):
        assert (pos, expression) == (pos2, expression2) and len(convs) == len(convs2)
        for c, c2 in zip(convs, convs2, strict=True):
            if getattr(c, "__self__", None) is conn.ops:
                assert c2.__self__ is other.ops and c2.__func__ is c.__func__
            else:
                assert c2 is c
    assert any(getattr(c, "__self__", None) is conn.ops for _p, (convs, _e) in parts[4] for c in convs) or (
        conn.vendor == "postgresql"
    )
