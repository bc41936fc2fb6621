import zoneinfo

from django.http import Http404
from django.utils import timezone, translation

from closeloop.core.errors import NotFound


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

    def process_exception(self, request, exception):
        if isinstance(exception, NotFound):
            raise Http404(exception.message) from exception
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
