"""DingTalk work notification (钉钉工作通知): one person, as the company's internal app.

An accepted send only means "queued": the send result is checked right afterwards."""

from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext as _

from closeloop.notify.tokens import with_token
from closeloop.notify.transports import (
    Message,
    TokenError,
    TransportError,
    clip_bytes,
    errcode,
)

TOKEN_ERRORS = {40014, 42001, 40001, 41001}

# The access token lives in the database: send from the worker's own thread.
USES_DB = True


def base() -> str:
    return settings.NOTIFY_DINGTALK_API_BASE.rstrip("/")


def validate(channel) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not str(channel.config.get("app_key", "")).strip():
        errors["app_key"] = [_("Enter the AppKey.")]
    try:
        int(channel.config.get("agent_id"))
    except (TypeError, ValueError):
        errors["agent_id"] = [_("Enter the AgentId, a whole number.")]
    if not channel.secret.strip():
        errors["secret"] = [_("Enter the AppSecret.")]
    return errors


def budgets(channel, message):
    uid = message.recipient.id if message.recipient else 0
    # Beyond 500 a day per person DingTalk "succeeds" and delivers nothing.
    return [(f"ch{channel.pk}u{uid}d", 86400, 500), (f"ch{channel.pk}", 1, 20)]


def fetch_token(channel) -> tuple[str, int]:
    query = urlencode({"appkey": channel.config.get("app_key", ""), "appsecret": channel.secret})
    return errcode.fetch_token(
        f"{base()}/gettoken?{query}",
        secret=channel.secret,
        error=_("DingTalk token error %(code)s: %(msg)s"),
        permanent={40089, 40001, 40014, 43003},
    )


def _check(data: dict) -> None:
    code = data.get("errcode")
    if code == 0:
        return
    text = _("DingTalk error %(code)s: %(msg)s") % {
        "code": code,
        "msg": " ".join(str(x) for x in (data.get("errmsg", ""), data.get("sub_code", "")) if x),
    }
    if code in TOKEN_ERRORS:
        raise TokenError(text)
    if code == 90002:
        raise TransportError(text, retry_after=60)
    if code == 90020:
        raise TransportError(text, retry_after=6 * 3600)
    if code == 88:
        raise TransportError(text, permanent=True)
    raise TransportError(text)


def build(channel, message: Message) -> dict:
    # The same content to the same person arrives once a day: the delivery number varies it.
    tail = f"\n\n#{message.delivery_id}"
    text = clip_bytes("\n\n".join([f"### {message.title}", *message.text_lines(markdown=True)]), 1500, tail)
    return {
        "agent_id": int(channel.config.get("agent_id")),
        "userid_list": message.recipient.dingtalk_id if message.recipient else "",
        "msg": {
            "msgtype": "action_card",
            "action_card": {
                "title": clip_bytes(message.title, 120),
                "markdown": text,
                "single_title": message.action,
                "single_url": message.link,
            },
        },
    }


def send(channel, message: Message) -> str:
    if not message.recipient or not message.recipient.dingtalk_id:
        raise TransportError(_("The person has no DingTalk user id."), rejected=True)
    payload = build(channel, message)
    user = message.recipient.dingtalk_id

    def call(token: str) -> dict:
        data = errcode.post(
            f"{base()}/topapi/message/corpconversation/asyncsend_v2?access_token={token}", payload, token
        )
        _check(data)
        result = errcode.post(
            f"{base()}/topapi/message/corpconversation/getsendresult?access_token={token}",
            {"agent_id": payload["agent_id"], "task_id": data.get("task_id")},
            token,
        )
        _check(result)
        return result

    result = with_token(channel, lambda: fetch_token(channel), call).get("send_result") or {}
    for field, label in (
        ("invalid_user_id_list", _("invalid user")),
        ("forbidden_user_id_list", _("over the daily limit or forbidden")),
        ("failed_user_id_list", _("failed")),
    ):
        users = result.get(field) or []
        if isinstance(users, str):
            users = users.split(",")
        if user in users:
            raise TransportError(
                _("DingTalk did not deliver to %(user)s: %(why)s") % {"user": user, "why": label},
                rejected=True,
            )
    return ""


def lookup_ids(channel, mobiles: list[str]) -> dict[str, str]:
    """{mobile: userid} for the mobiles DingTalk knows."""
    return errcode.lookup_by_mobile(
        channel,
        mobiles,
        fetch=lambda: fetch_token(channel),
        url=f"{base()}/topapi/v2/user/getbymobile",
        token_errors=TOKEN_ERRORS,
        userid=lambda data: (data.get("result") or {}).get("userid"),
    )
