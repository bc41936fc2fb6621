"""Signed outgoing webhooks (Standard Webhooks 1.0) for other systems."""

import base64
import binascii
import hashlib
import hmac
import json
import time

from django.utils.translation import gettext as _

from closeloop.notify import netguard
from closeloop.notify.transports import Message, check_http_status, http_call


def _keys(secret: str) -> list[bytes]:
    keys = []
    for item in secret.split():
        if not item.startswith("whsec_"):
            raise ValueError(item)
        keys.append(base64.b64decode(item[len("whsec_") :], validate=True))
    return keys


def validate(channel) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    try:
        netguard.check_url(channel.url)
    except netguard.UnsafeURL as exc:
        errors["url"] = [str(exc)]
    if not channel.secret.strip():
        errors["secret"] = [_("A signing secret is required (whsec_ followed by base64).")]
    else:
        try:
            _keys(channel.secret)
        except (ValueError, binascii.Error):
            errors["secret"] = [
                _("The secret must look like whsec_ followed by base64; separate several with spaces.")
            ]
    return errors


def budgets(channel, message):
    return []


def sign(secret: str, msg_id: str, timestamp: int, body: bytes) -> str:
    signed = f"{msg_id}.{timestamp}.".encode() + body
    return " ".join(
        "v1," + base64.b64encode(hmac.new(key, signed, hashlib.sha256).digest()).decode()
        for key in _keys(secret)
    )


def payload(message: Message) -> dict:
    data = {k: v for k, v in message.data.items()}
    data["link"] = message.link
    data["summary"] = message.title
    if message.items:
        data["items"] = [{"summary": t, "body": b, "link": link} for t, b, link in message.items]
    return {"type": message.kind, "timestamp": int(time.time()), "data": data}


def send(channel, message: Message) -> str:
    body = json.dumps(payload(message), ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    msg_id = f"msg_closeloop_{message.delivery_id}"  # stable across retries
    ts = int(time.time())  # wall clock, at this attempt
    headers = {
        "Content-Type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(ts),
        "webhook-signature": sign(channel.secret, msg_id, ts, body),
    }
    resp = http_call("POST", channel.url, body=body, headers=headers, secrets=(channel.secret,))
    check_http_status(resp)
    return ""
