"""WeCom app message (企业微信应用消息): one person, as the company's internal app."""

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
    return errcode.fetch_token(
        f"{base()}/cgi-bin/gettoken?{query}",
        secret=channel.secret,
        error=_("WeCom token error %(code)s: %(msg)s"),
        permanent={40001, 40013, 40056, 60020, 40091},
    )


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
    if not message.recipient or not message.recipient.wecom_id:
        raise TransportError(_("The person has no WeCom user id."), rejected=True)
    payload = build(channel, message)

    def call(token: str) -> dict:
        data = errcode.post(f"{base()}/cgi-bin/message/send?access_token={token}", payload, token)
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
    return errcode.lookup_by_mobile(
        channel,
        mobiles,
        fetch=lambda: fetch_token(channel),
        url=f"{base()}/cgi-bin/user/getuserid",
        token_errors=TOKEN_ERRORS,
        userid=lambda data: data.get("userid"),
    )
