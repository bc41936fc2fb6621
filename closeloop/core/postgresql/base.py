"""`django.db.backends.postgresql` whose connection health check (`CONN_HEALTH_CHECKS`) asks
the server only when the connection is not plainly healthy (issue 16, item 1; see
`closeloop.core.pgfast`). Everything else is Django's."""

from django.db.backends.postgresql import base

from closeloop.core.pgfast import quiet


class DatabaseWrapper(base.DatabaseWrapper):
    def close_if_health_check_failed(self):
        """Django runs this before the first query after a request began (and before changing
        autocommit): with health checks on, a `SELECT 1` round trip on a reused connection,
        closing it when that fails. A connection that is idle outside a transaction with
        nothing waiting on its socket (`pgfast.quiet`) is healthy without that round trip: a
        server that ended it (restart, `pg_terminate_backend`, idle timeout) has sent its
        goodbye or closed the socket, which makes it readable. Otherwise Django's check."""
        if (
            self.connection is not None
            and self.health_check_enabled
            and not self.health_check_done
            and not self.pool
            and quiet(self.connection)
        ):
            self.health_check_done = True
            return
        super().close_if_health_check_failed()
