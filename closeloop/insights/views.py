"""仪表盘 and 周复盘 pages. Thin: selectors read, services write."""

from datetime import date, timedelta

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from closeloop.collab import selectors as collab_selectors
from closeloop.collab import services as collab_services
from closeloop.core.dates import in_range, invalid_date, range_error
from closeloop.core.errors import Conflict, DomainError, NotFound, ValidationFailed, field_message
from closeloop.core.versioning import parse_version
from closeloop.insights import charts, selectors, services
from closeloop.insights.export import weekly_review_xlsx
from closeloop.insights.models import WeeklyReview
from closeloop.tasks.forms import DepartmentFilterForm, ignored_filters
from closeloop.tasks.selectors import default_department
from closeloop.tasks.validation import parse_int


@login_required
def dashboard(request):
    """仪表盘 of the person's departments, or of one of them (`?department=ID`): a value that is
    not one of their departments (another's, not a number) is named in a warning and the page
    shows all of theirs, as the task list does with a filter value it does not know."""
    raw = request.GET.get("department", "").strip()
    data = selectors.dashboard(request.user, department_id=parse_int(raw) if raw else None)
    # The value named as the task list and the plan views name theirs, among the person's own.
    form = DepartmentFilterForm(request.GET, departments=data.choices)
    form.is_valid()
    in_list = reverse("tasks:list") + "?"
    if len(data.departments) == 1:
        in_list += f"department={data.departments[0].pk}&"
    ctx = {
        "d": data,
        "today": data.today,
        "ignored_filters": ignored_filters(form),
        # Where the cut-short lists continue.
        "more_overdue": f"{in_list}status=open&overdue=on",
        "more_blocked": f"{in_list}status=blocked",
        # A person's tasks owing today's update: this, then their id.
        "more_owed": f"{in_list}owed=1&owner=",
        "collab": collab_selectors.department_collab(data.departments),
    }
    return render(request, "insights/dashboard.html", ctx)


def _week_param(raw: str | None, today: date) -> tuple[date, list[dict]]:
    """The week asked for, else this week (`today` is the department's date), and the value
    ignored when it is not a date or outside 1900–2100, named as the lists name a filter
    value they ignore (`ui/ignored_filters.html`; this week is shown instead)."""
    if not raw:
        return today, []
    label = _("Week")
    try:
        day = date.fromisoformat(raw)
    except ValueError:
        return today, [{"label": label, "value": raw, "message": invalid_date(raw, label)}]
    if not in_range(day):
        return today, [{"label": label, "value": raw, "message": field_message(label, range_error())}]
    return day, []


def _in_range_or_none(day: date) -> date | None:
    return day if in_range(day) else None


def _week_context(request, *, limit: int = 50, lenient: bool = False):
    """The week's page data, or None for someone with no department. `?department=` the person
    may not review is a 404, except on the page itself (`lenient`), which names the value and
    shows their own department; print and export never hand out another one silently."""
    departments = selectors.review_departments(request.user)
    posted = request.POST.get("department")
    raw = request.GET.get("department", "").strip()
    ignored = []
    department = None
    if posted:  # a form of the page: its own department, else refused (404)
        department = selectors.access_department(request.user, posted)
    elif raw and not lenient:
        department = selectors.access_department(request.user, raw)
    elif raw:
        # A department the person may not review (or no department at all) is named above
        # the page, which shows their own, as the task list and the plan views do.
        try:
            department = selectors.access_department(request.user, raw)
        except NotFound:
            ignored.append({"label": _("Department"), "value": raw, "message": ""})
    if department is None:
        if not departments:
            return None
        # The CEO's first is 总公司, which holds no tasks: the first department below it.
        department = default_department(departments)
    today = department.local_today()
    week, week_ignored = _week_param(request.GET.get("week") or request.POST.get("week"), today)
    ignored += week_ignored
    data = selectors.weekly_review(request.user, department, week, limit=limit)
    labels = [w.strftime("%m-%d") for w, _a, _o in data.trend]
    in_list = f"{reverse('tasks:list')}?department={department.pk}&"
    return {
        "w": data,
        # The version of the notes the form sends back (`services.notes_version`).
        "notes_version": services.notes_version(data.review),
        "ignored_filters": ignored,
        "departments": departments,
        "today": today,
        # Where a cut-short list continues: the task list shows what is overdue and blocked
        # now, so it continues the lists of the current week only (a past week's are as at
        # its end, `selectors.weekly_review`).
        "more_overdue": f"{in_list}status=open&overdue=on" if data.week_end >= today else "",
        "more_blocked": f"{in_list}status=blocked" if data.week_end >= today else "",
        # The weeks around, or None past the dates the page takes (`_week_param`: 1900–2100):
        # no link to a week it would refuse.
        "prev_week": _in_range_or_none(data.week_start - timedelta(days=7)),
        "next_week": _in_range_or_none(data.week_start + timedelta(days=7)),
        "reason_chart": charts.bar_chart(data.slipped_by_reason),
        "trend_chart": charts.line_chart(
            labels,
            [
                (_("Against the approved due date"), "#5353d4", [a for _w, a, _o in data.trend]),
                (_("Against the original due date"), "#c47a06", [o for _w, _a, o in data.trend]),
            ],
        ),
    }


@login_required
def weekly_review(request):
    ctx = _week_context(request, lenient=True)
    if ctx is None:
        return render(request, "insights/weekly_review.html", {"w": None})
    return render(request, "insights/weekly_review.html", ctx)


@login_required
def weekly_review_print(request):
    ctx = _week_context(request)
    if ctx is None:
        raise Http404
    return render(request, "insights/weekly_review_print.html", ctx)


@login_required
def weekly_review_export(request):
    ctx = _week_context(request, limit=5000)
    if ctx is None:
        raise Http404
    w = ctx["w"]
    response = HttpResponse(
        weekly_review_xlsx(w),
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    )
    name = f"weekly-review-{w.department.code}-{w.week_start.isoformat()}.xlsx"
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    return response


@login_required
@require_POST
def weekly_review_notes(request):
    department = selectors.access_department(request.user, request.POST.get("department"))
    week, _ignored = _week_param(request.POST.get("week"), department.local_today())
    sent = parse_version(request.POST.get("version"))
    typed = request.POST.get("notes", "")
    try:
        # A page without a version (opened before versions existed) is checked as stale: it
        # is shown what is stored next to what was typed, never saved over it unchecked.
        services.weekly_review_notes_save(
            actor=request.user,
            department=department,
            week_start=week,
            notes=typed,
            expected_version=-1 if sent is None else sent,
        )
        messages.success(request, _("Meeting notes saved."))
    except (Conflict, ValidationFailed) as exc:
        # The page again, with every word typed kept: after a conflict against the version
        # stored now, with what is stored shown, so saving again is a choice made knowingly.
        ctx = _week_context(request)
        ctx["notes_error"] = exc.message
        ctx["notes_typed"] = typed
        if exc.code == "version_conflict":
            ctx["notes_stored"] = ctx["w"].review
        else:
            ctx["notes_version"] = request.POST.get("version", "")
        return render(request, "insights/weekly_review.html", ctx, status=exc.status)
    except DomainError as exc:
        messages.error(request, exc.message)
    return redirect(services.review_url(department, week - timedelta(days=week.weekday())))


@login_required
@require_POST
def weekly_review_minutes(request):
    """Turn the week's saved meeting notes into department minutes (会议纪要), so every member
    reads the same conclusions; the writer is the first attendee."""
    department = selectors.access_department(request.user, request.POST.get("department"))
    week, _ignored = _week_param(request.POST.get("week"), department.local_today())
    week = week - timedelta(days=week.weekday())
    notes = (
        WeeklyReview.objects.filter(department=department, week_start=week)
        .values_list("notes", flat=True)
        .first()
        or ""
    )
    try:
        minutes = collab_services.minutes_create(
            actor=request.user,
            department=department,
            title=_("Weekly review %(week)s") % {"week": week.isoformat()},
            held_on=min(department.local_today(), week + timedelta(days=6)),
            attendees=[request.user],
            notes=notes,
        )
    except DomainError as exc:
        messages.error(request, exc.message)
        return redirect(services.review_url(department, week))
    messages.success(request, _("Minutes saved; the attendees receive the summary."))
    return redirect(minutes.get_absolute_url())
