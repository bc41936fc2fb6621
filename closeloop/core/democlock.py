"""The demo's clock (demo data only, never a request).

Services stamp what they write with `timezone.now()` (events, started / completed times,
notifications). The demo loaders write two weeks of history in one go: running each step
`at(moment)` — the moment it would have happened — gives the event log, the task's own
times and the notifications the dates and order of real work, instead of moving timestamps
back afterwards and leaving them out of step with each other.

`at()` swaps `django.utils.timezone.now` for the duration of a block and puts back what was
there (a test's own fake clock included). The demo is loaded by a command before anything
is served (`make run`, `closeloop demo`), so nothing else reads the clock meanwhile.
"""

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager

from django.utils import timezone


@contextmanager
def at(moment: dt.datetime) -> Iterator[dt.datetime]:
    """Within the block, `timezone.now()` is `moment` (aware; never after the real now)."""
    real = timezone.now
    moment = min(moment, real())
    timezone.now = lambda: moment  # type: ignore[assignment]
    try:
        yield moment
    finally:
        timezone.now = real  # type: ignore[assignment]


def local(day: dt.date, hour: int, minute: int = 0, *, tz: dt.tzinfo | None = None) -> dt.datetime:
    """`day` at `hour`:`minute` in `tz` (the current time zone by default), aware."""
    return dt.datetime.combine(day, dt.time(hour, minute), tzinfo=tz or timezone.get_current_timezone())
