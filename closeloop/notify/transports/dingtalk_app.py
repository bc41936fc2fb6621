"""DingTalk work notification (钉钉工作通知): one person, as the company's internal app.

An accepted send only means "queued": the send result is checked right afterwards."""

from urllib.parse import urlencode

from django.conf import settings
from django.utils.translation import gettext as _

from closeloop.notify.transports import (
    Message,
    TokenError,
    TransportError,
    check_http_status,
    clip_bytes,
    http_call,
    json_body,
    post_json,
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
    resp = http_call("GET", f"{base()}/gettoken?{query}", secrets=(channel.secret,))
    check_http_status(resp)
    data = json_body(resp)
    if data.get("errcode") != 0 or not data.get("access_token"):
        text = _("DingTalk token error %(code)s: %(msg)s") % {
            "code": data.get("errcode"),
            "msg": data.get("errmsg", ""),
        }
        raise TransportError(text, permanent=data.get("errcode") in (40089, 40001, 40014, 43003))
    return data["access_token"], int(data.get("expires_in") or 7200)


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
    from closeloop.notify.tokens import with_token

    if not message.recipient or not message.recipient.dingtalk_id:
        raise TransportError(_("The person has no DingTalk user id."), rejected=True)
    payload = build(channel, message)
    user = message.recipient.dingtalk_id

    def call(token: str) -> dict:
        resp = post_json(
            f"{base()}/topapi/message/corpconversation/asyncsend_v2?access_token={token}",
            payload,
            secrets=(token,),
        )
        check_http_status(resp, secrets=(token,))
        data = json_body(resp)
        _check(data)
        task_id = data.get("task_id")
        resp = post_json(
            f"{base()}/topapi/message/corpconversation/getsendresult?access_token={token}",
            {"agent_id": payload["agent_id"], "task_id": task_id},
            secrets=(token,),
        )
        check_http_status(resp, secrets=(token,))
        result = json_body(resp)
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
    from closeloop.notify.tokens import with_token

    found: dict[str, str] = {}
    for mobile in mobiles:

        def call(token: str, mobile=mobile) -> dict:
            resp = post_json(
                f"{base()}/topapi/v2/user/getbymobile?access_token={token}",
                {"mobile": mobile},
                secrets=(token,),
            )
            check_http_status(resp, secrets=(token,))
            data = json_body(resp)
            if data.get("errcode") in TOKEN_ERRORS:
                raise TokenError(str(data.get("errmsg")))
            return data

        data = with_token(channel, lambda: fetch_token(channel), call)
        userid = (data.get("result") or {}).get("userid")
        if data.get("errcode") == 0 and userid:
            found[mobile] = userid
    return found
