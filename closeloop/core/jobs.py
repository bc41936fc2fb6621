"""The job registry. Apps register their jobs in `AppConfig.ready()`; the worker runs them.

`core` imports no app: it only knows the callables handed to it here.

- A *periodic* job runs every `every` seconds as `fn(now)`. Inside, it does the work of each
  (scope, slot) inside `with run_slot(...) as mine:` (or calls `claim_slot()` inside its own
  transaction): the claim and the work commit together, so two workers never do the same run
  twice, and a worker that crashes half-way leaves no claim behind: the next worker does the
  whole run again, once.
- A *queue* drains work rows as `fn(now, worker_id, limit) -> int` (items processed). It must
  claim each row atomically itself (conditional UPDATE or SKIP LOCKED).
"""

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from closeloop.core.models import JobRun


@dataclass(frozen=True)
class PeriodicJob:
    name: str
    every: float
    fn: Callable[[datetime], object]


@dataclass(frozen=True)
class QueueJob:
    name: str
    fn: Callable[[datetime, str, int], int]


PERIODIC: dict[str, PeriodicJob] = {}
QUEUES: dict[str, QueueJob] = {}


def register_periodic(name: str, *, every: float, fn: Callable[[datetime], object]) -> None:
    PERIODIC[name] = PeriodicJob(name=name, every=every, fn=fn)


def register_queue(name: str, *, fn: Callable[[datetime, str, int], int]) -> None:
    QUEUES[name] = QueueJob(name=name, fn=fn)


def claim_slot(*, job: str, scope: str | int = "", slot: str, worker: str = "") -> JobRun | None:
    """Claim (job, scope, slot) as part of the caller's transaction. Returns the new JobRun,
    or None when the run was done before (or is being done by a worker that will commit it).

    Must be called inside `transaction.atomic()` that also holds the run's work: the row is
    stamped finished and commits with the work, or not at all. A worker killed half-way thus
    leaves neither the claim nor half the work, and the next worker redoes the run (issue 11,
    item 8). Raises RuntimeError outside a transaction, where a crash would lose the run.
    On PostgreSQL a second worker's insert of the same key waits for the first to commit and
    then finds the run done; on SQLite writers are serialised anyway."""
    if not connection.in_atomic_block:
        raise RuntimeError("claim_slot() must run inside the transaction that does the work")
    try:
        with transaction.atomic():
            return JobRun.objects.create(
                job=job, scope=str(scope), slot=slot, worker=worker[:200], finished_at=timezone.now()
            )
    except IntegrityError:
        return None


@contextmanager
def run_slot(*, job: str, scope: str | int = "", slot: str, worker: str = "") -> Iterator[bool]:
    """`with run_slot(job=…, scope=…, slot=…) as mine:` — `mine` is True when this worker does
    the run now; the block's writes (events, outbox rows) commit together with the claim. An
    exception (or a crash) inside the block rolls both back, so the run is retried by the next
    tick or worker and never done twice."""
    with transaction.atomic():
        yield claim_slot(job=job, scope=scope, slot=slot, worker=worker) is not None
