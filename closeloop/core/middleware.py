import zoneinfo

from django.utils import timezone, translation


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
