"""The calendar feed: /calendar/<token>.ics lists my due tasks as all-day events (RFC 5545,
written by the `icalendar` package, which folds lines at 75 octets and ends them with CRLF).

The token in the URL is the only credential (calendar apps cannot log in): unguessable, one
per person, resettable, gone with the account and refused once the person has left."""

import secrets
from datetime import date, timedelta
from urllib.parse import urlsplit

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.db import IntegrityError, transaction
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST
from icalendar import Calendar, Event

from closeloop.core.dates import in_range
from closeloop.orgs.models import User
from closeloop.tasks.models import CalendarToken, Milestone, Task
from closeloop.tasks.states import CLOSED_STATUSES

FEED_LIMIT = 1000


def _new_token() -> str:
    return secrets.token_urlsafe(32)


def calendar_token_get(*, user: User) -> CalendarToken:
    """The person's token, created on first use."""
    token = CalendarToken.objects.filter(user=user).first()
    if token is not None:
        return token
    try:
        with transaction.atomic():
            return CalendarToken.objects.create(user=user, token=_new_token())
    except IntegrityError:  # created meanwhile by another request
        return CalendarToken.objects.get(user=user)


def calendar_token_reset(*, actor: User) -> CalendarToken:
    """Give the actor a new token; the old feed URL stops working at once."""
    with transaction.atomic():
        CalendarToken.objects.update_or_create(user=actor, defaults={"token": _new_token()})
    return CalendarToken.objects.get(user=actor)


def feed_url(token: CalendarToken) -> str:
    return f"{settings.SITE_URL.rstrip('/')}/calendar/{token.token}.ics"


def _day_after(d):
    """The exclusive end of an all-day event; a row at date.max (written before the date checks)
    ends on its own day rather than overflowing."""
    return d + timedelta(days=1) if d < date.max else d


def calendar_for(user: User) -> bytes:
    host = urlsplit(settings.SITE_URL).hostname or "closeloop"
    cal = Calendar()
    cal.add("prodid", "-//Closeloop//Closeloop task calendar//ZH")
    cal.add("version", "2.0")
    cal.add("calscale", "GREGORIAN")
    cal.add("x-wr-calname", _("Closeloop: my due tasks"))
    tasks = (
        Task.objects.filter(owner=user)
        .open()
        .select_related("department")
        .order_by("due_date", "id")[:FEED_LIMIT]
    )
    for task in tasks:
        event = Event()
        event.add("uid", f"task-{task.pk}@{host}")
        event.add("dtstamp", task.updated_at or timezone.now())
        event.add("dtstart", task.due_date)
        event.add("dtend", _day_after(task.due_date))
        event.add(
            "summary",
            _flag(task.due_date)
            + _("Due: %(code)s %(title)s") % {"code": task.full_code, "title": task.title},
        )
        url = settings.SITE_URL.rstrip("/") + task.get_absolute_url()
        event.add("url", url)
        event.add(
            "description",
            _("%(status)s, %(progress)s%% done. %(url)s")
            % {"status": task.get_status_display(), "progress": task.progress, "url": url},
        )
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    # Milestones of the open tasks I own, not yet reached.
    milestones = (
        Milestone.objects.filter(task__owner=user, reached_at__isnull=True)
        .exclude(task__status__in=CLOSED_STATUSES)
        .select_related("task__department")
        .order_by("date", "id")[:FEED_LIMIT]
    )
    for milestone in milestones:
        task = milestone.task
        event = Event()
        event.add("uid", f"milestone-{milestone.pk}@{host}")
        event.add("dtstamp", milestone.created_at or timezone.now())
        event.add("dtstart", milestone.date)
        event.add("dtend", _day_after(milestone.date))
        event.add(
            "summary",
            _flag(milestone.date)
            + _("Milestone: %(title)s (%(code)s)") % {"title": milestone.title, "code": task.full_code},
        )
        event.add("url", settings.SITE_URL.rstrip("/") + task.get_absolute_url())
        event.add("transp", "TRANSPARENT")
        cal.add_component(event)
    return cal.to_ical()


def _day_after(d: date) -> date:
    """The all-day event's end; a row stored on date.max (9999-12-31) ends the same day."""
    return d + timedelta(days=1) if d < date.max else d


def _flag(d: date) -> str:
    """A mark on an event whose date lies outside 1900–2100 (a row stored before dates were
    limited): shown so it gets corrected, not dropped."""
    return "" if in_range(d) else "⚠ "


def feed(request: HttpRequest, token: str) -> HttpResponse:
    row = CalendarToken.objects.select_related("user").filter(token=token).first()
    if row is None or not row.user.is_active:
        raise Http404
    response = HttpResponse(calendar_for(row.user), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="closeloop.ics"'
    response["Cache-Control"] = "private, max-age=300"
    return response


@login_required
def subscribe(request: HttpRequest) -> HttpResponse:
    token = calendar_token_get(user=request.user)
    return render(request, "notify/calendar_subscribe.html", {"feed_url": feed_url(token)})


@require_POST
@login_required
def reset(request: HttpRequest) -> HttpResponse:
    from django.contrib import messages

    calendar_token_reset(actor=request.user)
    messages.success(request, _("A new calendar address was made; the old one no longer works."))
    return redirect("calendar:subscribe")
