"""WeCom app message (企业微信应用消息): one person, as the company's internal app."""

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

TOKEN_ERRORS = {40014, 42001, 41001}
# Longer than any lease after which a dead worker's message is sent again (WeCom allows ≤ 4 h).
DUPLICATE_CHECK_SECONDS = 3600

# The access token lives in the database: send from the worker's own thread.
USES_DB = True


def base() -> str:
    return settings.NOTIFY_WECOM_API_BASE.rstrip("/")


def validate(channel) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not str(channel.config.get("corp_id", "")).strip():
        errors["corp_id"] = [_("Enter the corp id (企业ID).")]
    try:
        int(channel.config.get("agent_id"))
    except (TypeError, ValueError):
        errors["agent_id"] = [_("Enter the app's AgentId, a whole number.")]
    if not channel.secret.strip():
        errors["secret"] = [_("Enter the app's Secret.")]
    return errors


def budgets(channel, message):
    uid = message.recipient.id if message.recipient else 0
    # Excess is dropped silently by WeCom: 30 a minute and 1,000 an hour per member.
    return [(f"ch{channel.pk}u{uid}", 60, 30), (f"ch{channel.pk}u{uid}h", 3600, 1000)]


def fetch_token(channel) -> tuple[str, int]:
    query = urlencode({"corpid": channel.config.get("corp_id", ""), "corpsecret": channel.secret})
    resp = http_call("GET", f"{base()}/cgi-bin/gettoken?{query}", secrets=(channel.secret,))
    check_http_status(resp)
    data = json_body(resp)
    if data.get("errcode") != 0 or not data.get("access_token"):
        text = _("WeCom token error %(code)s: %(msg)s") % {
            "code": data.get("errcode"),
            "msg": data.get("errmsg", ""),
        }
        permanent = data.get("errcode") in (40001, 40013, 40056, 60020, 40091)
        raise TransportError(text, permanent=permanent)
    return data["access_token"], int(data.get("expires_in") or 7200)


def _check(data: dict) -> None:
    code = data.get("errcode")
    if code == 0:
        return
    text = _("WeCom error %(code)s: %(msg)s") % {"code": code, "msg": data.get("errmsg", "")}
    if code in TOKEN_ERRORS:
        raise TokenError(text)
    if code == 45009:
        raise TransportError(text, retry_after=60)
    if code in (81013, 40003, 82001):
        raise TransportError(text, rejected=True)
    if code in (60020, 40001, 301002, 60011):
        raise TransportError(text, permanent=True)
    raise TransportError(text)


# WeCom cuts a textcard's button text after 4 characters ("验收或退回" would read "验收或退").
BUTTON_MAX = 4


def button_text(message: Message) -> str | None:
    """The button text: the action if it fits whole, else its short form, else None (WeCom
    then shows its own 详情 / Details) — never a phrase cut mid-word."""
    for text in (message.action, message.button):
        text = (text or "").strip()
        if text and len(text) <= BUTTON_MAX:
            return text
    return None


def build(channel, message: Message) -> dict:
    description = clip_bytes("\n".join(message.text_lines()) or message.title, 500)
    card = {
        "title": clip_bytes(message.title, 128),
        "description": description,
        "url": message.link,
    }
    button = button_text(message)
    if button:
        card["btntxt"] = button
    return {
        "touser": message.recipient.wecom_id if message.recipient else "",
        "agentid": int(channel.config.get("agent_id")),
        "msgtype": "textcard",
        "textcard": card,
        # WeCom shows the same content to the same person once within the interval: a send
        # repeated after a worker died before recording it is not shown twice (issue 11, item 6).
        "enable_duplicate_check": 1,
        "duplicate_check_interval": DUPLICATE_CHECK_SECONDS,
    }


def send(channel, message: Message) -> str:
    from closeloop.notify.tokens import with_token

    if not message.recipient or not message.recipient.wecom_id:
        raise TransportError(_("The person has no WeCom user id."), rejected=True)
    payload = build(channel, message)

    def call(token: str) -> dict:
        resp = post_json(f"{base()}/cgi-bin/message/send?access_token={token}", payload, secrets=(token,))
        check_http_status(resp, secrets=(token,))
        data = json_body(resp)
        _check(data)
        return data

    data = with_token(channel, lambda: fetch_token(channel), call)
    invalid = data.get("invaliduser") or ""
    if invalid:
        if message.recipient.wecom_id in invalid.split("|"):
            raise TransportError(
                _("WeCom refused the recipient: invaliduser %(users)s") % {"users": invalid}, rejected=True
            )
        return _("Invalid recipients: %(users)s") % {"users": invalid}
    return ""


def lookup_ids(channel, mobiles: list[str]) -> dict[str, str]:
    """{mobile: userid} for the mobiles WeCom knows."""
    from closeloop.notify.tokens import with_token

    found: dict[str, str] = {}
    for mobile in mobiles:

        def call(token: str, mobile=mobile) -> dict:
            resp = post_json(
                f"{base()}/cgi-bin/user/getuserid?access_token={token}", {"mobile": mobile}, secrets=(token,)
            )
            check_http_status(resp, secrets=(token,))
            data = json_body(resp)
            if data.get("errcode") in TOKEN_ERRORS:
                raise TokenError(str(data.get("errmsg")))
            return data

        data = with_token(channel, lambda: fetch_token(channel), call)
        if data.get("errcode") == 0 and data.get("userid"):
            found[mobile] = data["userid"]
    return found
