"""WeCom group robot (企业微信群机器人): POST JSON to the hook URL (the key is the secret)."""

from urllib.parse import parse_qs, urlsplit

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

HOSTS = {"qyapi.weixin.qq.com"}
TEXT_LIMIT = 2048


def validate(channel) -> dict[str, list[str]]:
    parts = urlsplit(channel.url or "")
    if not parts.path.endswith("/cgi-bin/webhook/send") or not parse_qs(parts.query).get("key"):
        return {
            "url": [
                _("This is not a WeCom robot URL (https://qyapi.weixin.qq.com/cgi-bin/webhook/send?key=…).")
            ]
        }
    if not platform_host_ok(channel.url, HOSTS):
        return {"url": [_("A WeCom robot URL must be on qyapi.weixin.qq.com.")]}
    try:
        netguard.check_url(channel.url)
    except netguard.UnsafeURL as exc:
        return {"url": [str(exc)]}
    return {}


def budgets(channel, message):
    # 20 a minute per robot, failed sends included.
    return [(f"ch{channel.pk}", 60, 20)]


def build(message: Message) -> dict:
    lines = [message.title, *message.text_lines()]
    suffix = f"\n{message.action}: {message.link}"
    content = clip_bytes("\n".join(line for line in lines if line), TEXT_LIMIT, suffix)
    ids = [p.wecom_id for p in message.mentions if p.wecom_id]
    mobiles = [p.mobile for p in message.mentions if not p.wecom_id and p.mobile]
    text: dict = {"content": content}
    if ids:
        text["mentioned_list"] = ids
    if mobiles:
        text["mentioned_mobile_list"] = mobiles
    return {"msgtype": "text", "text": text}


def send(channel, message: Message) -> str:
    resp = post_json(channel.url, build(message), secrets=(channel.url,))
    check_http_status(resp, secrets=(channel.url,))
    data = json_body(resp)
    code = data.get("errcode")
    text = _("WeCom error %(code)s: %(msg)s") % {"code": code, "msg": data.get("errmsg", "")}
    if code == 0:
        return ""
    if code == 45009:
        raise TransportError(text, retry_after=60)
    if code == 93000:
        raise TransportError(text, permanent=True)
    if code in (45002, 44004, 40008):
        raise TransportError(text, rejected=True)
    raise TransportError(text)
