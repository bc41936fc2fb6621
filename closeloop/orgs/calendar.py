"""The work calendar: which dates are working days in China.

The `WorkDay` table holds every holiday and every 调休 make-up workday (seeded from the
`chinese-calendar` package, editable by the admin). A date not in the table follows the
Monday–Friday rule. A year with no rows at all is *unknown*: it falls back to Monday–Friday
and `unknown_years()` names it, so the admin status page can warn that its schedule still has
to be entered.
"""

import logging
import threading
import time as _time
from datetime import date, timedelta

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from closeloop.orgs.models import WorkDay

log = logging.getLogger("closeloop.calendar")

HOLIDAY_NAMES_ZH = {
    "New Year's Day": "元旦",
    "Spring Festival": "春节",
    "Tomb-sweeping Day": "清明节",
    "Labour Day": "劳动节",
    "Dragon Boat Festival": "端午节",
    "National Day": "国庆节",
    "Mid-autumn Festival": "中秋节",
    "Anti-Fascist 70th Day": "抗战胜利70周年纪念日",
}

_CACHE_SECONDS = 60.0
_lock = threading.Lock()
_years: dict[int, tuple[float, dict[date, bool] | None]] = {}
_warned: set[int] = set()


def _year(year: int) -> dict[date, bool] | None:
    """Exceptions for one year, or None when the table knows nothing of it. Cached briefly so
    an admin's edit reaches every process within a minute."""
    now = _time.monotonic()
    with _lock:
        hit = _years.get(year)
        if hit and now - hit[0] < _CACHE_SECONDS:
            return hit[1]
    rows = dict(WorkDay.objects.filter(date__year=year).values_list("date", "is_workday"))
    value = rows or None
    with _lock:
        _years[year] = (now, value)
    if value is None and year not in _warned:
        _warned.add(year)
        log.warning("work calendar: no schedule for %s, falling back to Monday-Friday", year)
    return value


def clear_cache() -> None:
    with _lock:
        _years.clear()


@receiver(post_save, sender=WorkDay)
@receiver(post_delete, sender=WorkDay)
def _workday_changed(sender, **kwargs) -> None:
    clear_cache()


def is_workday(d: date) -> bool:
    exceptions = _year(d.year)
    if exceptions is not None and d in exceptions:
        return exceptions[d]
    return d.weekday() < 5


def add_workdays(d: date, n: int) -> date:
    """The date `n` working days after `d` (before it when n < 0); `d` itself is not counted.
    With n == 0: `d` if it is a working day, else the next one."""
    if n == 0:
        return next_workday(d, include=True)
    step = 1 if n > 0 else -1
    remaining = abs(n)
    current = d
    while remaining:
        current += timedelta(days=step)
        if is_workday(current):
            remaining -= 1
    return current


def next_workday(d: date, *, include: bool = False) -> date:
    current = d if include else d + timedelta(days=1)
    while not is_workday(current):
        current += timedelta(days=1)
    return current


def workdays_between(start: date, end: date) -> int:
    """Working days in (start, end]: how many working days lie after `start` up to `end`."""
    if end <= start:
        return -workdays_between(end, start) if end < start else 0
    return sum(1 for i in range(1, (end - start).days + 1) if is_workday(start + timedelta(days=i)))


def unknown_years(years: list[int]) -> list[int]:
    return [y for y in years if _year(y) is None]


def seed_from_package(*, years: list[int] | None = None) -> int:
    """Copy the `chinese-calendar` package's holidays and make-up days into the table.
    Rows the admin set are kept. Returns the number of rows written."""
    import chinese_calendar.constants as cc

    admin_dates = set(WorkDay.objects.filter(source=WorkDay.Source.ADMIN).values_list("date", flat=True))
    rows: list[WorkDay] = []
    for table, is_work in ((cc.holidays, False), (cc.workdays, True)):
        for d, label in table.items():
            if years and d.year not in years:
                continue
            if d in admin_dates:
                continue
            name = HOLIDAY_NAMES_ZH.get(str(getattr(label, "value", label)), str(label))
            rows.append(
                WorkDay(
                    date=d,
                    is_workday=is_work,
                    name=name + ("调休" if is_work else ""),
                    source=WorkDay.Source.SEED,
                )
            )
    WorkDay.objects.filter(source=WorkDay.Source.SEED, date__in=[r.date for r in rows]).delete()
    WorkDay.objects.bulk_create(rows, batch_size=500)
    clear_cache()
    return len(rows)


def status_warnings() -> list[str]:
    """For the admin status page: this year's and next year's schedule must be in the table."""
    from django.utils import timezone
    from django.utils.translation import gettext as _

    this_year = timezone.localdate().year
    return [
        _(
            "The work calendar has no schedule for %(year)s: Monday to Friday is assumed. Enter the State Council's holidays and make-up days in the admin."
        )
        % {"year": year}
        for year in unknown_years([this_year, this_year + 1])
    ]
