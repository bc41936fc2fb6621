"""Transports: one module per platform, each with

- `validate(channel) -> dict[field, [messages]]` — checked when a channel is saved;
- `budgets(channel, message) -> [(key, seconds, limit)]` — Closeloop's own rate budget;
- `send(channel, message) -> str` — deliver; return a detail line for the admin (e.g. invalid
  recipients), or raise `TransportError`.

Signature timestamps are taken from the wall clock inside `send`, at each attempt.
"""

import http.client
import importlib
import json
from dataclasses import dataclass, field
from typing import Any

from django.utils.translation import gettext as _

from closeloop.notify import netguard


class TransportError(Exception):
    """A failed send.

    - `permanent`: the channel is misconfigured (bad key, token gone, signature refused): the
      channel is disabled and the admin told.
    - `rejected`: this one message cannot be delivered (too large, recipient invalid), the
      channel is fine.
    - otherwise transient: retried with backoff, not before `retry_after` seconds.
    """

    def __init__(
        self,
        message: str,
        *,
        permanent: bool = False,
        rejected: bool = False,
        retry_after: float | None = None,
    ):
        super().__init__(message)
        self.message = message
        self.permanent = permanent
        self.rejected = rejected
        self.retry_after = retry_after


class TokenError(TransportError):
    """The app's access token was refused: drop it, fetch a new one, retry once."""


@dataclass
class Person:
    id: int
    name: str
    email: str = ""
    mobile: str = ""
    wecom_id: str = ""
    dingtalk_id: str = ""
    feishu_id: str = ""
    language: str = ""


@dataclass
class Message:
    delivery_id: int
    kind: str
    title: str
    body: str
    action: str  # the button text: a whole phrase
    link: str  # absolute
    data: dict[str, Any]
    language: str
    recipient: Person | None = None
    mentions: list[Person] = field(default_factory=list)
    # For a digest: the (title, body, link) of each message it stands for.
    items: list[tuple[str, str, str]] = field(default_factory=list)

    # A short form of `action` for buttons that hold a few characters (WeCom's textcard: 4).
    button: str = ""

    def text_lines(self, *, markdown: bool = False) -> list[str]:
        """The body as lines; a digest's lines each link to their own task (a Markdown link
        with `markdown`, else the address on the line below)."""
        if self.items:
            if markdown:
                return [f"- [{t}]({link})" + (f" — {b}" if b else "") for t, b, link in self.items]
            return [f"• {t}" + (f" — {b}" if b else "") + f"\n  {link}" for t, b, link in self.items]
        return [self.body] if self.body else []


TRANSPORTS = {
    "wecom_robot": "closeloop.notify.transports.wecom_robot",
    "dingtalk_robot": "closeloop.notify.transports.dingtalk_robot",
    "feishu_bot": "closeloop.notify.transports.feishu_bot",
    "webhook": "closeloop.notify.transports.webhook",
    "email": "closeloop.notify.transports.email",
    "wecom_app": "closeloop.notify.transports.wecom_app",
    "dingtalk_app": "closeloop.notify.transports.dingtalk_app",
    "feishu_app": "closeloop.notify.transports.feishu_app",
    "inapp": "closeloop.notify.transports.inapp",
}


def get(kind: str):
    return importlib.import_module(TRANSPORTS[kind])


def post_json(
    url: str, payload: Any, *, headers: dict[str, str] | None = None, secrets: tuple[str, ...] = ()
):
    """POST JSON through the SSRF guard; network trouble becomes a transient TransportError."""
    body = json.dumps(payload, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return http_call(
        "POST",
        url,
        body=body,
        headers={"Content-Type": "application/json; charset=utf-8", **(headers or {})},
        secrets=secrets,
    )


def http_call(
    method: str, url: str, *, body: bytes | None = None, headers=None, secrets: tuple[str, ...] = ()
):
    from closeloop.notify.secrets import scrub

    try:
        resp = netguard.request(method, url, body=body, headers=headers)
    except netguard.UnsafeURL as exc:
        raise TransportError(str(exc), permanent=True) from None
    except TimeoutError:
        raise TransportError(_("The endpoint did not answer in time.")) from None
    except (OSError, http.client.HTTPException) as exc:
        raise TransportError(scrub(_("Network error: %(error)s") % {"error": exc}, *secrets)) from None
    if 300 <= resp.status < 400:
        raise TransportError(
            _("The endpoint answered with a redirect (HTTP %(status)s); redirects are not followed.")
            % {"status": resp.status},
            permanent=True,
        )
    return resp


def retry_after_header(resp) -> float | None:
    for name in ("retry-after", "x-ogw-ratelimit-reset"):
        value = resp.headers.get(name)
        if value:
            try:
                return max(float(value), 1.0)
            except ValueError:
                continue
    return None


def check_http_status(resp, *, secrets: tuple[str, ...] = ()) -> None:
    """Map non-2xx statuses: 429/408/5xx transient, other 4xx permanent."""
    from closeloop.notify.secrets import scrub

    if 200 <= resp.status < 300:
        return
    text = scrub(resp.body[:300].decode("utf-8", "replace"), *secrets).strip()
    # An empty JSON object or a blank body says nothing: leave it out of what the admin reads.
    said = text if text.strip("{}[] \n\"'") else ""
    if resp.status == 401:
        msg = _(
            "Signature refused (HTTP 401): the endpoint did not accept the channel's secret. Check the secret on both sides."
        )
    elif resp.status == 403:
        msg = _("Access refused (HTTP 403): the endpoint does not accept messages from Closeloop.")
    elif resp.status in (404, 410):
        msg = _("The address does not exist (HTTP %(status)s): check the channel's URL.") % {
            "status": resp.status
        }
    else:
        msg = _("HTTP %(status)s: %(text)s") % {"status": resp.status, "text": said or "-"}
        said = ""
    if said:
        msg = f"{msg} ({said})"
    if resp.status in (408, 425, 429) or resp.status >= 500:
        raise TransportError(msg, retry_after=retry_after_header(resp))
    permanent = resp.status in (401, 403, 404, 410)
    raise TransportError(msg, permanent=permanent, rejected=not permanent)


def json_body(resp) -> dict:
    try:
        data = resp.json()
    except (ValueError, UnicodeDecodeError):
        raise TransportError(_("The endpoint answered with something that is not JSON.")) from None
    if not isinstance(data, dict):
        raise TransportError(_("The endpoint answered with something that is not JSON."))
    return data


def clip_bytes(text: str, limit: int, suffix: str = "") -> str:
    """Shorten `text` so that text + suffix fits in `limit` UTF-8 bytes; the suffix (a link)
    always survives."""
    suffix_b = suffix.encode("utf-8")
    raw = text.encode("utf-8")
    if len(raw) + len(suffix_b) <= limit:
        return text + suffix
    room = max(limit - len(suffix_b) - len("…".encode()), 0)
    cut = raw[:room].decode("utf-8", "ignore")
    return cut + "…" + suffix


def platform_host_ok(url: str, hosts: set[str]) -> bool:
    """A robot URL must be on its platform's host, unless the admin allowlisted the host
    (an intranet relay) or tests allow loopback receivers."""
    from urllib.parse import urlsplit

    from django.conf import settings

    host = (urlsplit(url).hostname or "").lower()
    if host in hosts:
        return True
    allow, _nets = netguard._allowlist()
    if host in allow:
        return True
    return bool(getattr(settings, "NOTIFY_ALLOW_LOOPBACK", False)) and host in (
        "127.0.0.1",
        "localhost",
        "::1",
    )
