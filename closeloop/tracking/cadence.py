"""When an update is owed, and each department's clock.

Cadence follows priority: a high-priority task owes an update every working day; a medium or
low one once a week, on the department's review day. The review day of a week is the last
working day of that week (Monday–Sunday) up to the configured weekday (default Friday); when
none of those days is a working day (a holiday week such as 2023-10-02…06), it is the last
working day of the week (e.g. the make-up Sunday 2023-10-08); a week without any working day
has none.
"""

import zoneinfo
from datetime import date, datetime, time, timedelta

from closeloop.orgs.calendar import is_workday
from closeloop.orgs.models import Department
from closeloop.tasks.models import Priority

DEFAULT_TZ = "Asia/Shanghai"
DEFAULT_REVIEW_WEEKDAY = 4
DEFAULT_REVIEW_AT = time(16, 0)
DEFAULT_REMINDER_MINUTES = 15


def dept_tz(department: Department) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(department.time_zone or DEFAULT_TZ)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TZ)


def local_now(department: Department, now: datetime) -> datetime:
    return now.astimezone(dept_tz(department))


def local_today(department: Department, now: datetime) -> date:
    return local_now(department, now).date()


def at_local(department: Department, day: date, clock: time) -> datetime:
    return datetime.combine(day, clock, tzinfo=dept_tz(department))


def week_start(d: date) -> date:
    return d - timedelta(days=d.weekday())


def settings_for(department: Department):
    """The department's TrackingSettings, or an unsaved one holding the defaults."""
    from closeloop.tracking.models import TrackingSettings

    cached = getattr(department, "_tracking_settings", None)
    if cached is None:
        cached = TrackingSettings.objects.filter(department=department).first() or TrackingSettings(
            department=department
        )
        department._tracking_settings = cached  # type: ignore[attr-defined]
    return cached


def review_day(d: date, weekday: int = DEFAULT_REVIEW_WEEKDAY) -> date | None:
    """The review day of the week containing `d` (see the module docstring)."""
    monday = week_start(d)
    days = [monday + timedelta(days=i) for i in range(7)]
    up_to = [x for x in days[: weekday + 1] if is_workday(x)]
    if up_to:
        return up_to[-1]
    working = [x for x in days if is_workday(x)]
    return working[-1] if working else None


def reminder_time(department: Department, day: date) -> datetime:
    """End of the department's working day minus the reminder lead (default 15 minutes)."""
    minutes = settings_for(department).reminder_minutes_before_end
    end = at_local(department, day, department.workday_end)
    return end - timedelta(minutes=minutes)


def owes_on(priority: int, day: date, weekday: int = DEFAULT_REVIEW_WEEKDAY) -> bool:
    """Is an update due on `day` for a task of this priority?"""
    if not is_workday(day):
        return False
    if priority == Priority.HIGH:
        return True
    return review_day(day, weekday) == day


def window_start(priority: int, day: date) -> date:
    """The first day an update counts toward the one owed on `day`: the day itself for daily
    cadence, the week's Monday for weekly."""
    return day if priority == Priority.HIGH else week_start(day)


def load_settings(departments: list[Department]) -> None:
    """Read the TrackingSettings of many departments in one query (lists stay constant-query)."""
    from closeloop.tracking.models import TrackingSettings

    todo = [d for d in departments if getattr(d, "_tracking_settings", None) is None]
    if not todo:
        return
    rows = {
        s.department_id: s for s in TrackingSettings.objects.filter(department_id__in=[d.pk for d in todo])
    }
    for d in todo:
        d._tracking_settings = rows.get(d.pk) or TrackingSettings(department=d)  # type: ignore[attr-defined]
