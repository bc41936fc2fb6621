import json
import logging
import zoneinfo

from django.db import DataError, IntegrityError
from django.http import Http404, JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from closeloop.core.errors import NotFound
from closeloop.core.ids import MAX_ID

log = logging.getLogger("closeloop.request")


def _nul_fields(request) -> list[str]:
    """The query parameters and JSON fields (dotted paths, e.g. `items.0.title`) of the
    request that hold a NUL character; [] when none does."""
    found = [name for name, values in request.GET.lists() if any("\x00" in v for v in values)]
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return found
    if not request.META.get("CONTENT_TYPE", "").startswith("application/json"):
        # Form posts are left to their forms: Django's form fields refuse a NUL with a message
        # on the field, which says more than a bare 400.
        return found
    try:
        body = request.body
    except Exception:  # noqa: BLE001  (too large / already read: the view answers)
        return found
    if b"\\u0000" not in body.lower() and b"\x00" not in body:
        return found
    try:
        _json_nul_paths(json.loads(body), "", found)
    except ValueError:
        found.append("body")  # a raw NUL byte: not JSON a client meant
    return found


def _json_nul_paths(value, path: str, found: list[str]) -> None:
    if isinstance(value, str):
        if "\x00" in value:
            found.append(path or "body")
    elif isinstance(value, dict):
        for k, v in value.items():
            _json_nul_paths(v, f"{path}.{k}" if path else str(k), found)
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _json_nul_paths(v, f"{path}.{i}" if path else str(i), found)


def out_of_range(exception: BaseException) -> bool:
    """A number (or date) the database cannot hold: SQLite's OverflowError, PostgreSQL's
    "out of range" DataError. Always the input's fault, never a server error."""
    if isinstance(exception, OverflowError):
        return True
    text = str(exception).lower()
    if isinstance(exception, DataError):
        return "out of range" in text
    # SQLite's answer to an OFFSET or LIMIT beyond 64 bits.
    return isinstance(exception, IntegrityError) and "datatype mismatch" in text


class UserTimezoneMiddleware:
    """Show times in the person's time zone (stored UTC, shown local), in their saved language.

    Runs after authentication. The language switch saves the choice on the person, so it
    follows them from the laptop to the phone; anonymous pages use the cookie / browser."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        tz_name = getattr(user, "time_zone", "") if user is not None and user.is_authenticated else ""
        if tz_name:
            try:
                timezone.activate(zoneinfo.ZoneInfo(tz_name))
            except (zoneinfo.ZoneInfoNotFoundError, ValueError):
                timezone.deactivate()
        else:
            timezone.deactivate()
        if user is not None and user.is_authenticated and getattr(user, "language", ""):
            translation.activate(user.language)
            request.LANGUAGE_CODE = translation.get_language()
        return self.get_response(request)


class NotFoundMiddleware:
    """A selector's or service's NotFound (the object does not exist, or the person may not
    see it) is the web's 404, wherever in a view it is raised. Views that answer it another
    way catch it themselves; the API has its own handler."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        # An id in the address beyond the database's integers names nothing: 404, not 500.
        for value in (*view_args, *view_kwargs.values()):
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) > MAX_ID:
                raise Http404
        nul_fields = _nul_fields(request)
        if nul_fields:
            # PostgreSQL cannot store a NUL character in text, and no one types one: refuse the
            # request before any of it is stored, naming the fields.
            message = _("Text may not contain NUL characters (\\u0000).")
            if request.path.startswith("/api/"):
                body = {
                    "code": "validation_error",
                    "message": message,
                    "fields": {name: [message] for name in nul_fields},
                }
                return JsonResponse(body, status=422)
            return render(request, "400.html", {"message": message}, status=400)
        return None

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
        if out_of_range(exception):
            # A number or date typed into a form or a query string that the database cannot
            # hold: say so (400) instead of failing.
            log.info("out-of-range input on %s %s: %s", request.method, request.path, exception)
            return render(request, "400.html", status=400)
        return None


def client_ip(request) -> str:
    """The address a request came from, for login throttling (django-axes). Behind the TLS
    proxy (`BEHIND_TLS_PROXY`), the last X-Forwarded-For hop: the one our proxy appended, so
    a client cannot pick its own address by sending the header; else REMOTE_ADDR."""
    from django.conf import settings

    if getattr(settings, "SECURE_PROXY_SSL_HEADER", None):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        hops = [h.strip() for h in forwarded.split(",") if h.strip()]
        if hops:
            return hops[-1][:100]
    return (request.META.get("REMOTE_ADDR") or "")[:100]


class PermissionsPolicyMiddleware:
    """Turns off browser features Closeloop never uses, so an injected script could not ask
    for them either (issue 11, item 5)."""

    POLICY = "camera=(), microphone=(), geolocation=(), payment=(), usb=(), interest-cohort=()"

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        response.headers.setdefault("Permissions-Policy", self.POLICY)
        return response


def reloads_to(anchor: str):
    """Mark a task's POST-only view whose refused form is shown at the task page's `anchor`
    (a panel id, e.g. "plan"): reloading its address goes back to the task page there
    (`FormAddressMiddleware`). The mark survives `login_required` and `require_POST`, which
    copy the view's attributes (functools.wraps)."""

    def mark(view):
        view.reload_anchor = anchor
        return view

    return mark


class FormAddressMiddleware:
    """A browser GET of an address that only takes a form's POST — the page a refused form
    was rendered at, reloaded (F5), or a stale tab told to refresh — was Django's empty 405,
    a white page. For an address of one task (the `tasks` namespace with a `pk`: transition,
    comments, criteria consent, …) it goes to the task page, at the panel the view names
    (`reloads_to`), and the task page decides what the person may see (404 for a task they
    may not see); any other address answers the layout's 405 page with a way back. The API
    keeps its own 405 (`closeloop.api`); other methods than GET keep the bare 405."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        if response.status_code != 405 or request.method != "GET" or request.path.startswith("/api/"):
            return response
        match = request.resolver_match
        pk = match.kwargs.get("pk") if match is not None else None
        if match is not None and match.namespace == "tasks" and isinstance(pk, int):
            anchor = getattr(match.func, "reload_anchor", "")
            return redirect(reverse("tasks:detail", args=[pk]) + (f"#{anchor}" if anchor else ""))
        page = render(request, "405.html", status=405)
        if response.has_header("Allow"):
            page["Allow"] = response["Allow"]
        return page
