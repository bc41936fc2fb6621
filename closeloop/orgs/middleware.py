"""`request.user` for signed-in pages in one query (issue 16, item 1)."""

from django.conf import settings
from django.contrib import auth
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.middleware import AuthenticationMiddleware as DjangoAuthenticationMiddleware
from django.contrib.auth.models import AnonymousUser
from django.utils.crypto import constant_time_compare
from django.utils.functional import SimpleLazyObject

from closeloop.orgs.models import User
from closeloop.orgs.request_person import person_by_id

# Sessions signed in through these backends load the person with `person_by_id` (what
# `ModelBackend.get_user` reads, and more, in one query); any other backend goes Django's way.
FAST_BACKENDS = frozenset({"django.contrib.auth.backends.ModelBackend"})


def get_user(request) -> User | AnonymousUser:
    """`django.contrib.auth.get_user`, step for step (the session's user id and backend, the
    backend listed in AUTHENTICATION_BACKENDS, an inactive person refused as ModelBackend
    refuses them, the session hash verified against the password — with the fallback secrets
    and the key cycled — or the session flushed), but the person is read by
    `orgs.request_person.person_by_id`, which also memoises their department scopes and the
    bell's unread count. Memoised on the request as Django's middleware does."""
    if hasattr(request, "_cached_user"):
        return request._cached_user
    user = None
    try:
        user_id = User._meta.pk.to_python(request.session[SESSION_KEY])
        backend_path = request.session[BACKEND_SESSION_KEY]
    except KeyError:
        pass
    else:
        if backend_path not in FAST_BACKENDS:
            request._cached_user = auth.get_user(request)
            return request._cached_user
        if backend_path in settings.AUTHENTICATION_BACKENDS:
            user = person_by_id(user_id)
            if user is not None and not user.is_active:
                user = None  # ModelBackend.user_can_authenticate
            if user is not None:
                session_hash = request.session.get(HASH_SESSION_KEY)
                session_auth_hash = user.get_session_auth_hash()
                if not (session_hash and constant_time_compare(session_hash, session_auth_hash)):
                    if session_hash and any(
                        constant_time_compare(session_hash, fallback)
                        for fallback in user.get_session_auth_fallback_hash()
                    ):
                        request.session.cycle_key()
                        request.session[HASH_SESSION_KEY] = session_auth_hash
                    else:
                        request.session.flush()
                        user = None
    request._cached_user = user or AnonymousUser()
    return request._cached_user


class AuthenticationMiddleware(DjangoAuthenticationMiddleware):
    """Django's AuthenticationMiddleware with `request.user` loaded by `get_user` above.
    `request.auser` (async views) stays Django's."""

    def process_request(self, request):
        super().process_request(request)
        request.user = SimpleLazyObject(lambda: get_user(request))
