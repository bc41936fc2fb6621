"""The work calendar: which dates are working days in China.

The `WorkDay` table holds every holiday and every 调休 make-up workday (seeded from the
`chinese-calendar` package, editable by the admin). A date not in the table follows the
Monday–Friday rule. A year with no rows at all is *unknown*: the State Council publishes
each year's schedule in November, so until the admin enters it the fallback is Monday–Friday
minus the statutory holidays fixed by the 全国年节及纪念日放假办法 (元旦; 春节 除夕 through
初三; 清明; 劳动节 May 1–2; 端午; 中秋; 国庆 Oct 1–3). That fallback is provisional —
`unknown_years()` names such years and the admin status page says so — because the 调休
make-up days and bridge days are unknowable before the official schedule.
"""

import logging
import threading
import time as _time
from datetime import date, timedelta
from functools import lru_cache

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


# Years the lunar conversion is trusted for; outside them the fallback is plain Monday–Friday.
_STATUTORY_YEARS = range(1901, 2100)


@lru_cache(maxsize=64)
def statutory_holidays(year: int) -> dict[date, str]:
    """The statutory days off of `year` as the 全国年节及纪念日放假办法 (2025 revision) fixes
    them, without the State Council's yearly 调休 arrangement: {date: Chinese name}.

    元旦 Jan 1; 春节 from 除夕 (the last day of the twelfth lunar month, the 29th or the 30th)
    through 初三; 清明 on the solar term; 劳动节 May 1–2; 端午 on 5/5 and 中秋 on 8/15 of the
    lunar calendar; 国庆 Oct 1–3. Lunar dates and the solar term come from `lunar-python`.
    Years outside 1901–2099 give an empty dict.
    """
    if year not in _STATUTORY_YEARS:
        return {}
    from lunar_python import Lunar, Solar

    def solar(lunar_month: int, lunar_day: int) -> date:
        s = Lunar.fromYmd(year, lunar_month, lunar_day).getSolar()
        return date(s.getYear(), s.getMonth(), s.getDay())

    days: dict[date, str] = {}

    def add(d: date, name: str) -> None:
        # Two festivals may share a day (中秋 on 10/3 in 2028): one day off, both names.
        days[d] = f"{days[d]}、{name}" if d in days else name

    add(date(year, 1, 1), "元旦")
    new_year = solar(1, 1)  # 初一 is never before Jan 21, so 除夕 stays in `year`
    for offset in range(-1, 3):  # 除夕, 初一, 初二, 初三
        add(new_year + timedelta(days=offset), "春节")
    qingming = Solar.fromYmd(year, 4, 15).getLunar().getJieQiTable()["清明"]
    add(date(qingming.getYear(), qingming.getMonth(), qingming.getDay()), "清明节")
    for day in (1, 2):
        add(date(year, 5, day), "劳动节")
    add(solar(5, 5), "端午节")
    for day in (1, 2, 3):
        add(date(year, 10, day), "国庆节")
    add(solar(8, 15), "中秋节")
    return {d: name for d, name in days.items() if d.year == year}


def is_workday(d: date) -> bool:
    """Is `d` a working day? The table's row for `d` when the table knows d's year; for a year
    it does not know, Monday–Friday minus the statutory holidays (`statutory_holidays`)."""
    exceptions = _year(d.year)
    if exceptions is not None:
        if d in exceptions:
            return exceptions[d]
        return d.weekday() < 5
    return d.weekday() < 5 and d not in statutory_holidays(d.year)


def day_off_name(d: date) -> str | None:
    """Why `d` is a day off — the holiday's name (元旦, 春节…) or "" for a plain weekend — or
    None when it is a working day."""
    if is_workday(d):
        return None
    exceptions = _year(d.year)
    if exceptions is not None:
        if d in exceptions:
            return WorkDay.objects.filter(date=d).values_list("name", flat=True).first() or ""
        return ""
    return statutory_holidays(d.year).get(d, "")


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
    """Those of `years` the table holds no schedule for (their working days are provisional)."""
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
            "The work calendar for %(year)s is provisional: Monday to Friday minus the statutory holidays (%(holidays)s). Enter the State Council's schedule, with its make-up days, in the admin."
        )
        % {"year": year, "holidays": _provisional_summary(year)}
        for year in unknown_years([this_year, this_year + 1])
    ]


def _provisional_summary(year: int) -> str:
    """'元旦 1/1, 春节 2/5–2/8, …' for the status page: the days the fallback takes off."""
    by_name: dict[str, list[date]] = {}
    for d, name in sorted(statutory_holidays(year).items()):
        by_name.setdefault(name, []).append(d)
    parts = []
    for name, days in by_name.items():
        first, last = days[0], days[-1]
        span = (
            f"{first.month}/{first.day}"
            if first == last
            else f"{first.month}/{first.day}–{last.month}/{last.day}"
        )
        parts.append(f"{name} {span}")
    return ", ".join(parts)
