import os
import subprocess
import sys

import pytest
from django.db import connection


@pytest.mark.skipif(connection.vendor != "sqlite", reason="SQLite PRAGMAs")
def test_sqlite_runs_in_wal_with_immediate_transactions_and_a_busy_timeout(db):
    assert connection.settings_dict["NAME"] != ":memory:" and "mode=memory" not in str(
        connection.settings_dict["NAME"]
    )
    with connection.cursor() as cursor:
        cursor.execute("PRAGMA journal_mode")
        assert cursor.fetchone()[0].lower() == "wal"
        cursor.execute("PRAGMA busy_timeout")
        assert cursor.fetchone()[0] >= 5000
        cursor.execute("PRAGMA foreign_keys")
        assert cursor.fetchone()[0] == 1
    assert connection.transaction_mode == "IMMEDIATE"


def test_healthz_answers_without_the_database(client):
    response = client.get("/healthz")
    assert response.status_code == 200 and response.json() == {"status": "ok"}


def test_readyz_checks_the_database(client, db):
    response = client.get("/readyz")
    assert response.status_code == 200 and response.json()["status"] == "ok"


def _settings_run(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DEBUG", "CLOSELOOP_DEMO", "DJANGO_SETTINGS_MODULE")
    }
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='closeloop.settings'; django.setup(); from django.conf import settings; print(settings.LANGUAGE_CODE, settings.TIME_ZONE)",
        ],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _settings_run({})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def test_defaults_are_chinese_and_shanghai_and_a_bad_boolean_is_named():
    ok = _settings_run({"SECRET_KEY": "x" * 50})
    assert ok.stdout.split() == ["zh-hans", "Asia/Shanghai"]
    bad = _settings_run({"SECRET_KEY": "x" * 50, "DEBUG": "maybe"})
    assert bad.returncode != 0 and "DEBUG" in bad.stderr
