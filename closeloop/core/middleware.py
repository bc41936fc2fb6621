import json
import logging
import zoneinfo

from django.db import DataError, IntegrityError
from django.http import Http404, HttpResponseBadRequest, JsonResponse
from django.shortcuts import render
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from closeloop.core.errors import NotFound
from closeloop.core.ids import MAX_ID

log = logging.getLogger("closeloop.request")


def _has_nul(request) -> bool:
    """Does a query parameter or a JSON string of the request hold a NUL?"""
    if any("\x00" in v for values in request.GET.lists() for v in values[1]):
        return True
    if request.method in ("GET", "HEAD", "OPTIONS"):
        return False
    content_type = request.META.get("CONTENT_TYPE", "")
    if content_type.startswith("application/json"):
        try:
            body = request.body
        except Exception:  # noqa: BLE001  (too large / already read: the view answers)
            return False
        if b"\x00" in body:
            return True
        if b"\\u0000" not in body.lower():
            return False
        try:
            return _json_has_nul(json.loads(body))
        except ValueError:
            return False
    # Form posts are left to their forms: Django's form fields refuse a NUL with a message
    # on the field, which says more than a bare 400.
    return False


def _json_has_nul(value) -> bool:
    if isinstance(value, str):
        return "\x00" in value
    if isinstance(value, dict):
        return any(_json_has_nul(k) or _json_has_nul(v) for k, v in value.items())
    if isinstance(value, list):
        return any(_json_has_nul(v) for v in value)
    return False


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
        if _has_nul(request):
            # PostgreSQL cannot store a NUL character in text, and no one types one: refuse the
            # request before any of it is stored.
            message = _("Text may not contain NUL characters (\\u0000).")
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "validation_error", "message": message}, status=422)
            return HttpResponseBadRequest(message)
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
