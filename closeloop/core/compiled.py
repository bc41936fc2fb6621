"""ORM queries compiled once per database, kept per connection (issue 16, item 2).

Building and compiling a queryset costs the task page ~1,000–2,000 Python calls per query,
more than running it: the page's reads (subtasks, events, collaborators, criteria, comments)
have the same shape on every visit, only their values differ. `rows(key, model, build, args)`
compiles `build(*marks)` once per database — the marks are placeholder values the
parameters are recognised by — and then runs its SQL with `args` in their place, turning the
rows into instances as Django's `ModelIterable` does (the backend's and the fields'
converters, `from_db`, the select_related populators, annotations). A queryset whose
parameters are not exactly the marks (a lookup that transforms its value: `__contains`,
`__startswith`) is refused when compiled, and each call runs the ORM instead.

Every compiled statement of the app goes through one cache (`_plan_for`): the `rows` and
`values` reads of the pages, and `tasks.selectors.access_task`'s look-up of a task with its six
relations (`rows(..., using=...)`). Per database (alias and vendor) and key it keeps the plan
compiled once, its backend converters named rather than bound to the connection that compiled
it; per connection, that plan bound to the connection's own backend operations. A server's
threads each have their own connection (Django's connections are per thread; gunicorn runs
threads): kept per connection only, every thread compiled each page's shapes again (~47 per
person on the task page, ~4,000 Python calls and 2–3 ms each: the task page's p95, issue 16).
"""

from __future__ import annotations

import functools
import inspect
import weakref
from collections.abc import Callable, Sequence
from datetime import date, timedelta
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet, signals
from django.db.models.base import ModelState
from django.db.models.fields.related_descriptors import ForeignKeyDeferredAttribute
from django.db.models.query import ModelIterable, ValuesIterable, get_related_populators

from closeloop.core import pgfast

# The one cache of compiled plans (`_plan_for`; the module's docstring says why).
# connection → key → plan bound to that connection (or None: not compilable, use the ORM).
# Weak: a connection's plans go with it.
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
# (alias, vendor, key) → the plan as compiled once for every connection of that database, its
# backend converters named (`_detach_plan`), or None.
_SHARED: dict[tuple, tuple | None] = {}
_MISSING = object()
_INT_MARKS = (987_654_000, 987_655_000)
_STR_MARKS = ("\x02closeloop-mark-{}\x03", "\x02closeloop-other-{}\x03")
_DATE_MARKS = (date(1901, 2, 3), date(1903, 4, 5))


def _marks(args: Sequence[Any], which: int) -> list[Any]:
    """A placeholder per argument, of its type: an int, a string or a date no real value
    equals (`which`: one of two sets, to tell the parameters that follow an argument)."""
    marks = []
    for i, a in enumerate(args):
        if type(a) is date:
            marks.append(_DATE_MARKS[which] + timedelta(days=i))
        elif isinstance(a, bool) or not isinstance(a, int | str):
            raise TypeError(f"compiled.rows takes int, str and date arguments, not {type(a).__name__}")
        else:
            marks.append(_INT_MARKS[which] + i if isinstance(a, int) else _STR_MARKS[which].format(i))
    return marks


def _adapt(conn, value: Any) -> Any:
    """An argument as the query's parameter: a date as the backend adapts it (SQLite: its ISO
    text, PostgreSQL: the date), anything else as it is."""
    return conn.ops.adapt_datefield_value(value) if type(value) is date else value


def _plan(
    conn, model: type[Model], build: Callable[..., QuerySet], args: Sequence[Any], *, as_values: bool = False
) -> tuple | None:
    # Compiled twice, with two sets of marks: a parameter equal to a mark is that argument,
    # one equal in both is a constant of the query, any other one was computed from an
    # argument (a lookup's transform, `path[:-1]`…) and cannot be replaced — refused.
    compiled = []
    for which in (0, 1):
        qs = build(*_marks(args, which)).using(conn.alias)
        compiler = qs.query.get_compiler(connection=conn)
        compiled.append((qs, compiler, *compiler.as_sql()))
    (qs, compiler, sql, params), (_qs, _compiler, sql_b, params_b) = compiled
    if sql != sql_b or len(params) != len(params_b):
        return None
    marks = [_adapt(conn, m) for m in _marks(args, 0)]
    marks_b = [_adapt(conn, m) for m in _marks(args, 1)]
    positions = []
    for p, p_b in zip(params, params_b, strict=True):
        found = [i for i, m in enumerate(marks) if type(m) is type(p) and m == p]
        if found and type(p_b) is type(marks_b[found[0]]) and p_b == marks_b[found[0]]:
            positions.append((True, found[0]))
        elif not found and type(p) is type(p_b) and p == p_b:
            positions.append((False, p))
        else:
            return None
    if sorted({i for is_arg, i in positions if is_arg}) != list(range(len(args))):  # one unused
        return None
    iterable = ValuesIterable if as_values else ModelIterable
    if qs.model is not model or qs._prefetch_related_lookups or qs._iterable_class is not iterable:
        return None
    return (sql, positions, _values_loader(compiler, conn) if as_values else loader(compiler, conn))


def _values_loader(compiler, conn) -> tuple | None:
    """What turns a row of a values() query's SQL into its dict, as Django's `ValuesIterable`
    does: (names, converters). `compiler` must have run `as_sql()`."""
    query = compiler.query
    if query.selected:
        names = list(query.selected)
    else:  # extra(select=...) columns are always at the start of the row
        names = [*query.extra_select, *query.values_select, *query.annotation_select]
    fields = [s[0] for s in compiler.select[0 : compiler.col_count]]
    if compiler.has_composite_fields(fields):  # pragma: no cover - not used by the pages
        raise TypeError("compiled.values does not read composite fields")
    return (names, list(compiler.get_converters(fields).items()))


def _plan_for(conn, key: Any, model, build, args, *, as_values: bool) -> tuple | None:
    """The plan of `key` for `conn` — (SQL, parameter positions, `loader()`'s parts or, with
    `as_values`, (names, converters)) — or None when `build` cannot be compiled (the caller
    runs the ORM). Cached per connection under `key` (`_PLANS`) and compiled once per
    database, under (alias, vendor, key) (`_SHARED`), each further connection getting the
    compiled plan with its own backend's converters (`_attach_plan`): a server thread's new
    connection compiles nothing the database's others compiled.

    Thread-safe without a lock: a connection, and so its `_PLANS` entry, belongs to one
    thread; `_SHARED` is only read and assigned whole (one dict operation each, atomic), so
    two threads that miss at once both compile the shape and store equal plans — the later
    store wins. Nothing kept is a connection's or a thread's own: the SQL and constants
    depend only on the vendor, populators on the alias."""
    per_conn = _PLANS.setdefault(conn, {})
    plan = per_conn.get(key, _MISSING)
    if plan is _MISSING:
        shared_key = (conn.alias, conn.vendor, key)
        shared = _SHARED.get(shared_key, _MISSING)
        if shared is _MISSING:
            compiled = _plan(conn, model, build, args, as_values=as_values)
            shared = _SHARED[shared_key] = (
                None if compiled is None else _detach_plan(compiled, conn, as_values)
            )
        plan = per_conn[key] = None if shared is None else _attach_plan(shared, conn, as_values)
    return plan


def _detach_plan(plan: tuple, conn, as_values: bool) -> tuple:
    sql, positions, parts = plan
    if as_values:
        names, converters = parts
        return (sql, positions, (names, detach(converters, conn)))
    return (sql, positions, detach_loader(parts, conn))


def _attach_plan(plan: tuple, conn, as_values: bool) -> tuple:
    sql, positions, parts = plan
    if as_values:
        names, converters = parts
        return (sql, positions, (names, attach(converters, conn)))
    return (sql, positions, attach_loader(parts, conn))


def detach(converters: list, conn) -> list:
    """`converters` (a compiler's `get_converters().items()`) with each method of `conn`'s
    backend operations (`conn.ops.convert_…`, bound to that connection) replaced by its name,
    so they can be kept for every connection of the database (`attach`)."""
    ops = conn.ops
    return [
        (
            pos,
            ([("ops", c.__name__) if getattr(c, "__self__", None) is ops else c for c in convs], expression),
        )
        for pos, (convs, expression) in converters
    ]


def attach(converters: list, conn) -> list:
    """`detach`'s converters with the named backend methods bound to `conn`'s operations."""
    ops = conn.ops
    return [
        (pos, ([getattr(ops, c[1]) if type(c) is tuple else c for c in convs], expression))
        for pos, (convs, expression) in converters
    ]


def detach_loader(parts: tuple, conn) -> tuple:
    """`loader()`'s parts with their converters `detach`ed."""
    start, end, attnames, populators, converters, annotations = parts
    return (start, end, attnames, populators, detach(converters, conn), annotations)


def attach_loader(parts: tuple, conn) -> tuple:
    """`detach_loader`'s parts for `conn`."""
    start, end, attnames, populators, converters, annotations = parts
    return (start, end, attnames, populators, attach(converters, conn), annotations)


def loader(compiler, conn) -> tuple:
    """What turns a row of `compiler`'s SQL into a model instance, as Django's `ModelIterable`
    does: (start, end, attnames, related populators, converters, annotations) — for
    `instances()`. `compiler` must have run `as_sql()`."""
    select, klass_info = compiler.select, compiler.klass_info
    start, end = klass_info["select_fields"][0], klass_info["select_fields"][-1] + 1
    return (
        start,
        end,
        [col[0].target.attname for col in select[start:end]],
        get_related_populators(klass_info, select, conn.alias),
        list(compiler.get_converters([col[0] for col in select]).items()),
        list(compiler.annotation_col_map.items()),
    )


def instances(conn, model: type[Model], fetched: Sequence[Sequence[Any]], parts: tuple) -> list[Model]:
    """The rows `fetched` (tuples from the cursor of `conn`) as `model` instances, with their
    related objects and annotations, by `parts` (`loader()`'s). Each instance, and each
    related one, is the one `Model.from_db` makes, built directly (`_fields_of`) when nothing
    but its values would happen in `__init__`."""
    start, end, attnames, populators, converters, annotations = parts
    out = []
    alias = conn.alias
    names = _fields_of(model, tuple(attnames))
    fast = _fast_populators(populators)
    if names is None or fast is None or _init_listened(model, populators):
        names, fast = None, None
    for raw in fetched:
        row = list(raw)
        for pos, (convs, expression) in converters:
            value = row[pos]
            for convert in convs:
                value = convert(value, expression, conn)
            row[pos] = value
        if names is None:
            obj = model.from_db(alias, attnames, row[start:end])
            for populator in populators:
                populator.populate(row, obj)
        else:
            obj = _new(model, alias, names, row[start:end])
            for related in fast:
                _populate(related, row, obj)
        for name, pos in annotations:
            setattr(obj, name, row[pos])
        out.append(obj)
    return out


@functools.cache
def _fields_of(model: type[Model], field_names: tuple[str, ...]) -> tuple[str, ...] | None:
    """The attribute names `model.from_db(db, field_names, values)` gives `values` to, in
    order (the model's concrete fields among `field_names`, as `from_db` pairs them), when
    building the instance is only that: `Model`'s own `from_db` and `__init__`, and every
    such attribute a plain one (`DeferredAttribute`) or a foreign key's id (whose setter only
    drops a cached related object, which a new instance has not). None otherwise (a file
    field's descriptor, an overridden `__init__`…): Django's path then. Signals are checked
    per call (`_init_listened`)."""
    if (
        model._meta.abstract
        or model.__init__ is not Model.__init__
        or model.from_db.__func__ is not Model.from_db.__func__
    ):
        return None
    names = tuple(f.attname for f in model._meta.concrete_fields if f.attname in field_names)
    if len(names) != len(field_names):
        return None
    for name in names:
        attr = inspect.getattr_static(model, name, None)
        if hasattr(type(attr), "__set__") and type(attr) is not ForeignKeyDeferredAttribute:
            return None
    return names


def _new(model: type[Model], db: str, names: tuple[str, ...], values: Sequence[Any]) -> Model:
    """`model.from_db(db, names, values)`'s instance (see `_fields_of`): its state, loaded
    from `db`, and its values — at ~4 Python calls rather than ~40."""
    obj = model.__new__(model)
    state = obj._state = ModelState()
    state.adding = False
    state.db = db
    obj.__dict__.update(zip(names, values, strict=True))
    return obj


def _fast_populators(populators: list) -> list | None:
    """Django's `RelatedPopulator`s (select_related), each as (populator, its model's
    `_fields_of`, its own related ones), or None when one of them needs Django's path."""
    out = []
    for p in populators:
        names = _fields_of(p.model_cls, tuple(p.init_list))
        children = _fast_populators(p.related_populators)
        if names is None or children is None:
            return None
        out.append((p, names, children))
    return out


def _init_listened(model: type[Model], populators: list) -> bool:
    """Whether a pre_init or post_init receiver listens to `model` or a related model of
    `populators` (connected at any time, so asked on every call)."""
    models = [model]
    stack = list(populators)
    while stack:
        p = stack.pop()
        models.append(p.model_cls)
        stack.extend(p.related_populators)
    return any(signals.pre_init.has_listeners(m) or signals.post_init.has_listeners(m) for m in models)


def _populate(related: tuple, row: list, from_obj: Model) -> None:
    """`RelatedPopulator.populate(row, from_obj)` (Django 5.2), its object built by `_new`."""
    p, names, children = related
    obj_data = p.reorder_for_init(row) if p.reorder_for_init else row[p.cols_start : p.cols_end]
    if obj_data[p.pk_idx] is None:
        obj = None
    else:
        obj = _new(p.model_cls, p.db, names, obj_data)
        for child in children:
            _populate(child, row, obj)
    p.local_setter(from_obj, obj)
    if obj is not None:
        p.remote_setter(obj, from_obj)


def rows(
    key: Any,
    model: type[Model],
    build: Callable[..., QuerySet],
    args: Sequence[Any],
    *,
    using: str | None = None,
) -> list[Model]:
    """`list(build(*args))`, with the query compiled once per database under `key` and kept
    per connection (`_plan_for`).

    `build` takes the arguments positionally and returns a queryset of `model` instances
    (filters, select_related, annotations, select_for_update, ordering, a slice; no values(),
    no prefetch_related); its SQL may depend only on `key`, never on the values of `args`
    (ints, strs and dates — not datetimes —, each used as a query parameter; constants of
    the query stay as they are). The same key must always be used with the same `build`;
    `key` None runs the ORM (for shapes too rare to keep). `using`: the database alias to
    read (a locking read passes the router's write database); default the router's for
    reading `model`. Raises TypeError for an argument of another type."""
    if key is None:  # not worth keeping (a rare shape): the ORM
        return _orm(build, args, using)
    conn = connections[router.db_for_read(model) if using is None else using]
    plan = _plan_for(conn, key, model, build, args, as_values=False)
    if plan is None:
        return _orm(build, args, using)
    sql, positions, parts = plan
    # Prepared on PostgreSQL (pgfast): the same statement every visit, planning once.
    with pgfast.cursor(conn) as cur:
        cur.execute(sql, [_adapt(conn, args[v]) if is_arg else v for is_arg, v in positions])
        fetched = cur.fetchall()
    return instances(conn, model, fetched, parts)


def _orm(build: Callable[..., QuerySet], args: Sequence[Any], using: str | None) -> list:
    """`build(*args)`'s rows by the ORM, from `using` when given."""
    qs = build(*args)
    return list(qs if using is None else qs.using(using))


def values(key: Any, model: type[Model], build: Callable[..., QuerySet], args: Sequence[Any]) -> list[dict]:
    """`list(build(*args))` for a `values(...)` queryset of `model` (the dicts Django's
    `ValuesIterable` gives, its converters applied), with the query compiled once per
    connection under `key`: as `rows`, whose rules `build`, `key` and `args` follow. Raises
    TypeError for an argument of another type than int, str or date."""
    if key is None:
        return list(build(*args))
    conn = connections[router.db_for_read(model)]
    plan = _plan_for(conn, ("values", key), model, build, args, as_values=True)
    if plan is None:
        return list(build(*args))
    sql, positions, (names, converters) = plan
    with pgfast.cursor(conn) as cur:
        cur.execute(sql, [_adapt(conn, args[v]) if is_arg else v for is_arg, v in positions])
        fetched = cur.fetchall()
    out = []
    for raw in fetched:
        if converters:
            row = list(raw)
            for pos, (convs, expression) in converters:
                value = row[pos]
                for convert in convs:
                    value = convert(value, expression, conn)
                row[pos] = value
        else:
            row = raw
        out.append(dict(zip(names, row, strict=False)))
    return out
