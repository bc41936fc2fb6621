"""The worker: one loop that runs registered periodic jobs and drains registered queues.

Several workers may run on several hosts against one database. Nothing here needs a lock:
periodic runs are claimed through `JobRun` rows and queue items by each queue's own atomic
claim. SIGTERM / SIGINT ask the loop to stop after the item in hand.
"""

import logging
import os
import signal
import socket
import threading
import time
import uuid
from datetime import datetime

from django.conf import settings
from django.db import close_old_connections
from django.utils import timezone

from closeloop.core import jobs
from closeloop.core.models import WorkerHeartbeat

log = logging.getLogger("closeloop.worker")


class Worker:
    def __init__(self, *, worker_id: str | None = None, batch: int = 50):
        self.worker_id = worker_id or f"{socket.gethostname()}:{os.getpid()}:{uuid.uuid4().hex[:6]}"
        self.batch = batch
        self.stop_event = threading.Event()
        self.last_run: dict[str, float] = {}
        self.processed = 0

    # -- lifecycle -------------------------------------------------------
    def install_signal_handlers(self) -> None:
        def _stop(signum: int, _frame: object) -> None:
            log.info("worker %s: signal %s, finishing the current item", self.worker_id, signum)
            self.stop_event.set()

        signal.signal(signal.SIGTERM, _stop)
        signal.signal(signal.SIGINT, _stop)

    def heartbeat(self, current: str = "", *, stopped: bool = False) -> None:
        now = timezone.now()
        WorkerHeartbeat.objects.update_or_create(
            worker_id=self.worker_id,
            defaults={
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "last_seen": now,
                "current": current[:200],
                "processed": self.processed,
                "stopped_at": now if stopped else None,
            },
            create_defaults={
                "hostname": socket.gethostname(),
                "pid": os.getpid(),
                "started_at": now,
                "last_seen": now,
                "processed": self.processed,
            },
        )

    def run_forever(self) -> None:
        log.info("worker %s started", self.worker_id)
        self.heartbeat("starting")
        while not self.stop_event.is_set():
            close_old_connections()
            try:
                self.tick(timezone.now())
            except Exception:  # keep the loop alive; the job's own error is already logged
                log.exception("worker tick failed")
            self.heartbeat("idle")
            self.stop_event.wait(settings.WORKER_POLL_SECONDS)
        self.heartbeat("stopped", stopped=True)
        log.info("worker %s stopped", self.worker_id)

    # -- one pass ----------------------------------------------------------
    def tick(self, now: datetime, *, force_periodic: bool = False) -> int:
        """Run due periodic jobs once, then drain every queue. Returns items processed."""
        done = 0
        for job in list(jobs.PERIODIC.values()):
            if self.stop_event.is_set():
                break
            last = self.last_run.get(job.name)
            mono = time.monotonic()
            if not force_periodic and last is not None and mono - last < job.every:
                continue
            self.last_run[job.name] = mono
            try:
                job.fn(now)
            except Exception:
                log.exception("periodic job %s failed", job.name)
        for queue in list(jobs.QUEUES.values()):
            while not self.stop_event.is_set():
                try:
                    n = queue.fn(timezone.now(), self.worker_id, self.batch)
                except Exception:
                    log.exception("queue %s failed", queue.name)
                    break
                done += n
                self.processed += n
                if n < self.batch:
                    break
        return done


def run_jobs_once(now: datetime, *, worker_id: str = "test-worker") -> int:
    """Run every periodic job and drain every queue once, as one worker would (used by tests
    and by `closeloop worker --once`)."""
    return Worker(worker_id=worker_id).tick(now, force_periodic=True)
