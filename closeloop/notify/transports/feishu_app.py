"""Feishu / Lark app bot: one person, as the company's internal app (interactive card)."""

import json

from django.conf import settings
from django.utils.translation import gettext as _

from closeloop.notify.transports import (
    Message,
    TokenError,
    TransportError,
    clip_bytes,
    json_body,
    post_json,
    retry_after_header,
)

TOKEN_ERRORS = {99991663, 99991661, 99991668, 99991664}

# The access token lives in the database: send from the worker's own thread.
USES_DB = True


def base(channel=None) -> str:
    return settings.NOTIFY_FEISHU_API_BASE.rstrip("/")


def validate(channel) -> dict[str, list[str]]:
    errors: dict[str, list[str]] = {}
    if not str(channel.config.get("app_id", "")).startswith("cli_"):
        errors["app_id"] = [_("Enter the App ID (cli_…).")]
    if not channel.secret.strip():
        errors["secret"] = [_("Enter the App Secret.")]
    return errors


def budgets(channel, message):
    uid = message.recipient.id if message.recipient else 0
    return [(f"ch{channel.pk}", 1, 50), (f"ch{channel.pk}u{uid}", 1, 5)]


def fetch_token(channel) -> tuple[str, int]:
    resp = post_json(
        f"{base()}/open-apis/auth/v3/tenant_access_token/internal",
        {"app_id": channel.config.get("app_id", ""), "app_secret": channel.secret},
        secrets=(channel.secret,),
    )
    data = _parse(resp)
    if data.get("code") != 0 or not data.get("tenant_access_token"):
        text = _("Feishu token error %(code)s: %(msg)s") % {
            "code": data.get("code"),
            "msg": data.get("msg", ""),
        }
        raise TransportError(text, permanent=data.get("code") in (10003, 10014, 10012))
    return data["tenant_access_token"], int(data.get("expire") or 7200)


def _parse(resp) -> dict:
    """Feishu answers errors both as HTTP 4xx/429 with a JSON body and as 200 with a code."""
    if resp.status >= 500:
        raise TransportError(
            _("HTTP %(status)s from Feishu") % {"status": resp.status}, retry_after=retry_after_header(resp)
        )
    data = json_body(resp)
    code = data.get("code")
    if resp.status == 429 or code == 99991400:
        raise TransportError(
            _("Feishu rate limited (%(code)s): %(msg)s") % {"code": code, "msg": data.get("msg", "")},
            retry_after=retry_after_header(resp) or 1,
        )
    return data


def card(message: Message) -> dict:
    text = clip_bytes("\n".join(message.text_lines(markdown=True)), 20000)
    elements: list[dict] = []
    if text:
        elements.append({"tag": "div", "text": {"tag": "lark_md", "content": text}})
    elements.append(
        {
            "tag": "action",
            "actions": [
                {
                    "tag": "button",
                    "text": {"tag": "plain_text", "content": message.action},
                    "type": "primary",
                    "url": message.link,
                }
            ],
        }
    )
    return {
        "config": {"wide_screen_mode": True},
        "header": {"title": {"tag": "plain_text", "content": message.title}},
        "elements": elements,
    }


def build(message: Message) -> dict:
    return {
        "receive_id": message.recipient.feishu_id if message.recipient else "",
        "msg_type": "interactive",
        "content": json.dumps(card(message), ensure_ascii=False),
        # Feishu sends the same uuid once within an hour: a retried delivery is not doubled.
        "uuid": f"closeloop-{message.delivery_id}",
    }


def send(channel, message: Message) -> str:
    from closeloop.notify.tokens import with_token

    if not message.recipient or not message.recipient.feishu_id:
        raise TransportError(_("The person has no Feishu open_id."), rejected=True)
    payload = build(message)

    def call(token: str) -> dict:
        resp = post_json(
            f"{base()}/open-apis/im/v1/messages?receive_id_type=open_id",
            payload,
            headers={"Authorization": f"Bearer {token}"},
            secrets=(token,),
        )
        data = _parse(resp)
        code = data.get("code")
        if code == 0:
            return data
        text = _("Feishu error %(code)s: %(msg)s") % {"code": code, "msg": data.get("msg", "")}
        if code in TOKEN_ERRORS:
            raise TokenError(text)
        if code in (230002, 230013, 99992361, 230001):
            raise TransportError(text, rejected=True)
        if code in (99991672, 99991401, 230006):
            raise TransportError(text, permanent=True)
        if 400 <= resp.status < 500:
            raise TransportError(text, rejected=True)
        raise TransportError(text)

    with_token(channel, lambda: fetch_token(channel), call)
    return ""


def lookup_ids(channel, mobiles: list[str]) -> dict[str, str]:
    from closeloop.notify.tokens import with_token

    found: dict[str, str] = {}
    for start in range(0, len(mobiles), 50):
        chunk = mobiles[start : start + 50]

        def call(token: str, chunk=chunk) -> dict:
            resp = post_json(
                f"{base()}/open-apis/contact/v3/users/batch_get_id?user_id_type=open_id",
                {"mobiles": chunk},
                headers={"Authorization": f"Bearer {token}"},
                secrets=(token,),
            )
            data = _parse(resp)
            if data.get("code") in TOKEN_ERRORS:
                raise TokenError(str(data.get("msg")))
            return data

        data = with_token(channel, lambda: fetch_token(channel), call)
        for row in (data.get("data") or {}).get("user_list") or []:
            if row.get("user_id") and row.get("mobile"):
                found[row["mobile"]] = row["user_id"]
    return found
