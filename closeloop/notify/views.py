"""The bell's pages: the notification list (mark read, mark all read) and preferences."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils.http import url_has_allowed_host_and_scheme
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from closeloop.core.errors import DomainError
from closeloop.notify import selectors, services
from closeloop.notify.forms import PreferenceForm
from closeloop.notify.models import Preference


def _rows(user, page):
    return [(n, n.render(user.language)) for n in page]


@login_required
def notification_list(request: HttpRequest) -> HttpResponse:
    unread = request.GET.get("unread") == "1"
    qs = selectors.notification_list(request.user, unread=unread)
    page = Paginator(qs, 30).get_page(request.GET.get("page"))
    return render(
        request,
        "notify/notifications.html",
        {"page": page, "rows": _rows(request.user, page), "unread_only": unread},
    )


@login_required
def notification_open(request: HttpRequest, pk: int) -> HttpResponse:
    """Follow a notification's link, marking it read on the way."""
    try:
        note = services.notification_mark_read(actor=request.user, notification_id=pk)
    except DomainError as exc:
        return render(request, "404.html", {"message": exc.message}, status=404)
    return redirect(note.link or "notify:list")


@require_POST
@login_required
def notification_read(request: HttpRequest, pk: int) -> HttpResponse:
    try:
        note = services.notification_mark_read(actor=request.user, notification_id=pk)
    except DomainError as exc:
        return HttpResponse(exc.message, status=404)
    if request.htmx:
        response = render(request, "notify/_row.html", {"n": note, "r": note.render(request.user.language)})
        response["HX-Trigger"] = "notify:changed"
        return response
    return _back(request)


@require_POST
@login_required
def notification_read_all(request: HttpRequest) -> HttpResponse:
    n = services.notification_mark_all_read(actor=request.user)
    if n:
        messages.success(request, _("%(count)s notification(s) marked read.") % {"count": n})
    else:  # a second click (or nothing unread): "0 marked read" would read as a failure
        messages.info(request, _("No unread notifications."))
    return _back(request)


def _back(request: HttpRequest) -> HttpResponse:
    nxt = request.POST.get("next") or ""
    if nxt and url_has_allowed_host_and_scheme(nxt, {request.get_host()}, require_https=request.is_secure()):
        return redirect(nxt)
    return redirect("notify:list")


@login_required
def preferences(request: HttpRequest) -> HttpResponse:
    pref = Preference.objects.filter(user=request.user).first()
    form = PreferenceForm(request.POST or None, pref=pref)
    if request.method == "POST" and form.is_valid():
        try:
            services.preference_update(
                actor=request.user,
                routes=form.routes(),
                quiet_start=form.cleaned_data["quiet_start"],
                quiet_end=form.cleaned_data["quiet_end"],
                digest_minutes=form.cleaned_data["digest_minutes"] or 0,
            )
        except DomainError as exc:
            for field, errs in exc.fields.items():
                for err in errs:
                    form.add_error(field if field in form.fields else None, err)
        else:
            messages.success(request, _("Notification settings saved."))
            return redirect("notify:preferences")
    # A form with errors saved nothing: 422, as every other form (the box above the form says so).
    status = 422 if form.errors else 200
    return render(request, "notify/preferences.html", {"form": form}, status=status)


def bell(request: HttpRequest) -> HttpResponse:
    """The bell alone, for htmx to refresh after a read."""
    return render(request, "notify/_bell.html")
