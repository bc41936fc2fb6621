"""Secrets are never shown back in full: not on pages, not in the API, not in logs."""

import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

_SECRET_PARAMS = {"key", "access_token", "token", "sign", "secret", "corpsecret", "appsecret"}


def mask(value: str, keep: int = 4) -> str:
    """'SECabcdef123456' → 'SEC…3456'; short values become '••••'."""
    value = value or ""
    if not value:
        return ""
    if len(value) <= keep * 3:
        return "••••"
    return f"{value[:3]}…{value[-keep:]}"


def mask_url(url: str) -> str:
    """Keep scheme, host and path shape; mask query secrets and the last path segment of a
    hook URL (Feishu puts its token there)."""
    if not url:
        return ""
    try:
        parts = urlsplit(url)
    except ValueError:
        return "••••"
    query = urlencode([(k, mask(v) if k.lower() in _SECRET_PARAMS else v) for k, v in parse_qsl(parts.query)])
    path = parts.path
    if "/hook/" in path:
        head, _, token = path.rpartition("/")
        path = f"{head}/{mask(token)}"
    netloc = parts.hostname or ""
    if parts.port:
        netloc = f"{netloc}:{parts.port}"
    return urlunsplit((parts.scheme, netloc, path, query, ""))


_URL_RE = re.compile(r"https?://[^\s\"'<>]+")


def scrub(text: str, *secrets: str) -> str:
    """Remove known secrets and mask URLs in a message meant for a log or an error field."""
    text = str(text or "")
    for secret in secrets:
        if secret and len(secret) >= 4:
            text = text.replace(secret, mask(secret))
    return _URL_RE.sub(lambda m: mask_url(m.group(0)), text)
