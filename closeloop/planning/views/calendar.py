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
    departments, current = _department_choice(request)
    dept_id = current.pk if current and request.GET.get("department") else None
    data = calendar_selectors.calendar_month(
        request.user, year=year, month=month, department_id=dept_id, today=today
    )
    return render(
        request,
        "tasks/calendar.html",
        {**data, "departments": departments, "current": current if dept_id else None, "today": today},
    )
