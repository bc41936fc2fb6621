"""The job registry. Apps register their jobs in `AppConfig.ready()`; the worker runs them.

`core` imports no app: it only knows the callables handed to it here.

- A *periodic* job runs every `every` seconds as `fn(now)`. Inside, it does the work of each
  (scope, slot) inside `with run_slot(...) as mine:` (or calls `claim_slot()` inside its own
  transaction): the claim and the work commit together, so two workers never do the same run
  twice, and a worker that crashes half-way leaves no claim behind: the next worker does the
  whole run again, once. A run that claims one slot per person or per task takes them with
  `claim_slots()`: one statement for hundreds of scopes, the same once-only guarantee.
- A *queue* drains work rows as `fn(now, worker_id, limit) -> int` (items processed). It must
  claim each row atomically itself (conditional UPDATE or SKIP LOCKED).
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from closeloop.core.models import JobRun

# Scopes per INSERT of `claim_slots()`: 7 parameters a row stays under SQLite's 999.
CLAIM_BATCH = 140


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


def claim_slots(*, job: str, slot: str, scopes: Iterable[str | int], worker: str = "") -> set[str]:
    """Claim (job, scope, slot) for many scopes at once, as part of the caller's transaction:
    the scopes (as strings) this worker now owns — those nobody had claimed before. What
    `claim_slot()` per scope returns, in one INSERT … ON CONFLICT DO NOTHING RETURNING per
    `CLAIM_BATCH` scopes instead of three queries per scope.

    Race-free like `claim_slot()`: on PostgreSQL an insert of a key another transaction holds
    uncommitted waits for it and then skips the key if that transaction committed (keys go
    in sorted order, so two workers claiming overlapping sets never deadlock); SQLite
    serialises writers. A database without INSERT … RETURNING falls back to `claim_slot()`
    per scope. Raises RuntimeError outside a transaction."""
    if not connection.in_atomic_block:
        raise RuntimeError("claim_slots() must run inside the transaction that does the work")
    keys = sorted({str(s) for s in scopes})
    if not keys:
        return set()
    if not connection.features.can_return_rows_from_bulk_insert:
        return {s for s in keys if claim_slot(job=job, scope=s, slot=slot, worker=worker) is not None}
    now = timezone.now()
    meta = JobRun._meta
    qn = connection.ops.quote_name
    columns = ["job", "scope", "slot", "worker", "started_at", "finished_at", "error"]
    fields = [meta.get_field(c) for c in columns]
    # Only quoted names of this model go into the text; every value is a parameter.
    head = "INSERT INTO {} ({}) VALUES ".format(  # noqa: S608
        qn(meta.db_table), ", ".join(qn(f.column) for f in fields)
    )
    tail = " ON CONFLICT ({}) DO NOTHING RETURNING {}".format(
        ", ".join(qn(meta.get_field(c).column) for c in ("job", "scope", "slot")),
        qn(meta.get_field("scope").column),
    )
    row = "(" + ", ".join(["%s"] * len(columns)) + ")"
    stamp = [f.get_db_prep_save(now, connection) for f in fields[4:6]]
    claimed: set[str] = set()
    with connection.cursor() as cursor:
        for start in range(0, len(keys), CLAIM_BATCH):
            chunk = keys[start : start + CLAIM_BATCH]
            params: list = []
            for scope in chunk:
                params += [job, scope, slot, worker[:200], *stamp, ""]
            cursor.execute(head + ", ".join([row] * len(chunk)) + tail, params)
            claimed.update(r[0] for r in cursor.fetchall())
    return claimed


@contextmanager
def run_slot(*, job: str, scope: str | int = "", slot: str, worker: str = "") -> Iterator[bool]:
    """`with run_slot(job=…, scope=…, slot=…) as mine:` — `mine` is True when this worker does
    the run now; the block's writes (events, outbox rows) commit together with the claim. An
    exception (or a crash) inside the block rolls both back, so the run is retried by the next
    tick or worker and never done twice."""
    with transaction.atomic():
        yield claim_slot(job=job, scope=scope, slot=slot, worker=worker) is not None
