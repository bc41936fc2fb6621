"""`make run`: migrate, load the demo once, then serve the web app and one worker together.

Ctrl-C or SIGTERM to the process group stops both cleanly. A worker that dies is started again
after a growing pause (1 s, 2 s, 4 s … at most a minute; back to 1 s once it has stayed up a
minute), with the reason logged: a dead worker must not take the web server down. The web
server dying ends the run.
"""

import logging
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

log = logging.getLogger("closeloop.run")

BACKOFF_FIRST = 1.0
BACKOFF_MAX = 60.0
# A worker that ran at least this long before dying starts over from the first pause.
HEALTHY_SECONDS = 60.0


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "closeloop.manage", *args], check=True)  # noqa: S603  (fixed argv)


def _exit_reason(code: int) -> str:
    if code < 0:
        try:
            return f"killed by {signal.Signals(-code).name}"
        except ValueError:
            return f"killed by signal {-code}"
    return f"exit status {code}"


class Supervised:
    """One child process restarted with exponential backoff when it dies."""

    def __init__(self, name: str, argv: list[str], *, clock=time.monotonic, spawn=subprocess.Popen):
        self.name, self.argv, self.clock, self.spawn = name, argv, clock, spawn
        self.pause = BACKOFF_FIRST
        self.restart_at: float | None = None
        self.started_at = 0.0
        self.restarts = 0
        self.proc = self._start()

    def _start(self):
        self.started_at = self.clock()
        return self.spawn(self.argv)  # noqa: S603  (fixed argv, no shell)

    def tick(self) -> None:
        """Call often: notices a death, schedules and performs the restart."""
        now = self.clock()
        if self.restart_at is not None:
            if now >= self.restart_at:
                self.restart_at = None
                self.restarts += 1
                log.warning("%s: starting again (restart %d)", self.name, self.restarts)
                self.proc = self._start()
            return
        code = self.proc.poll()
        if code is None:
            return
        if now - self.started_at >= HEALTHY_SECONDS:
            self.pause = BACKOFF_FIRST
        log.error(
            "%s died (%s) after %.0f s; restarting in %.0f s",
            self.name,
            _exit_reason(code),
            now - self.started_at,
            self.pause,
        )
        self.restart_at = now + self.pause
        self.pause = min(self.pause * 2, BACKOFF_MAX)

    def alive(self) -> bool:
        return self.restart_at is None and self.proc.poll() is None


def _mark_demo_database() -> None:
    """Leave `var/demo-mode` beside the demo's SQLite database, so `closeloop …` in a second
    terminal runs in demo mode too without CLOSELOOP_DEMO (see settings.DEMO_MODE)."""
    if os.environ.get("CLOSELOOP_DEMO", "").strip().lower() not in {"1", "true", "yes", "on"}:
        return
    if os.environ.get("DATABASE_URL"):
        return
    var = Path(os.environ.get("CLOSELOOP_VAR_DIR") or Path(__file__).resolve().parent.parent / "var")
    var.mkdir(parents=True, exist_ok=True)
    (var / "demo-mode").write_text(
        "Written by `make run`: the SQLite database here holds the demo, so `closeloop` commands\n"
        "run in demo mode (demo logins, development secret key). Delete this file to stop that.\n",
        encoding="utf-8",
    )


def main() -> int:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(name)s %(levelname)s %(message)s")
    port = os.environ.get("PORT", "8000")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
    _mark_demo_database()
    _manage("migrate", "--no-input", "-v", "0")
    _manage("demo", "--if-empty")

    web = subprocess.Popen(  # noqa: S603  (fixed argv, no shell)
        [
            sys.executable,
            "-m",
            "gunicorn",
            "closeloop.wsgi:application",
            "--bind",
            f"127.0.0.1:{port}",
            "--workers",
            os.environ.get("WEB_CONCURRENCY", "2"),
            # Two threads a worker: the pages are CPU-bound, and with four each worker's
            # requests took turns on one interpreter lock (bench.load, 16 users, 2 workers:
            # 2 threads 53 / 35 requests/s on SQLite / PostgreSQL, 4 threads 42 / 30).
            "--threads",
            os.environ.get("WEB_THREADS", "2"),
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
        ]
    )
    worker = Supervised("worker", [sys.executable, "-m", "closeloop.manage", "worker"])

    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for child in (web, worker.proc):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    time.sleep(1.0)
    from closeloop.demo_info import banner

    print(banner(f"http://127.0.0.1:{port}/"), flush=True)

    while not stopping:
        if web.poll() is not None:
            log.error("web server stopped (%s); stopping the worker", _exit_reason(web.returncode))
            stop(signal.SIGTERM, None)
            break
        worker.tick()
        time.sleep(0.5)
    deadline = time.monotonic() + 20
    for child in (web, worker.proc):
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
