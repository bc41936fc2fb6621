"""DingTalk custom robot (钉钉自定义机器人) with 加签 signing and keyword security."""

import base64
import hashlib
import hmac
import time
from urllib.parse import parse_qs, quote_plus, urlsplit

from django.utils.translation import gettext as _

from closeloop.notify import netguard
from closeloop.notify.transports import (
    Message,
    TransportError,
    check_http_status,
    clip_bytes,
    json_body,
    platform_host_ok,
    post_json,
)

HOSTS = {"oapi.dingtalk.com"}
SIZE_LIMIT = 18000


def validate(channel) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    parts = urlsplit(channel.url or "")
    if not parts.path.endswith("/robot/send") or not parse_qs(parts.query).get("access_token"):
        errors["url"] = [
            _("This is not a DingTalk robot URL (https://oapi.dingtalk.com/robot/send?access_token=…).")
        ]
    elif not platform_host_ok(channel.url, HOSTS):
        errors["url"] = [_("A DingTalk robot URL must be on oapi.dingtalk.com.")]
    else:
        try:
            netguard.check_url(channel.url)
        except netguard.UnsafeURL as exc:
            errors["url"] = [str(exc)]
    if not channel.secret.strip() and not channel.keyword.strip():
        errors["secret"] = [
            _("Give the signing secret (SEC…) or the keyword the robot's security settings require.")
        ]
    elif channel.secret.strip() and not channel.secret.strip().startswith("SEC"):
        errors["secret"] = [_("A DingTalk signing secret starts with SEC.")]
    return errors


def budgets(channel, message):
    return [(f"ch{channel.pk}", 60, 20)]


def sign(secret: str, timestamp_ms: int) -> str:
    digest = hmac.new(secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256).digest()
    return quote_plus(base64.b64encode(digest))


def signed_url(url: str, secret: str) -> str:
    if not secret:
        return url
    ts = int(time.time() * 1000)  # wall clock in milliseconds, at this attempt
    return f"{url}&timestamp={ts}&sign={sign(secret, ts)}"


def build(channel, message: Message) -> dict:
    at_tail = " ".join(f"@{p.dingtalk_id or p.mobile}" for p in message.mentions if p.dingtalk_id or p.mobile)
    lines = [f"#### {message.title}", *message.text_lines(markdown=True)]
    keyword = channel.keyword.strip()
    if keyword and not any(keyword in line for line in lines):
        lines.insert(0, f"【{keyword}】")
    suffix = f"\n\n[{message.action}]({message.link})" + (f"\n\n{at_tail}" if at_tail else "")
    text = clip_bytes("\n\n".join(line for line in lines if line), SIZE_LIMIT, suffix)
    return {
        "msgtype": "markdown",
        "markdown": {"title": (f"{keyword} " if keyword else "") + message.title[:60], "text": text},
        "at": {
            "atMobiles": [p.mobile for p in message.mentions if p.mobile and not p.dingtalk_id],
            "atUserIds": [p.dingtalk_id for p in message.mentions if p.dingtalk_id],
            "isAtAll": False,
        },
    }


def send(channel, message: Message) -> str:
    secret = channel.secret.strip()
    resp = post_json(signed_url(channel.url, secret), build(channel, message), secrets=(channel.url, secret))
    check_http_status(resp, secrets=(channel.url, secret))
    data = json_body(resp)
    code = data.get("errcode")
    text = _("DingTalk error %(code)s: %(msg)s") % {"code": code, "msg": data.get("errmsg", "")}
    if code == 0:
        return ""
    if code == 130101:
        # Going over the limit throttles the robot for 10 minutes.
        raise TransportError(text, retry_after=600)
    if code in (310000, 300001, 300005, 400101):
        raise TransportError(text, permanent=True)
    if code == 460101:
        raise TransportError(text, rejected=True)
    raise TransportError(text)
