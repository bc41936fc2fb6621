"""core.pgfast: the health check without a round trip, and prepared per-request statements."""

import select
import time
from unittest import mock

import pytest
from django.core.signals import request_finished, request_started
from django.db import close_old_connections, connection, connections
from django.test.utils import CaptureQueriesContext

from closeloop.core import pgfast
from closeloop.orgs.request_person import person_by_id
from closeloop.testing.factories import UserFactory

postgres_only = pytest.mark.skipif(connection.vendor != "postgresql", reason="PostgreSQL connections")


def _backend_pid() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_backend_pid()")
        return cursor.fetchone()[0]


def _between_requests() -> None:
    """What gunicorn's thread does between two requests: Django's request_finished and
    request_started signals (close_old_connections: the next query health-checks the
    connection). Sent here even if a test client left its own receiver out."""
    for signal in (request_finished, request_started):
        signal.send(sender=None)
        close_old_connections()
    assert not connection.health_check_done


def _terminate(pid: int) -> None:
    """End backend `pid` from another connection, and wait until its end reaches our socket."""
    other = connections.create_connection("default")
    try:
        with other.cursor() as cursor:
            cursor.execute("SELECT pg_terminate_backend(%s)", [pid])
    finally:
        other.close()
    poller = select.poll()
    poller.register(connection.connection.fileno(), select.POLLIN)
    deadline = time.monotonic() + 10
    while not poller.poll(100) and time.monotonic() < deadline:
        pass


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_quiet_connection_is_reused_without_select_1():
    assert connection.settings_dict["ENGINE"] == "closeloop.core.postgresql"
    pid = _backend_pid()
    _between_requests()
    with mock.patch.object(connection, "is_usable", side_effect=AssertionError("pinged")):
        assert _backend_pid() == pid
    assert connection.health_check_done


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_connection_the_server_ended_is_replaced_before_the_next_request():
    pid = _backend_pid()
    _terminate(pid)
    _between_requests()
    with mock.patch.object(connection, "is_usable", wraps=connection.is_usable) as is_usable:
        assert _backend_pid() != pid  # Django connected again: the request works
    assert is_usable.call_count == 1  # left to Django's SELECT 1, which failed


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_a_connection_left_in_a_transaction_keeps_djangos_check():
    _backend_pid()
    connection.connection.execute("BEGIN")  # behind Django's back: not idle
    try:
        _between_requests()
        with mock.patch.object(connection, "is_usable", return_value=True) as is_usable:
            connection.close_if_health_check_failed()
        assert is_usable.call_count == 1
    finally:
        connection.connection.execute("ROLLBACK")


@postgres_only
@pytest.mark.django_db(transaction=True)
def test_per_request_statements_are_prepared_and_read_the_same_rows():
    person = UserFactory(name="<b>李&amp;</b>", time_zone="Asia/Shanghai", language="en")
    with connection.cursor() as cursor:
        cursor.execute("DEALLOCATE ALL")
    connection.close()  # a fresh connection: psycopg's own list of prepared statements too
    first = person_by_id(person.pk)
    with CaptureQueriesContext(connection) as ctx:
        again = person_by_id(person.pk)
    assert len(ctx.captured_queries) == 1 and f"= {person.pk}" in ctx.captured_queries[0]["sql"]
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements")
        prepared = [row[0] for row in cursor.fetchall()]
    assert any('FROM "orgs_user" u WHERE' in sql for sql in prepared), prepared
    for loaded in (first, again):
        for field in person._meta.concrete_fields:
            assert getattr(loaded, field.attname) == getattr(person, field.attname), field.name


@pytest.mark.django_db
def test_without_prepared_statements_the_cursor_is_djangos(monkeypatch):
    monkeypatch.setitem(connection.settings_dict["OPTIONS"], "prepare_threshold", None)
    assert not pgfast.prepares()
    with pgfast.cursor() as cursor:
        assert not isinstance(cursor.cursor, pgfast.PreparingCursor or ())
        cursor.execute("SELECT 1")
        assert cursor.fetchone() == (1,)


@postgres_only
@pytest.mark.django_db
def test_the_apps_connections_run_no_parallel_workers():
    """DB_PARALLEL_WORKERS (default 0) reaches PostgreSQL as a startup option: the app's
    statements read a few thousand index entries, where two workers started for a misjudged
    estimate cost more than the scan (仪表盘's owned-elsewhere count: 12 → 3 ms)."""
    with connection.cursor() as cursor:
        cursor.execute("SHOW max_parallel_workers_per_gather")
        assert cursor.fetchone()[0] == "0"


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, "-c max_parallel_workers_per_gather=0"),
        ("2", "-c max_parallel_workers_per_gather=2"),
        ("", None),
    ],
)
def test_db_parallel_workers_sets_the_startup_option_or_leaves_the_servers(value, expected):
    import os
    import subprocess
    import sys

    env = {k: v for k, v in os.environ.items() if k != "DB_PARALLEL_WORKERS"}
    env.update(DATABASE_URL="postgres://postgres@127.0.0.1:5432/x", DEBUG="1")
    if value is not None:
        env["DB_PARALLEL_WORKERS"] = value
    code = "import closeloop.settings as s; print(s.DATABASES['default']['OPTIONS'].get('options'))"
    out = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True)
    assert out.stdout.strip() == str(expected)
    env["DB_PARALLEL_WORKERS"] = "two"
    bad = subprocess.run([sys.executable, "-c", code], env=env, capture_output=True, text=True)
    assert (
        bad.returncode != 0 and "DB_PARALLEL_WORKERS must be a whole number or empty, not 'two'" in bad.stderr
    )
