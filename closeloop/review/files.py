"""Deliverable files: what may be uploaded (size and types from settings, the type sniffed
from the content, not trusted from the name) and how a refused or failed upload leaves
nothing behind.

Settings (read at call time): `REVIEW_UPLOAD_MAX_BYTES` (default 20 MB),
`REVIEW_UPLOAD_EXTENSIONS` (lower-case extensions without the dot), `REVIEW_UPLOAD_MAX_FILES`.
Binary formats must be recognised by puremagic as that format (a renamed .exe is not a
.pdf); text formats must be UTF-8 text without NUL bytes that puremagic does not take for a
binary format. HTML and SVG may be uploaded: they are only ever served as downloads
(`Content-Disposition: attachment`, `nosniff`, a sandboxing CSP), never rendered by us.
"""

import os
import unicodedata
from dataclasses import dataclass

import puremagic
from botocore.exceptions import BotoCoreError, ClientError
from django.conf import settings
from django.utils.translation import gettext as _

DEFAULT_EXTENSIONS = (
    "pdf", "doc", "docx", "xls", "xlsx", "ppt", "pptx", "csv", "txt", "md",
    "png", "jpg", "jpeg", "gif", "webp", "zip", "html", "htm", "svg",
)  # fmt: skip
TEXT_EXTENSIONS = {"csv", "txt", "md", "html", "htm", "svg"}
# Formats a sniffer reports under another extension of the same family.
FAMILY = {
    "docx": {"docx", "zip", "xlsx", "pptx"},
    "xlsx": {"docx", "zip", "xlsx", "pptx", "xlsb"},
    "pptx": {"docx", "zip", "xlsx", "pptx"},
    "zip": {"docx", "zip", "xlsx", "pptx", "jar", "apk", "odt", "ods"},
    "doc": {"doc", "xls", "ppt", "msi", "msg"},
    "xls": {"doc", "xls", "ppt", "msi", "msg"},
    "ppt": {"doc", "xls", "ppt", "msi", "msg"},
    "jpg": {"jpg", "jpeg", "jfif"},
    "jpeg": {"jpg", "jpeg", "jfif"},
}
CONTENT_TYPES = {
    "pdf": "application/pdf",
    "png": "image/png",
    "jpg": "image/jpeg",
    "jpeg": "image/jpeg",
    "gif": "image/gif",
    "webp": "image/webp",
    "zip": "application/zip",
    "csv": "text/csv",
    "txt": "text/plain",
    "md": "text/markdown",
    "html": "text/html",
    "htm": "text/html",
    "svg": "image/svg+xml",
    "docx": "application/vnd.openxmlformats-officedocument.wordprocessingml.document",
    "xlsx": "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
    "pptx": "application/vnd.openxmlformats-officedocument.presentationml.presentation",
    "doc": "application/msword",
    "xls": "application/vnd.ms-excel",
    "ppt": "application/vnd.ms-powerpoint",
}
NAME_MAX = 120
# What the deliverable storage raises when it cannot store or read: the local disk (OSError)
# or an S3-compatible server (botocore: unreachable endpoint, refused keys, missing bucket).
STORAGE_ERRORS = (OSError, BotoCoreError, ClientError)


def is_missing(exc: Exception) -> bool:
    """Is this storage error "no such file" (as opposed to "the storage is not answering")?"""
    if isinstance(exc, FileNotFoundError):
        return True
    if isinstance(exc, ClientError):
        code = str(exc.response.get("Error", {}).get("Code", ""))
        return code in {"404", "NoSuchKey", "NotFound"}
    return False


def max_bytes() -> int:
    return int(getattr(settings, "REVIEW_UPLOAD_MAX_BYTES", 20 * 1024 * 1024))


def max_files() -> int:
    return int(getattr(settings, "REVIEW_UPLOAD_MAX_FILES", 10))


def allowed_extensions() -> set[str]:
    return {e.lower().lstrip(".") for e in getattr(settings, "REVIEW_UPLOAD_EXTENSIONS", DEFAULT_EXTENSIONS)}


@dataclass(frozen=True)
class CheckedFile:
    upload: object  # a Django UploadedFile
    name: str
    extension: str
    content_type: str
    size: int


def clean_name(raw: str) -> str:
    """The file's own name without any path, control characters or NUL, at most 120 characters
    (keeping the extension)."""
    name = os.path.basename((raw or "").replace("\\", "/"))
    name = "".join(ch for ch in unicodedata.normalize("NFC", name) if unicodedata.category(ch)[0] != "C")
    name = name.strip().strip(".") or "file"
    stem, dot, ext = name.rpartition(".")
    if not dot:
        return name[:NAME_MAX]
    return f"{stem[: NAME_MAX - len(ext) - 1]}.{ext}"


def _sniffed(head: bytes) -> set[str]:
    try:
        return {m.extension.lower().lstrip(".") for m in puremagic.magic_string(head) if m.extension}
    except (puremagic.PureError, ValueError):
        return set()


def _is_text(head: bytes) -> bool:
    if b"\x00" in head:
        return False
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the end of the sample is still text.
        return exc.start >= len(head) - 3
    return True


def check(upload, field: str) -> tuple[CheckedFile | None, str | None]:
    """Judge one upload; returns (CheckedFile, None) or (None, message naming the file)."""
    name = clean_name(getattr(upload, "name", "") or "")
    ext = name.rpartition(".")[2].lower() if "." in name else ""
    size = int(getattr(upload, "size", 0) or 0)
    allowed = allowed_extensions()
    if ext not in allowed:
        return None, _("%(name)s: files of this type are not accepted (allowed: %(types)s).") % {
            "name": name,
            "types": ", ".join(sorted(allowed)),
        }
    if size <= 0:
        return None, _("%(name)s is empty.") % {"name": name}
    if size > max_bytes():
        return None, _("%(name)s is larger than %(mb)s MB.") % {
            "name": name,
            "mb": f"{max_bytes() / 1024 / 1024:g}",
        }
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    found = _sniffed(head)
    if ext in TEXT_EXTENSIONS:
        binary = found - TEXT_EXTENSIONS - {"xml", "txt", "htm", "html", "svg"}
        ok = _is_text(head) and not binary
        if ok and ext == "svg":
            ok = b"<svg" in head.lower()
    else:
        ok = bool(found & FAMILY.get(ext, {ext}))
    if not ok:
        return None, _("%(name)s: the content is not a %(ext)s file.") % {"name": name, "ext": ext.upper()}
    return CheckedFile(upload, name, ext, CONTENT_TYPES.get(ext, "application/octet-stream"), size), None
