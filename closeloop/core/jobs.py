"""The job registry. Apps register their jobs in `AppConfig.ready()`; the worker runs them.

`core` imports no app: it only knows the callables handed to it here.

- A *periodic* job runs every `every` seconds as `fn(now)`. Inside, it claims each
  (scope, slot) it acts on with `claim_slot()`, so two workers never do the same run twice.
- A *queue* drains work rows as `fn(now, worker_id, limit) -> int` (items processed). It must
  claim each row atomically itself (conditional UPDATE or SKIP LOCKED).
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import IntegrityError, transaction

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
    """Claim (job, scope, slot). Returns the new JobRun, or None when it was claimed before."""
    try:
        with transaction.atomic():
            return JobRun.objects.create(job=job, scope=str(scope), slot=slot, worker=worker)
    except IntegrityError:
        return None
