"""Send a channel's test message now, through the real outbox (budget, SSRF guard, error
recording). Its own module above both `services` and `outbox`: the outbox calls
`services.channel_disable` on a permanent error, so `services` may not import the outbox."""

from datetime import datetime

from django.db import transaction
from django.utils import timezone

from closeloop.notify.models import GROUP_KINDS, Channel, Delivery
from closeloop.notify.outbox import process_one
from closeloop.notify.services import _require_admin
from closeloop.orgs.models import User


def channel_test(*, actor: User, channel: Channel, now: datetime | None = None) -> Delivery:
    """Send a test message now, through the outbox (so budget, SSRF guard and error
    recording are the real ones). Returns the delivery: sent, or failed with the platform's
    error in `last_error`."""
    _require_admin(actor)
    now = now or timezone.now()
    group = channel.kind in GROUP_KINDS
    with transaction.atomic():
        delivery = Delivery.objects.create(
            channel=channel,
            recipient=None if group else actor,
            kind="channel.test",
            data={"channel": channel.name, "by": actor.display_name},
            link="/notifications/",
            mentions=[actor.pk] if group else [],
            run_after=now,
            created_at=now,
        )
    return process_one(delivery.pk, now=now, worker_id=f"test-message:{actor.pk}")
