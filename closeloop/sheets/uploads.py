"""An uploaded sheet kept between preview and confirm, and nowhere else.

The file is written under SHEETS_UPLOAD_DIR (default: the system temp folder) with a random
token as its name; the person's session remembers the token. Confirm or cancel deletes it;
a failed upload is deleted at once; files older than a day are swept at the next upload.
"""

import secrets
import tempfile
import time
from pathlib import Path

from django.conf import settings
from django.utils.translation import gettext as _

from closeloop.core.errors import ValidationFailed
from closeloop.sheets.reading import check_size, max_upload_bytes

SESSION_KEY = "sheets_uploads"
MAX_AGE_SECONDS = 24 * 3600
MAX_PER_SESSION = 5


def upload_dir() -> Path:
    folder = Path(
        getattr(settings, "SHEETS_UPLOAD_DIR", "") or Path(tempfile.gettempdir()) / "closeloop-imports"
    )
    folder.mkdir(parents=True, exist_ok=True, mode=0o700)
    return folder


def _path(token: str) -> Path | None:
    if not token or not token.replace("-", "").replace("_", "").isalnum():
        return None
    return upload_dir() / f"{token}.upload"


def sweep(now: float | None = None) -> None:
    """Delete uploads older than a day (abandoned previews)."""
    cutoff = (now or time.time()) - MAX_AGE_SECONDS
    for f in [*upload_dir().glob("*.upload"), *upload_dir().glob("*.claimed")]:
        try:
            if f.stat().st_mtime < cutoff:
                f.unlink()
        except FileNotFoundError:
            pass


def save(uploaded) -> tuple[str, Path]:
    """Write a Django UploadedFile to a new token's file, refusing it (and leaving nothing)
    past SHEETS_MAX_UPLOAD_BYTES. Returns (token, path)."""
    if uploaded is None:
        raise ValidationFailed(_("Choose a file to upload."), fields={"file": [_("Choose a file.")]})
    check_size(uploaded.size or 0)
    sweep()
    token = secrets.token_urlsafe(18)
    path = upload_dir() / f"{token}.upload"
    written = 0
    try:
        with open(path, "xb") as out:
            for chunk in uploaded.chunks():
                written += len(chunk)
                if written > max_upload_bytes():
                    check_size(written)
                out.write(chunk)
    except BaseException:
        path.unlink(missing_ok=True)
        raise
    return token, path


def remember(session, token: str, info: dict) -> None:
    uploads = dict(session.get(SESSION_KEY) or {})
    while len(uploads) >= MAX_PER_SESSION:
        old = next(iter(uploads))
        discard(session, old)
        uploads.pop(old, None)
    uploads[token] = info
    session[SESSION_KEY] = uploads


def recall(session, token: str) -> tuple[dict, Path] | None:
    """(info, path) of this session's upload `token`, or None (unknown, another person's, gone)."""
    info = (session.get(SESSION_KEY) or {}).get(token)
    path = _path(token)
    if info is None or path is None or not path.exists():
        return None
    return info, path


def claim(session, token: str) -> tuple[dict, Path] | None:
    """Take this session's upload `token` for the one confirm that may use it: the file is
    renamed first, so a double click (two confirms at once) imports once and the second
    finds nothing. Returns (info, claimed path) or None."""
    found = recall(session, token)
    if found is None:
        return None
    info, path = found
    claimed = path.with_suffix(".claimed")
    try:
        path.rename(claimed)
    except FileNotFoundError:
        return None
    return info, claimed


def discard(session, token: str) -> None:
    uploads = dict(session.get(SESSION_KEY) or {})
    uploads.pop(token, None)
    session[SESSION_KEY] = uploads
    path = _path(token)
    if path is not None:
        path.unlink(missing_ok=True)
        path.with_suffix(".claimed").unlink(missing_ok=True)
