"""Feishu / Lark custom bot (飞书自定义机器人): signature in the JSON body, seconds."""

import base64
import hashlib
import hmac
import time
from urllib.parse import urlsplit

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

HOSTS = {"open.feishu.cn", "open.larksuite.com"}
SIZE_LIMIT = 18000


def validate(channel) -> dict[str, list[str]]:
    parts = urlsplit(channel.url or "")
    if "/open-apis/bot/v2/hook/" not in parts.path or not parts.path.rsplit("/", 1)[-1]:
        return {
            "url": [
                _("This is not a Feishu / Lark bot URL (https://open.feishu.cn/open-apis/bot/v2/hook/…).")
            ]
        }
    if not platform_host_ok(channel.url, HOSTS):
        return {"url": [_("A Feishu bot URL must be on open.feishu.cn or open.larksuite.com.")]}
    try:
        netguard.check_url(channel.url)
    except netguard.UnsafeURL as exc:
        return {"url": [str(exc)]}
    return {}


def budgets(channel, message):
    return [(f"ch{channel.pk}", 60, 100), (f"ch{channel.pk}s", 1, 5)]


def sign(secret: str, timestamp_s: int) -> str:
    # The key is "timestamp\nsecret" and the message is empty — unlike DingTalk.
    key = f"{timestamp_s}\n{secret}".encode()
    return base64.b64encode(hmac.new(key, b"", hashlib.sha256).digest()).decode()


def build(channel, message: Message) -> dict:
    lang = "en_us" if (message.language or "").startswith("en") else "zh_cn"
    rows: list[list[dict]] = []
    if message.items:
        # A digest: one line per message, its title a link to its own task.
        for title, body, link in message.items:
            row: list[dict] = [{"tag": "text", "text": "• "}, {"tag": "a", "text": title, "href": link}]
            if body:
                row.append({"tag": "text", "text": " — " + clip_bytes(body, 500)})
            rows.append(row)
    else:
        text = clip_bytes("\n".join(message.text_lines()), SIZE_LIMIT)
        if text:
            rows.append([{"tag": "text", "text": text}])
    rows.append([{"tag": "a", "text": message.action, "href": message.link}])
    mentions = [{"tag": "at", "user_id": p.feishu_id} for p in message.mentions if p.feishu_id]
    if mentions:
        rows.append(mentions)
    payload: dict = {
        "msg_type": "post",
        "content": {"post": {lang: {"title": message.title, "content": rows}}},
    }
    secret = channel.secret.strip()
    if secret:
        ts = int(time.time())  # wall clock in seconds, at this attempt
        payload = {"timestamp": str(ts), "sign": sign(secret, ts), **payload}
    return payload


def send(channel, message: Message) -> str:
    secret = channel.secret.strip()
    resp = post_json(channel.url, build(channel, message), secrets=(channel.url, secret))
    check_http_status(resp, secrets=(channel.url, secret))
    data = json_body(resp)
    code = data.get("code", data.get("StatusCode"))
    text = _("Feishu error %(code)s: %(msg)s") % {
        "code": code,
        "msg": data.get("msg", data.get("StatusMessage", "")),
    }
    if code == 0:
        return ""
    if code == 11232:
        raise TransportError(text, retry_after=60)
    if code in (19021, 19024, 19001, 19002):
        raise TransportError(text, permanent=True)
    if code == 9499:
        raise TransportError(text, rejected=True)
    raise TransportError(text)
