"""Reads of the notification layer. A person sees only their own notifications; channels and
deliveries are for administrators."""

from django.db.models import QuerySet

from closeloop.notify.models import Channel, Delivery, Notification
from closeloop.orgs.models import User


def notification_list(user: User, *, unread: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user).select_related("actor")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


def unread_count(user: User) -> int:
    """One COUNT on the inbox index; the bell calls this on every page."""
    if not getattr(user, "is_authenticated", False):
        return 0
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def channel_list(user: User) -> QuerySet[Channel]:
    if not user.is_superuser:
        return Channel.objects.none()
    return Channel.objects.select_related("department").order_by("kind", "name", "id")


def delivery_list(user: User) -> QuerySet[Delivery]:
    if not user.is_superuser:
        return Delivery.objects.none()
    return Delivery.objects.select_related("channel", "recipient").order_by("-created_at", "-id")
