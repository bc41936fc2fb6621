"""How the JSON API knows who is calling.

Two ways in, tried in this order:
- `Authorization: Bearer <token>`: a personal API token (stored hashed; see
  `orgs.services.api_token_authenticate`). For scripts and integrations.
- the browser session, for same-origin pages that call the API. A write through the session
  needs the CSRF token (header `X-CSRFToken`), as any form would.

Neither answering means 401 (handled in `closeloop.api`).
"""

import zoneinfo

from django.http import HttpRequest
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from ninja.errors import HttpError
from ninja.security import HttpBearer
from ninja.security.apikey import APIKeyCookie
from ninja.utils import check_csrf

from closeloop.orgs.models import User
from closeloop.orgs.services import api_token_authenticate


def _act_as(request: HttpRequest, user: User) -> User:
    """Make the rest of the request see the caller as the web does: `request.user`, their time
    zone for "today" and their language for messages (the middleware ran before we knew)."""
    request.user = user
    try:
        timezone.activate(zoneinfo.ZoneInfo(user.time_zone))
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        timezone.deactivate()
    if user.language and "HTTP_ACCEPT_LANGUAGE" not in request.META:
        translation.activate(user.language)
        request.LANGUAGE_CODE = translation.get_language()
    return user


class TokenAuth(HttpBearer):
    """Personal API token: `Authorization: Bearer cl_…`."""

    def authenticate(self, request: HttpRequest, token: str) -> User | None:
        user = api_token_authenticate(token.strip())
        if user is None:
            return None
        return _act_as(request, user)


class SessionAuth(APIKeyCookie):
    """The signed-in browser session. Only consulted when the session cookie is present, so a
    script with a bad token gets 401, not a CSRF complaint."""

    param_name = "sessionid"

    def __init__(self) -> None:
        from django.conf import settings

        self.param_name = settings.SESSION_COOKIE_NAME
        super().__init__(csrf=True)

    def _get_key(self, request: HttpRequest) -> str | None:
        return request.COOKIES.get(self.param_name)

    def authenticate(self, request: HttpRequest, key: str | None) -> User | None:
        user = getattr(request, "user", None)
        if not key or user is None or not user.is_authenticated:
            return None
        if request.method not in ("GET", "HEAD", "OPTIONS", "TRACE") and check_csrf(request):
            raise HttpError(
                403, _("CSRF check failed: send the csrftoken cookie's value in the X-CSRFToken header.")
            )
        return user


def api_auth() -> list:
    return [TokenAuth(), SessionAuth()]
