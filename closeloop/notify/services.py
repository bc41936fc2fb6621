"""The one entry point feature services use to tell people something.

Call `notify()` inside the feature's transaction: the notification rows commit (or roll back)
with the change that caused them. Rendering happens when the message is shown or delivered,
in each recipient's language.
"""

from collections.abc import Iterable
from typing import Any

from closeloop.notify.models import Notification
from closeloop.orgs.models import User


def notify(
    *,
    recipients: Iterable[User],
    kind: str,
    data: dict[str, Any],
    link: str = "",
    actor: User | None = None,
) -> list[Notification]:
    """Queue one notification per distinct recipient, never to the actor themself."""
    seen: set[int] = set()
    rows = []
    for user in recipients:
        if user is None or user.pk in seen or (actor is not None and user.pk == actor.pk) or not user.is_active:
            continue
        seen.add(user.pk)
        rows.append(Notification(recipient=user, kind=kind, data=data, link=link, actor=actor))
    return Notification.objects.bulk_create(rows)
