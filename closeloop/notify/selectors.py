"""Reads of the notification layer. A person sees only their own notifications; channels and
deliveries are for administrators."""

from django.db.models import Count, Q, QuerySet
from django.utils.translation import gettext as _

from closeloop.notify.models import Channel, Delivery, DeliveryState, Notification
from closeloop.orgs.models import User


def notification_list(user: User, *, unread: bool = False) -> QuerySet[Notification]:
    qs = Notification.objects.filter(recipient=user).select_related("actor")
    if unread:
        qs = qs.filter(read_at__isnull=True)
    return qs.order_by("-created_at", "-id")


_UNREAD = "_closeloop_unread"


def unread_count(user: User) -> int:
    """The person's unread notifications; the bell calls this on every page. Read with the
    signed-in person (`unread_count_sql`, no query of its own) unless this request changed
    what is read (`forget_unread_count`); else one COUNT on the inbox index."""
    if not getattr(user, "is_authenticated", False):
        return 0
    known = getattr(user, _UNREAD, None)
    if known is not None:
        return known
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def unread_count_sql() -> str:
    """`unread_count` as a scalar subquery on the person's row `u`, for
    `orgs.request_person.register_extra` (the same COUNT on the inbox index)."""
    from django.db import connection

    qn = connection.ops.quote_name
    table = qn(Notification._meta.db_table)
    where = f"n.{qn('recipient_id')} = u.{qn('id')} AND n.{qn('read_at')} IS NULL"
    return f"(SELECT COUNT(*) FROM {table} n WHERE {where})"  # noqa: S608 - names from the model


def remember_unread_count(user: User, value) -> None:
    """Memoise the count read with the person for the rest of the request."""
    setattr(user, _UNREAD, int(value or 0))


def forget_unread_count(user: User) -> None:
    """Drop the memo after a change to the person's notifications in this request (marking
    read, or a notification to them), so the bell counts again."""
    user.__dict__.pop(_UNREAD, None)


def channel_list(user: User) -> QuerySet[Channel]:
    if not user.is_superuser:
        return Channel.objects.none()
    return Channel.objects.select_related("department").order_by("kind", "name", "id")


def delivery_list(user: User) -> QuerySet[Delivery]:
    if not user.is_superuser:
        return Delivery.objects.none()
    return Delivery.objects.select_related("channel", "recipient").order_by("-created_at", "-id")


def held_status_warnings() -> list[str]:
    """For the admin status page: each disabled channel that holds messages or dropped some."""
    out = []
    rows = (
        Channel.objects.filter(Q(enabled=False) | Q(held_dropped__gt=0))
        .annotate(held=Count("deliveries", filter=Q(deliveries__state=DeliveryState.HELD)))
        .order_by("name", "id")
    )
    for c in rows:
        if not c.held and not c.held_dropped:
            continue
        out.append(
            _(
                "Channel %(name)s holds %(held)s message(s) until it is enabled again; "
                "%(dropped)s older one(s) were dropped over the limit."
            )
            % {"name": c.name, "held": c.held, "dropped": c.held_dropped}
        )
    return out


def account_mail_warnings() -> list[str]:
    """For the admin status page: password-reset mail that has not gone out."""
    stuck = Delivery.objects.filter(
        kind="account.password_reset",
        state__in=[DeliveryState.QUEUED, DeliveryState.FAILED, DeliveryState.HELD],
    ).exclude(last_error="")
    n = stuck.count()
    if not n:
        return []
    last = stuck.order_by("-id").values_list("last_error", flat=True).first()
    return [
        _("%(n)s password-reset mail(s) could not be sent yet (last error: %(error)s).")
        % {"n": n, "error": last[:200]}
    ]
