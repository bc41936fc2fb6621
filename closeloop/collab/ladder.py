"""When an open issue climbs its escalation ladder, and to whom (DESIGN.md rule 4: an issue
unresolved 24 hours after it was raised goes to the department head, 24 hours later to the
superior).

Hours are clock hours by default. A department whose `CollabSettings.working_hours` is on
counts only its working hours: working days of the work calendar (holidays off, 调休
make-up days on), between its `workday_start` and `workday_end`, in its time zone.
"""

import zoneinfo
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.utils.translation import gettext as _

from closeloop.orgs.calendar import is_workday
from closeloop.orgs.models import Department, User

DEFAULT_TZ = "Asia/Shanghai"
# A department with no working day for this long has a broken calendar: stop looking.
MAX_DAYS = 400


@dataclass(frozen=True)
class LadderSettings:
    first_after_hours: int = 24
    then_every_hours: int = 24
    levels: int = 2
    working_hours: bool = False


def settings_for(department: Department) -> LadderSettings:
    """The department's settings row, or the defaults. Uses the row loaded with
    `select_related("collab_settings")` when there is one."""
    from closeloop.collab.models import CollabSettings

    preloaded = getattr(department, "_ladder_cfg", None)
    if preloaded is not None:
        return preloaded
    try:
        row = department.collab_settings
    except CollabSettings.DoesNotExist:
        return LadderSettings()
    return LadderSettings(
        first_after_hours=row.first_after_hours,
        then_every_hours=row.then_every_hours,
        levels=row.levels,
        working_hours=row.working_hours,
    )


def dept_tz(department: Department) -> zoneinfo.ZoneInfo:
    try:
        return zoneinfo.ZoneInfo(department.time_zone or DEFAULT_TZ)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo(DEFAULT_TZ)


def add_working_hours(department: Department, start: datetime, hours: float) -> datetime:
    """`start` plus `hours` of the department's working time (aware in, aware out). A start
    outside working time counts from the next working moment."""
    tz = dept_tz(department)
    local = start.astimezone(tz)
    left = timedelta(hours=hours)
    day = local.date()
    for _i in range(MAX_DAYS):
        if is_workday(day):
            open_at = datetime.combine(day, department.workday_start, tzinfo=tz)
            close_at = datetime.combine(day, department.workday_end, tzinfo=tz)
            begin = max(open_at, local)
            if begin < close_at:
                if begin + left <= close_at:
                    return begin + left
                left -= close_at - begin
        day += timedelta(days=1)
        local = datetime.combine(day, department.workday_start, tzinfo=tz)
    return start + timedelta(hours=hours)


def due_at(
    department: Department, raised_at: datetime, level: int, cfg: LadderSettings | None = None
) -> datetime | None:
    """When rung `level` (1, 2, …) of an issue raised at `raised_at` on a task of
    `department` is due, or None past the department's last level."""
    cfg = cfg or settings_for(department)
    if level < 1 or level > cfg.levels:
        return None
    hours = cfg.first_after_hours + (level - 1) * cfg.then_every_hours
    if cfg.working_hours:
        return add_working_hours(department, raised_at, hours)
    return raised_at + timedelta(hours=hours)


def receiver_for(department: Department, level: int) -> tuple[Department | None, User | None]:
    """Who rung `level` goes to: level 1 the head of the task's department (its deputy when
    there is no head), level 2 the head of the parent department (上级主管), level n the
    head n-1 departments up. (None, None) when the tree ends first."""
    dept: Department | None = department
    for _i in range(level - 1):
        dept = dept.parent if dept is not None else None
    if dept is None:
        return None, None
    return dept, dept.head or dept.deputy


# The rungs whose department's deputy is told beside the receiver: level 1 only, the task's
# own department (DESIGN "A department … may name a deputy who acts for the head while
# away"); above it the superior alone is asked.
STAND_IN_LEVEL = 1


def stand_in_for(department: Department, level: int) -> User | None:
    """Who is told of rung `level` of an issue on a task of `department` because they stand
    in for its receiver: the department's deputy at level 1 (when it has one), nobody above.
    They find the issue under 待我决定 as the receiver does (`selectors.escalated_to_me_q`)
    and may resolve it (`permissions.can_resolve`: the head or deputy of the task's
    department)."""
    return department.deputy if level == STAND_IN_LEVEL else None


def rung_whom(level: int) -> str:
    """Whom rung `level` asks, as people call them (the handbook's terms, `receiver_for`'s
    rule): level 1 the department head, level 2 the superior (上级主管), level n the head n−1
    departments up. In the current language."""
    if level <= 1:
        return _("department head")
    if level == 2:
        return _("superior")
    return _("head %(n)s departments up") % {"n": level - 1}


def escalated_label(level: int) -> str:
    """The flag of an issue at rung `level` (≥ 1) wherever issues are listed: "Escalated to
    level 1 (department head)", 已升级至第 1 级（部门负责人）."""
    return _("Escalated to level %(n)s (%(whom)s)") % {"n": level, "whom": rung_whom(level)}
