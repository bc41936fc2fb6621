"""API: `notifications` (mine: list, mark read, mark all read) and `channels` (admins: list,
create, update, test, disable, enable). Secrets are never returned in full."""

from typing import Any

from django.http import HttpRequest
from django.utils.translation import gettext as _
from ninja import Field, Query, Router, Schema

from closeloop.core.errors import NotFound, ValidationFailed
from closeloop.core.ids import is_id
from closeloop.notify import channel_check, selectors, services
from closeloop.notify.models import Channel
from closeloop.orgs.models import Department

router = Router(tags=["notifications"])

MAX_LIMIT = 200


class NotificationParams(Schema):
    unread: bool = False
    limit: int = Field(50, ge=1, le=MAX_LIMIT)
    offset: int = Field(0, ge=0, le=1_000_000_000)


def _notification(n, language: str) -> dict[str, Any]:
    from closeloop.notify.kinds import absolute

    r = n.render(language)
    return {
        "id": n.pk,
        "kind": n.kind,
        "title": r.title,
        "body": r.body,
        "action": r.action,
        "link": absolute(n.link),
        "data": n.data,
        "actor": {"id": n.actor_id, "name": n.actor.display_name} if n.actor_id else None,
        "created_at": n.created_at,
        "read_at": n.read_at,
    }


@router.get("/notifications", summary="My notifications, newest first")
def list_notifications(request: HttpRequest, params: Query[NotificationParams]):
    qs = selectors.notification_list(request.user, unread=params.unread)
    items = [
        _notification(n, request.user.language) for n in qs[params.offset : params.offset + params.limit]
    ]
    return {
        "count": qs.count(),
        "unread": selectors.unread_count(request.user),
        "limit": params.limit,
        "offset": params.offset,
        "items": items,
    }


@router.post("/notifications/read-all", summary="Mark all my notifications read")
def read_all(request: HttpRequest):
    return {"marked": services.notification_mark_all_read(actor=request.user)}


@router.post("/notifications/{notification_id}/read", summary="Mark one notification read")
def read_one(request: HttpRequest, notification_id: int):
    note = services.notification_mark_read(actor=request.user, notification_id=notification_id)
    return _notification(note, request.user.language)


# -- channels -------------------------------------------------------------------------


class ChannelIn(Schema):
    name: str
    kind: str
    department: str | None = Field(None, description="Department code or id; required for group robots.")
    url: str = ""
    secret: str = ""
    keyword: str = ""
    config: dict[str, Any] = {}
    events: list[str] = []


class ChannelPatch(Schema):
    name: str | None = None
    department: str | None = None
    url: str | None = Field(None, description="Empty or absent keeps the stored URL.")
    secret: str | None = Field(None, description="Empty or absent keeps the stored secret.")
    keyword: str | None = None
    config: dict[str, Any] | None = None
    events: list[str] | None = None


class DisableIn(Schema):
    reason: str = ""


def channel_out(c: Channel) -> dict[str, Any]:
    return {
        "id": c.pk,
        "name": c.name,
        "kind": c.kind,
        "department": c.department.code if c.department_id else None,
        "url": c.masked_url,
        "secret": c.masked_secret,
        "has_secret": bool(c.secret),
        "keyword": c.keyword,
        "config": c.config,
        "events": c.events,
        "enabled": c.enabled,
        "disabled_reason": c.disabled_reason,
        "last_error": c.last_error,
        "last_error_at": c.last_error_at,
        "last_success_at": c.last_success_at,
    }


def _admin_channel(request: HttpRequest, channel_id: int) -> Channel:
    services._require_admin(request.user)
    try:
        return selectors.channel_list(request.user).get(pk=channel_id)
    except Channel.DoesNotExist:
        raise NotFound(_("Channel not found.")) from None


def _department(value: str | None) -> Department | None:
    if value in (None, ""):
        return None
    dept = Department.objects.filter(code__iexact=value).first()
    if dept is None and is_id(value):
        dept = Department.objects.filter(pk=int(value)).first()
    if dept is None:
        raise ValidationFailed(_("No such department."), fields={"department": [_("No such department.")]})
    return dept


@router.get("/channels", summary="Channels (administrators)")
def list_channels(request: HttpRequest):
    services._require_admin(request.user)
    items = [channel_out(c) for c in selectors.channel_list(request.user)]
    return {"count": len(items), "items": items}


@router.post("/channels", response={201: dict}, summary="Add a channel (administrators)")
def create_channel(request: HttpRequest, payload: ChannelIn):
    services._require_admin(request.user)
    data = payload.dict()
    data["department"] = _department(data["department"])
    return 201, channel_out(services.channel_create(actor=request.user, **data))


@router.get("/channels/{channel_id}", summary="One channel (administrators)")
def get_channel(request: HttpRequest, channel_id: int):
    return channel_out(_admin_channel(request, channel_id))


@router.patch("/channels/{channel_id}", summary="Change a channel (administrators)")
def update_channel(request: HttpRequest, channel_id: int, payload: ChannelPatch):
    channel = _admin_channel(request, channel_id)
    changes = payload.dict(exclude_unset=True)
    if "department" in changes:
        changes["department"] = _department(changes["department"])
    changes = {k: v for k, v in changes.items() if v is not None or k == "department"}
    return channel_out(services.channel_update(actor=request.user, channel=channel, **changes))


@router.post("/channels/{channel_id}/test", summary="Send a test message now (administrators)")
def test_channel(request: HttpRequest, channel_id: int):
    channel = _admin_channel(request, channel_id)
    d = channel_check.channel_test(actor=request.user, channel=channel)
    return {"delivery": d.pk, "state": d.state, "error": d.last_error, "detail": d.detail}


@router.post("/channels/{channel_id}/disable", summary="Disable a channel (administrators)")
def disable_channel(request: HttpRequest, channel_id: int, payload: DisableIn):
    channel = _admin_channel(request, channel_id)
    return channel_out(services.channel_disable(actor=request.user, channel=channel, reason=payload.reason))


@router.post("/channels/{channel_id}/enable", summary="Enable a channel again (administrators)")
def enable_channel(request: HttpRequest, channel_id: int):
    channel = _admin_channel(request, channel_id)
    return channel_out(services.channel_enable(actor=request.user, channel=channel))
