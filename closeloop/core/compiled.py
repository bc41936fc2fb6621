"""ORM queries compiled once per database connection (issue 16, item 2).

Building and compiling a queryset costs the task page ~1,000–2,000 Python calls per query,
more than running it: the page's reads (subtasks, events, collaborators, criteria, comments)
have the same shape on every visit, only their values differ. `rows(key, model, build, args)`
compiles `build(*marks)` once per connection — the marks are placeholder values the
parameters are recognised by — and then runs its SQL with `args` in their place, turning the
rows into instances as Django's `ModelIterable` does (the backend's and the fields'
converters, `from_db`, the select_related populators, annotations). A queryset whose
parameters are not exactly the marks (a lookup that transforms its value: `__contains`,
`__startswith`) is refused when compiled, and each call runs the ORM instead.
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Sequence
from typing import Any

from django.db import connections, router
from django.db.models import Model, QuerySet
from django.db.models.query import ModelIterable, get_related_populators

from closeloop.core import pgfast

# connection → key → plan (or None: not compilable, use the ORM)
_PLANS: weakref.WeakKeyDictionary = weakref.WeakKeyDictionary()
_INT_MARKS = (987_654_000, 987_655_000)
_STR_MARKS = ("\x02closeloop-mark-{}\x03", "\x02closeloop-other-{}\x03")


def _marks(args: Sequence[Any], which: int) -> list[Any]:
    """A placeholder per argument, of its type: an int or a string no real value equals
    (`which`: one of two sets, to tell the parameters that follow an argument)."""
    marks = []
    for i, a in enumerate(args):
        if isinstance(a, bool) or not isinstance(a, int | str):
            raise TypeError(f"compiled.rows takes int and str arguments, not {type(a).__name__}")
        marks.append(_INT_MARKS[which] + i if isinstance(a, int) else _STR_MARKS[which].format(i))
    return marks


def _plan(conn, model: type[Model], build: Callable[..., QuerySet], args: Sequence[Any]) -> tuple | None:
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
    marks, marks_b = _marks(args, 0), _marks(args, 1)
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
    if qs.model is not model or qs._prefetch_related_lookups or qs._iterable_class is not ModelIterable:
        return None
    return (sql, positions, loader(compiler, conn))


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
    related objects and annotations, by `parts` (`loader()`'s)."""
    start, end, attnames, populators, converters, annotations = parts
    out = []
    alias = conn.alias
    for raw in fetched:
        row = list(raw)
        for pos, (convs, expression) in converters:
            value = row[pos]
            for convert in convs:
                value = convert(value, expression, conn)
            row[pos] = value
        obj = model.from_db(alias, attnames, row[start:end])
        for populator in populators:
            populator.populate(row, obj)
        for name, pos in annotations:
            setattr(obj, name, row[pos])
        out.append(obj)
    return out


def rows(key: Any, model: type[Model], build: Callable[..., QuerySet], args: Sequence[Any]) -> list[Model]:
    """`list(build(*args))`, with the query compiled once per connection under `key`.

    `build` takes the arguments positionally and returns a queryset of `model` instances
    (filters, select_related, annotations, ordering, a slice; no values(), no
    prefetch_related); its SQL may depend only on `key`, never on the values of `args`
    (ints and strs, each used as a query parameter; constants of the query stay as they
    are). The same key must always be used with the same `build`; `key` None runs the ORM
    (for shapes too rare to keep). Raises TypeError for an argument of another type."""
    if key is None:  # not worth keeping (a rare shape): the ORM
        return list(build(*args))
    conn = connections[router.db_for_read(model)]
    per_conn = _PLANS.setdefault(conn, {})
    if key not in per_conn:
        per_conn[key] = _plan(conn, model, build, args)
    plan = per_conn[key]
    if plan is None:
        return list(build(*args))
    sql, positions, parts = plan
    # Prepared on PostgreSQL (pgfast): the same statement every visit, planning once.
    with pgfast.cursor(conn) as cur:
        cur.execute(sql, [args[v] if is_arg else v for is_arg, v in positions])
        fetched = cur.fetchall()
    return instances(conn, model, fetched, parts)
