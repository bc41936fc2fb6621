"""A moment's calendar date in its department's time zone, computed by the database, so the
on-time rates of 仪表盘 and 周复盘 are counted with COUNT … FILTER instead of converting every
completion of the window in Python (issue 16 item 4).

The date is the UTC moment shifted by the zone's offset at that moment. The offset is
constant between the zone's transitions, so for a bounded window it is a short CASE over the
moment (one branch per transition inside the window, usually none: one branch per zone).
The transitions come from Python's own zone data, so the database gives exactly the date
`timezone.localtime(moment, tz).date()` gives, whatever zone data the database has.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from datetime import UTC, date, datetime, timedelta, tzinfo

from django.db import connection
from django.db.models import Case, DateField, F, Func, IntegerField, Q, QuerySet, Value, When

# How far apart the offsets are sampled; a transition between two samples is then found to
# the second. No zone has two transitions that cancel out within six hours.
_STEP = timedelta(hours=6)


def _offset(tz: tzinfo, seconds: float) -> int:
    moment = datetime.fromtimestamp(seconds, UTC)
    return int(moment.astimezone(tz).utcoffset().total_seconds())


def offset_pieces(tz: tzinfo, start: datetime, end: datetime) -> list[tuple[datetime, int]]:
    """The zone's UTC offsets over [start, end) (aware datetimes), as [(until, seconds)]: the
    offset `seconds` holds for moments before `until` (and from the previous `until` on); the
    last `until` is `end`. Transitions are found to the second (tz data has whole seconds)."""
    pieces: list[tuple[datetime, int]] = []
    t = start.timestamp()
    stop = end.timestamp()
    current = _offset(tz, t)
    while t < stop:
        nxt = min(t + _STEP.total_seconds(), stop)
        if _offset(tz, nxt) != current:
            # The first whole second with another offset, in (t, nxt].
            low, high = math.floor(t), math.ceil(nxt)
            while high - low > 1:
                mid = (low + high) // 2
                if _offset(tz, mid) == current:
                    low = mid
                else:
                    high = mid
            if high < stop:
                pieces.append((datetime.fromtimestamp(high, UTC), current))
                current = _offset(tz, high)
            t = float(high)
        else:
            t = nxt
    pieces.append((end, current))
    return pieces


def offset_case(
    zones: Iterable[tuple[tzinfo, list[int] | None]], start: datetime, end: datetime, *, moment: str
) -> Case:
    """The UTC offset in seconds of `moment` (a datetime field) in its department's zone, for
    moments in [start, end); NULL outside. `zones` pairs each zone with the department ids in
    it (None: every row, when there is one zone)."""
    whens = []
    for tz, department_ids in zones:
        dept_q = Q() if department_ids is None else Q(department_id__in=list(department_ids))
        for until, seconds in offset_pieces(tz, start, end):
            whens.append(When(dept_q & Q(**{f"{moment}__lt": until}), then=Value(seconds)))
    return Case(*whens, default=Value(None), output_field=IntegerField())


class LocalDate(Func):
    """The date of `moment` (a datetime column holding UTC) shifted by `offset` seconds (an
    integer expression, e.g. `offset_case`). NULL where the offset is NULL.

    SQLite: `date()` keeps milliseconds and rounds the rest, which could carry 23:59:59.9996
    into the next day, so the moment is cut to the whole second first (day boundaries are
    whole seconds, so the date is unchanged). PostgreSQL: exact timestamp arithmetic."""

    output_field = DateField()

    def __init__(self, moment, offset):
        super().__init__(moment, offset, output_field=DateField())

    def as_sql(self, compiler, connection, **extra):
        raise NotImplementedError(f"LocalDate is written for SQLite and PostgreSQL, not {connection.vendor}")

    def as_sqlite(self, compiler, connection, **extra):
        moment, p1 = compiler.compile(self.source_expressions[0])
        offset, p2 = compiler.compile(self.source_expressions[1])
        return f"date(substr({moment}, 1, 19), ({offset}) || ' seconds')", (*p1, *p2)

    def as_postgresql(self, compiler, connection, **extra):
        moment, p1 = compiler.compile(self.source_expressions[0])
        offset, p2 = compiler.compile(self.source_expressions[1])
        return f"((({moment}) AT TIME ZONE 'UTC') + ({offset}) * INTERVAL '1 second')::date", (*p1, *p2)


def tally_on_time(qs: QuerySet, day: LocalDate, keys: Sequence[str], *, by_day: bool = False) -> list[tuple]:
    """Count the done tasks of `qs` (a Task queryset, visibility and window applied) grouped by
    the fields `keys` (names, e.g. "owner_id") and, with `by_day`, by their completion date
    `day` (a `LocalDate`, NULL outside the window it covers). Returns tuples of the keys'
    values, then (`by_day`) the date (a `date`), then four counts: completions whose `day`
    is known, those on or before their due date, on or before their original due date, and
    those whose `day` is NULL (beyond the window `day` covers).

    The date is computed once a row, in a subquery the databases do not merge into the
    grouping (SQLite `LIMIT -1`, PostgreSQL `OFFSET 0`): written inside each COUNT … FILTER
    and the GROUP BY, SQLite computed it three or four times a completion (issue 16: the
    eight-week trend of a 20,000-task department 347,518 → 266,748 VM steps)."""
    sql, params = tally_sql(qs, day, keys, by_day=by_day)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    if not by_day:
        return [tuple(r) for r in rows]
    n = len(keys)
    return [(*r[:n], _as_date(r[n]), *r[n + 1 :]) for r in rows]


def tally_sql(qs: QuerySet, day: LocalDate, keys: Sequence[str], *, by_day: bool = False) -> tuple[str, list]:
    """The SQL and parameters `tally_on_time` runs (same arguments, same columns), to be
    combined with other SQL (`insights.selectors`: the completion tally's days)."""
    cols = {f"k{i}": F(key) for i, key in enumerate(keys)}
    inner = qs.order_by().values(**cols, day=day, due=F("due_date"), orig=F("original_due_date"))
    sql, params = inner.query.sql_with_params()
    fence = "LIMIT -1" if connection.vendor == "sqlite" else "OFFSET 0"
    group = [f"s.k{i}" for i in range(len(keys))] + (["s.day"] if by_day else [])
    select = ", ".join(
        [
            *group,
            'COUNT(*) FILTER (WHERE s.day IS NOT NULL) AS "done"',
            'COUNT(*) FILTER (WHERE s.due >= s.day) AS "on_time"',
            'COUNT(*) FILTER (WHERE s.orig >= s.day) AS "on_time_original"',
            'COUNT(*) FILTER (WHERE s.day IS NULL) AS "beyond"',
        ]
    )
    grouping = f" GROUP BY {', '.join(group)}" if group else ""
    return f"SELECT {select} FROM ({sql} {fence}) s{grouping}", list(params)  # noqa: S608


def _as_date(value) -> date | None:
    """SQLite gives the date as text, PostgreSQL as a date."""
    return date.fromisoformat(value) if isinstance(value, str) else value
