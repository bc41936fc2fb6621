"""`make run`: migrate, load the demo once, then serve the web app and one worker together.

Ctrl-C or SIGTERM to the process group stops both cleanly.
"""

import os
import signal
import subprocess
import sys
import time


def _manage(*args: str) -> None:
    subprocess.run([sys.executable, "-m", "closeloop.manage", *args], check=True)  # noqa: S603  (fixed argv)


def main() -> int:
    port = os.environ.get("PORT", "8000")
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "closeloop.settings")
    os.environ.setdefault("SITE_URL", f"http://127.0.0.1:{port}")
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
            "--threads",
            "4",
            "--access-logfile",
            "-",
            "--graceful-timeout",
            "10",
        ]
    )
    worker = subprocess.Popen([sys.executable, "-m", "closeloop.manage", "worker"])  # noqa: S603
    children = [web, worker]

    stopping = False

    def stop(signum, _frame):
        nonlocal stopping
        if stopping:
            return
        stopping = True
        for child in children:
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)

    signal.signal(signal.SIGINT, stop)
    signal.signal(signal.SIGTERM, stop)

    time.sleep(1.0)
    from closeloop.demo_info import banner

    print(banner(f"http://127.0.0.1:{port}/"), flush=True)

    while not stopping:
        if any(child.poll() is not None for child in children):
            stop(signal.SIGTERM, None)
            break
        time.sleep(0.5)
    deadline = time.monotonic() + 20
    for child in children:
        try:
            child.wait(timeout=max(0.1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            child.kill()
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
