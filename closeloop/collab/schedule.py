"""When a task's next sync (同步) is, from its communication plan and the work calendar.

Daily stand-up: every working day. N times a week: the chosen weekdays, when they are
working days. Custom: no computed date (the plan's text says it). Times are the plan's
`sync_time` in the task department's time zone.
"""

from datetime import date, datetime, timedelta

from django.utils.translation import gettext as _

from closeloop.collab.ladder import dept_tz
from closeloop.collab.models import Cadence, CommunicationPlan
from closeloop.core.text import label_suffix
from closeloop.orgs.calendar import is_workday

WEEKDAY_NAMES = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


def weekday_label(d: int) -> str:
    return str([_("Mon"), _("Tue"), _("Wed"), _("Thu"), _("Fri"), _("Sat"), _("Sun")][d])


def syncs_on(plan: CommunicationPlan, day: date) -> bool:
    if not is_workday(day):
        return False
    if plan.cadence == Cadence.DAILY:
        return True
    if plan.cadence == Cadence.WEEKLY:
        return day.weekday() in (plan.weekdays or [])
    return False


def next_sync(plan: CommunicationPlan, department, now: datetime) -> datetime | None:
    """The next sync at or after `now` (aware), within eight weeks, or None (custom cadence,
    or no matching working day)."""
    if plan.cadence == Cadence.CUSTOM:
        return None
    tz = dept_tz(department)
    local = now.astimezone(tz)
    day = local.date()
    for _i in range(56):
        if syncs_on(plan, day):
            at = datetime.combine(day, plan.sync_time, tzinfo=tz)
            if at >= local:
                return at
        day += timedelta(days=1)
    return None


def describe(plan: CommunicationPlan) -> str:
    """Cadence and channel in one line, in the active language."""
    if plan.cadence == Cadence.DAILY:
        cadence = _("Daily stand-up at %(time)s") % {"time": plan.sync_time.strftime("%H:%M")}
    elif plan.cadence == Cadence.WEEKLY:
        days = plan.weekdays or []
        cadence = _("%(n)s times a week (%(days)s) at %(time)s") % {
            "n": len(days),
            "days": ", ".join(weekday_label(d) for d in days),
            "time": plan.sync_time.strftime("%H:%M"),
        }
    else:
        cadence = plan.custom
    channel = plan.get_channel_display()
    if plan.channel_detail:
        channel = f"{channel}{label_suffix()}{plan.channel_detail}"
    return f"{cadence} · {channel}"
