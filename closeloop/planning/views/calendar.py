"""The 日历 calendar page."""

from django.contrib.auth.decorators import login_required
from django.shortcuts import render

from closeloop.planning.selectors import calendar as calendar_selectors
from closeloop.planning.views.common import _department_choice, _int
from closeloop.tasks import selectors

# -- calendar ----------------------------------------------------------------------------------


@login_required
def calendar_view(request):
    """日历: a month of due dates and milestones."""
    today = selectors.local_today()
    year = _int(request.GET.get("year"), today.year)
    month = _int(request.GET.get("month"), today.month)
    if not (2000 <= year <= 2100 and 1 <= month <= 12):
        year, month = today.year, today.month
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
            "today": today,
            "ignored_filters": choice.ignored,
        },
    )
