"""The signed-in person of a request in one query (issue 16, item 1).

Every signed-in request used to read the person (`ModelBackend.get_user`), then their
department scopes (`orgs.selectors`) and the bell's unread count (`notify`), each through the
ORM: three round trips, and about a millisecond of query building on a page that shows
nothing else. Here one hand-written statement reads the person's row with, as scalar
subqueries on the same row:

- the departments they are a member of, and the departments they head or deputise with every
  department below them (a recursive CTE over the small department tree) — memoised on the
  user object as `orgs.selectors` would have computed them (`prime_scopes`);
- what other apps register with `register_extra` (notify: the unread count).

Nothing is kept between requests: the scopes are read fresh on every request, so a person
removed from a department or deactivated loses access on their next request, as before.
Used by the session middleware (`orgs.middleware`) and by API token authentication.
"""

# ruff: noqa: S608 - SQL from model metadata (table and column names); values are parameters

from collections.abc import Callable
from typing import Any

from django.db import connection

from closeloop.core import pgfast, rawrows
from closeloop.orgs.models import ApiToken, Department, Membership, User
from closeloop.orgs.selectors import prime_scopes

# (attribute, SQL of a scalar subquery on the person's row `u`, what to do with the value)
_EXTRAS: list[tuple[str, str, Callable[[User, Any], None]]] = []
_SQL: dict[tuple[str, str], str] = {}


def register_extra(name: str, sql: str, apply: Callable[[User, Any], None]) -> None:
    """Read one more value with the signed-in person. `sql`: a scalar subquery (in
    parentheses) that refers to the person's row as `u` (e.g. `u."id"`), portable between
    SQLite and PostgreSQL; `apply(user, value)` memoises the value on the user object. `name`
    identifies the extra: registering a name again replaces it (apps' `ready()` may run twice
    in tests). Register in an AppConfig's `ready()`."""
    _EXTRAS[:] = [e for e in _EXTRAS if e[0] != name]
    _EXTRAS.append((name, sql, apply))
    _SQL.clear()


def _agg(column: str) -> str:
    if connection.vendor == "postgresql":
        return f"string_agg(({column})::text, ',')"
    return f"group_concat({column})"


def _select() -> str:
    """The person's columns and the subqueries, as a SELECT list over `u` (orgs_user)."""
    qn = connection.ops.quote_name
    columns = rawrows.columns(User, "u")
    dept, member = qn(Department._meta.db_table), qn(Membership._meta.db_table)
    member_ids = (
        f"(SELECT {_agg('m.' + qn('department_id'))} FROM {member} m WHERE m.{qn('user_id')} = u.{qn('id')})"
    )
    # Each led department as "id:parent:head:deputy" (0 for none), for the scopes and for
    # who accepts what (`orgs.selectors.acceptance_routes`).
    names = ("id", "parent_id", "head_id", "deputy_id")
    cols, child_cols = (", ".join(f"{t}.{qn(c)}" for c in names) for t in ("d", "c"))
    row = " || ':' || ".join(f"COALESCE(led.{c}, 0)" for c in ("id", "parent", "head", "deputy"))
    led_ids = (
        f"(WITH RECURSIVE led(id, parent, head, deputy) AS (SELECT {cols} FROM {dept} d "
        f"WHERE d.{qn('head_id')} = u.{qn('id')} OR d.{qn('deputy_id')} = u.{qn('id')} "
        f"UNION SELECT {child_cols} FROM {dept} c INNER JOIN led ON c.{qn('parent_id')} = led.id) "
        f"SELECT {_agg(row)} FROM led)"
    )
    extras = "".join(f", {sql}" for _, sql, _apply in _EXTRAS)
    return f"{columns}, {member_ids}, {led_ids}{extras}"


def _sql(kind: str) -> str:
    key = (connection.vendor, kind)
    sql = _SQL.get(key)
    if sql is None:
        qn = connection.ops.quote_name
        user = qn(User._meta.db_table)
        if kind == "id":
            sql = f"SELECT {_select()} FROM {user} u WHERE u.{qn('id')} = %s"
        else:  # a token by its hash: its id and whether its last use is older than %s
            token = qn(ApiToken._meta.db_table)
            sql = (
                f"SELECT t.{qn('id')}, CASE WHEN t.{qn('last_used_at')} IS NULL "
                f"OR t.{qn('last_used_at')} < %s THEN 1 ELSE 0 END, {_select()} "
                f"FROM {token} t INNER JOIN {user} u ON u.{qn('id')} = t.{qn('user_id')} "
                f"WHERE t.{qn('key_hash')} = %s AND t.{qn('revoked_at')} IS NULL"
            )
        _SQL[key] = sql
    return sql


def _person(row: tuple) -> User:
    """A User from the row's leading columns, with the scopes and extras memoised on it."""
    n = rawrows.width(User)
    user = rawrows.instance(User, row[:n])
    member, led = row[n], row[n + 1]
    led_rows = _led_rows(led)
    prime_scopes(user, member=_ids(member), led={r[0] for r in led_rows}, led_rows=led_rows)
    for (_name, _sql_text, apply), value in zip(_EXTRAS, row[n + 2 :], strict=True):
        apply(user, value)
    return user


def _ids(text: str | None) -> set[int]:
    return {int(x) for x in text.split(",")} if text else set()


def _led_rows(text: str | None) -> list[tuple[int, int | None, int | None, int | None]]:
    """ "id:parent:head:deputy,…" as (id, parent, head, deputy) rows (0 read as None), by id."""
    if not text:
        return []
    rows = {}
    for item in text.split(","):
        pk, parent, head, deputy = (int(x) or None for x in item.split(":"))
        rows[pk] = (pk, parent, head, deputy)
    return [rows[pk] for pk in sorted(rows)]


def person_by_id(user_id: int) -> User | None:
    """The person with id `user_id` (active or not; the caller decides), their scopes and the
    registered extras memoised on them, in one query; None when there is no such person."""
    with pgfast.cursor() as cursor:
        cursor.execute(_sql("id"), [user_id])
        row = cursor.fetchone()
    return _person(row) if row is not None else None


def person_by_token(key_hash: str, *, used_before) -> tuple[User, int, bool] | None:
    """The person a live (not revoked) API token belongs to, found by the SHA-256 `key_hash`,
    with their scopes and extras, in one query: (person, token id, whether the token was last
    used before `used_before`, an aware datetime, or never). None for an unknown or revoked
    token; an inactive person is returned (the caller refuses them)."""
    with pgfast.cursor() as cursor:
        cursor.execute(_sql("token"), [connection.ops.adapt_datetimefield_value(used_before), key_hash])
        row = cursor.fetchone()
    if row is None:
        return None
    return _person(row[2:]), row[0], bool(row[1])
