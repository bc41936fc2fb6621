"""IM app access tokens, cached in the database: one place for every worker and web process.

A token is refreshed `NOTIFY_TOKEN_REFRESH_MARGIN` seconds before it expires; on a token
error the caller drops it, fetches a new one and retries once (`with_token`)."""

from collections.abc import Callable
from datetime import timedelta
from typing import TypeVar

from django.conf import settings
from django.utils import timezone

from closeloop.notify.models import AccessToken
from closeloop.notify.transports import TokenError

T = TypeVar("T")


def cached_token(channel, fetch: Callable[[], tuple[str, int]]) -> str:
    # Real time, not a job's "now": the platform's clock decides when a token dies.
    now = timezone.now()
    margin = timedelta(seconds=getattr(settings, "NOTIFY_TOKEN_REFRESH_MARGIN", 300))
    row = AccessToken.objects.filter(channel_id=channel.pk, expires_at__gt=now + margin).only("token").first()
    if row is not None:
        return row.token
    token, expires_in = fetch()
    AccessToken.objects.update_or_create(
        channel_id=channel.pk,
        defaults={"token": token, "expires_at": now + timedelta(seconds=int(expires_in or 7200))},
    )
    return token


def drop_token(channel) -> None:
    AccessToken.objects.filter(channel_id=channel.pk).delete()


def with_token(channel, fetch: Callable[[], tuple[str, int]], call: Callable[[str], T]) -> T:
    token = cached_token(channel, fetch)
    try:
        return call(token)
    except TokenError:
        drop_token(channel)
        return call(cached_token(channel, fetch))
