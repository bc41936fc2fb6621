"""Database sessions whose read is one prepared statement (issue 16, item 1): SESSION_ENGINE.

Django's database store reads a session through the ORM (`Session.objects.get(...)`), which
builds and compiles the same query on every signed-in request — several times the cost of
running it. This store runs the same SELECT (the key, and an expiry date still ahead) as
plain SQL. The table, the cookie, expiry, rotation (`cycle_key`), saving and clearing are
Django's `db` store unchanged, so existing sessions stay valid.
"""

# ruff: noqa: S608 - SQL from model metadata (table and column names); values are parameters

import logging

from django.contrib.sessions.backends.db import SessionStore as DBStore
from django.core.exceptions import SuspiciousOperation
from django.db import connections, router
from django.utils import timezone

from closeloop.core import pgfast

_SQL: dict[tuple[str, str], str] = {}


class _Row:
    __slots__ = ("session_data",)

    def __init__(self, session_data: str) -> None:
        self.session_data = session_data


class SessionStore(DBStore):
    def _get_session_from_db(self):
        """The row's `session_data` (in an object with that one attribute, all `load` reads)
        when the key exists and has not expired, else None (and the key is dropped, so a new
        one is made on save), as Django's store does."""
        try:
            key = self.session_key
            if not key:
                self._session_key = None
                return None
            alias = router.db_for_read(self.model)
            connection = connections[alias]
            sql = _SQL.get((alias, connection.vendor))
            if sql is None:
                qn = connection.ops.quote_name
                sql = _SQL[(alias, connection.vendor)] = (
                    f"SELECT {qn('session_data')} FROM {qn(self.model._meta.db_table)} "
                    f"WHERE {qn('session_key')} = %s AND {qn('expire_date')} > %s"
                )
            with pgfast.cursor(connection) as cursor:
                cursor.execute(sql, [key, connection.ops.adapt_datetimefield_value(timezone.now())])
                row = cursor.fetchone()
        except SuspiciousOperation as e:
            logging.getLogger(f"django.security.{e.__class__.__name__}").warning(str(e))
            row = None
        if row is None:
            self._session_key = None
            return None
        return _Row(row[0])
