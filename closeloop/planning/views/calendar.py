"""The 日历 calendar page."""

from datetime import date

from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import render
from django.utils.translation import gettext as _

from closeloop.planning.selectors import calendar as calendar_selectors
from closeloop.planning.views.common import _department_choice, _int
from closeloop.tasks import selectors

# -- calendar ----------------------------------------------------------------------------------


def _month_part(raw: str | None, default: int, bounds: tuple[int, int], label, ignored: list) -> int | None:
    """`raw` (a query parameter) as a whole number within `bounds`, `default` when not given,
    else None with an entry in `ignored` (as `tasks.forms.ignored_filters` makes)."""
    raw = (raw or "").strip()
    if not raw:
        return default
    value = _int(raw)
    if value is None or not bounds[0] <= value <= bounds[1]:
        ignored.append({"label": label, "value": raw, "message": ""})
        return None
    return value


@login_required
def calendar_view(request):
    """日历: a month of due dates and milestones; ‹ / › lead to the months around it, and are
    shown disabled on the first and last month it shows (`calendar_selectors.YEARS`)."""
    today = selectors.local_today()
    # A year or month the calendar cannot show (?year=abc, ?month=13) is named, and this
    # year's or this month's stands in for it alone: ?year=abc&month=3 shows March.
    ignored: list[dict] = []
    year = _month_part(request.GET.get("year"), today.year, calendar_selectors.YEARS, _("Year"), ignored)
    month = _month_part(request.GET.get("month"), today.month, (1, 12), _("Month"), ignored)
    year = today.year if year is None else year
    month = today.month if month is None else month
    choice = _department_choice(request)
    # The whole calendar unless a department is asked for (a bad value is named and ignored).
    dept_id = choice.current.pk if choice.asked else None
    data = calendar_selectors.calendar_month(
        request.user, year=year, month=month, department_id=dept_id, today=today
    )
    return render(
        request,
        "tasks/calendar.html",
        {
            **data,
            "departments": choice.departments,
            "current": choice.current if dept_id else None,
            # The picker keeps the month shown (all departments, or one of them).
            "keep": [("year", year), ("month", month)],
            "today": today,
            "ignored_filters": ignored + choice.ignored,
        },
    )


@login_required
def calendar_day_view(request, day: str):
    """日历's day: every milestone and task of `day` (YYYY-MM-DD) the person sees, where a
    day's "+n more" leads (`calendar_selectors.calendar_day`); `?department=ID` as on the
    month, kept by the links back to it and to the days around. A day that is no date, or
    outside the calendar's years, is a 404 (no page links to one)."""
    try:
        d = date.fromisoformat(day)
    except ValueError:
        raise Http404 from None
    first, last = calendar_selectors.YEARS
    if d.isoformat() != day or not first <= d.year <= last:
        raise Http404
    today = selectors.local_today()
    choice = _department_choice(request)
    dept_id = choice.current.pk if choice.asked else None
    data = calendar_selectors.calendar_day(request.user, day=d, department_id=dept_id, today=today)
    return render(
        request,
        "tasks/calendar_day.html",
        {
            **data,
            "departments": choice.departments,
            "current": choice.current if dept_id else None,
            "keep": [],
            "today": today,
            "limit": calendar_selectors.DAY_PAGE,
            "ignored_filters": choice.ignored,
        },
    )
