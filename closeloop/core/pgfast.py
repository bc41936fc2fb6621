"""What a request costs PostgreSQL before its own work starts (issue 16, item 1).

Measured on the benchmark's data (100,000 tasks), a signed-in request on PostgreSQL paid, in
round trips and planning, for what SQLite does in-process:

- Django's connection health check (`CONN_HEALTH_CHECKS`): a `SELECT 1` round trip before
  the first query of every request on a reused connection;
- planning the same few hand-written statements on every request: ~0.25 ms for the person's
  row with its scopes and the bell's count, ~1 ms for the API's task with its six relations
  (seven LEFT JOINs: the planner searches the join orders each time).

This module removes both, keeping what they are for:

- `quiet`, the health check of the PostgreSQL backend `closeloop.core.postgresql` (settings:
  ENGINE): a reused connection that is idle (no transaction open) and has nothing to read on
  its socket is healthy without asking the server — a server that ended the connection
  (restart, `pg_terminate_backend`, idle timeout) has sent its goodbye or closed the socket,
  which makes it readable. Anything else (data waiting, a transaction left open, not psycopg
  3) leaves the check to Django, which then runs its `SELECT 1` and replaces a dead
  connection as before.
- `cursor()`: a cursor whose statements PostgreSQL prepares once per connection (psycopg 3
  server-side binding, `prepare=True`); used by the per-request statements (`core.sessions`,
  `orgs.request_person`, `tasks.api.detail`). Elsewhere, and on SQLite (whose driver keeps
  its own statement cache), the ordinary cursor.
"""

import select
from contextlib import contextmanager

from django.db import connection
from django.db.backends.utils import CursorDebugWrapper, CursorWrapper

try:  # psycopg 3 (pinned); the fast paths are off with anything else
    from django.db.backends.postgresql.base import ServerBindingCursor
    from psycopg.pq import TransactionStatus
except ImportError:  # pragma: no cover
    ServerBindingCursor = None
    TransactionStatus = None


if ServerBindingCursor is not None:

    class PreparingCursor(ServerBindingCursor):
        """Django's server-side-binding cursor whose every `execute` asks psycopg to prepare
        the statement (once per connection and statement text and parameter types; psycopg
        keeps the last `prepared_max` of them, 100 by default)."""

        def execute(self, query, params=None, *, prepare=True, binary=None):
            return super().execute(query, params, prepare=prepare, binary=binary)

else:  # pragma: no cover
    PreparingCursor = None


class _LoggedCursor(CursorDebugWrapper):
    """Django's query logging (tests, DEBUG) for `PreparingCursor`: psycopg keeps no text of
    a prepared statement's execution, so the logged SQL is the statement with its parameters
    merged as the client-side cursor would have sent it."""

    def execute(self, sql, params=None):
        with self.debug_sql(self.db.ops.compose_sql(sql, params or ()), params):
            return CursorWrapper.execute(self, sql, params)


def prepares(conn=connection) -> bool:
    """Whether `cursor()` prepares statements on `conn`: PostgreSQL through psycopg 3 with a
    `prepare_threshold` in the database's OPTIONS (settings: DB_PREPARED_STATEMENTS, on by
    default; psycopg prepares nothing while the threshold is None, Django's default)."""
    return (
        PreparingCursor is not None
        and conn.vendor == "postgresql"
        and conn.settings_dict["OPTIONS"].get("prepare_threshold") is not None
    )


@contextmanager
def cursor(conn=None):
    """A cursor of `conn` (a connection of `django.db.connections`; default: the default
    one), as `conn.cursor()` gives (health check,
    connecting, thread check, query logging for tests), whose statements PostgreSQL prepares
    (see the module). Use it for statements run on most requests with `%s` parameters only
    (server-side binding: no `%%`, no parameters inside literals). Yields Django's cursor
    wrapper; closed on exit."""
    conn = connection if conn is None else conn
    if not prepares(conn):
        with conn.cursor() as plain:
            yield plain
        return
    # What BaseDatabaseWrapper._cursor() does, with our cursor class.
    conn.close_if_health_check_failed()
    conn.ensure_connection()
    with conn.wrap_database_errors:
        raw = PreparingCursor(conn.connection)
    conn.validate_thread_sharing()
    wrapped = _LoggedCursor(raw, conn) if conn.queries_logged else conn.make_cursor(raw)
    with wrapped:
        yield wrapped


def quiet(raw) -> bool:
    """True when the psycopg 3 connection `raw` is idle outside a transaction and nothing is
    waiting on its socket (no error, notice or end of stream sent by the server); False when
    in doubt (another driver, an error while looking)."""
    if TransactionStatus is None or not hasattr(select, "poll"):
        return False
    try:
        if raw.closed or raw.broken or raw.info.transaction_status != TransactionStatus.IDLE:
            return False
        poller = select.poll()
        poller.register(raw.fileno(), select.POLLIN | select.POLLPRI)
        return not poller.poll(0)
    except Exception:  # noqa: BLE001 - any doubt: Django's SELECT 1 decides
        return False
