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


def test_production_refuses_to_start_without_a_secret_key(tmp_path):
    result = _settings_run({"CLOSELOOP_VAR_DIR": str(tmp_path)})
    assert result.returncode != 0
    assert "SECRET_KEY" in result.stderr


def _demo_mode(env: dict[str, str]) -> subprocess.CompletedProcess:
    clean = {
        k: v
        for k, v in os.environ.items()
        if k not in ("SECRET_KEY", "DEBUG", "CLOSELOOP_DEMO", "DJANGO_SETTINGS_MODULE", "DATABASE_URL")
    }
    clean.update(env)
    return subprocess.run(
        [
            sys.executable,
            "-c",
            "import django, os; os.environ['DJANGO_SETTINGS_MODULE']='closeloop.settings'; django.setup(); from django.conf import settings; print(settings.DEMO_MODE)",
        ],
        env=clean,
        capture_output=True,
        text=True,
        timeout=60,
    )


def test_closeloop_commands_after_make_run_need_no_variable_but_production_still_refuses(tmp_path):
    from closeloop.run import _mark_demo_database

    old = {k: os.environ.get(k) for k in ("CLOSELOOP_DEMO", "CLOSELOOP_VAR_DIR", "DATABASE_URL")}
    os.environ.update(CLOSELOOP_DEMO="1", CLOSELOOP_VAR_DIR=str(tmp_path))
    os.environ.pop("DATABASE_URL", None)
    try:
        _mark_demo_database()  # what `make run` does first
    finally:
        for k, v in old.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    assert (tmp_path / "demo-mode").is_file()
    # A second terminal: no CLOSELOOP_DEMO, no SECRET_KEY.
    second = _demo_mode({"CLOSELOOP_VAR_DIR": str(tmp_path)})
    assert second.returncode == 0 and second.stdout.strip() == "True", second.stderr
    # The marker speaks for the demo's SQLite database only, and CLOSELOOP_DEMO=0 wins.
    for env in (
        {"DATABASE_URL": "postgres://closeloop@db.internal:5432/closeloop"},
        {"CLOSELOOP_DEMO": "0"},
    ):
        prod = _demo_mode({"CLOSELOOP_VAR_DIR": str(tmp_path), **env})
        assert prod.returncode != 0 and "SECRET_KEY" in prod.stderr


def test_defaults_are_chinese_and_shanghai_and_a_bad_boolean_is_named():
    ok = _settings_run({"SECRET_KEY": "x" * 50})
    assert ok.stdout.split() == ["zh-hans", "Asia/Shanghai"]
    bad = _settings_run({"SECRET_KEY": "x" * 50, "DEBUG": "maybe"})
    assert bad.returncode != 0 and "DEBUG" in bad.stderr
