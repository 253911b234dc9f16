"""Attachment validation and storage.

The type is detected from the bytes (magic numbers via `filetype`, plus a strict
plain-text check), never from the upload's name or Content-Type header. Markup
(HTML, SVG, XML) and scripts are refused whatever they are called, so nothing
uploaded can ever run in the portal's origin; downloads are served as
attachments with `nosniff` and a sandboxing CSP (see messaging/views/threads.py: attachment_download).
"""

from __future__ import annotations

import hashlib
import os
import re
import uuid

import filetype
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

MAX_BYTES = 10 * 1024 * 1024
MAX_FILES = 5

# Detected MIME type -> canonical extension of the download name.
BINARY_TYPES = {
    "application/pdf": ".pdf",
    "image/png": ".png",
    "image/jpeg": ".jpg",
    "image/gif": ".gif",
    "image/heic": ".heic",
    "image/webp": ".webp",
}
TEXT_TYPES = {".txt": "text/plain", ".csv": "text/csv"}
ALLOWED_HUMAN = "PDF, PNG, JPEG, GIF, HEIC, WebP, plain text (.txt) or CSV"
# Anything that looks like markup or script in a "text" file is refused.
MARKUP = re.compile(rb"<\s*(html|svg|script|\?xml|!doctype|iframe|object|embed|body|head|meta|math)\b", re.I)


def _head(upload, n: int = 8192) -> bytes:
    upload.seek(0)
    data = upload.read(n)
    upload.seek(0)
    return data


def detect(upload) -> tuple[str, str]:
    """(content_type, extension) of an allowed upload, or raise ValidationError."""
    name = getattr(upload, "name", "") or "file"
    head = _head(upload, 8192)
    kind = filetype.guess(head)
    if kind is not None:
        if kind.mime in BINARY_TYPES:
            return kind.mime, BINARY_TYPES[kind.mime]
        raise ValidationError(f"“{name}” is a {kind.extension.upper()} file; you can attach {ALLOWED_HUMAN}.")
    ext = os.path.splitext(name)[1].lower()
    if ext not in TEXT_TYPES:
        raise ValidationError(f"“{name}” isn't a file type we accept; you can attach {ALLOWED_HUMAN}.")
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if b"\x00" in data:
        raise ValidationError(f"“{name}” isn't plain text.")
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError:
        raise ValidationError(f"“{name}” isn't plain text (UTF-8).") from None
    if text.lstrip().startswith("<") or MARKUP.search(data):
        raise ValidationError(f"“{name}” contains web page markup (HTML, SVG or XML), which can't be attached.")
    return TEXT_TYPES[ext], ext


def safe_name(original: str, ext: str) -> str:
    """A download name: the original stem reduced to safe characters, with the
    extension of the detected type (never the uploaded one)."""
    stem = os.path.splitext(os.path.basename((original or "").replace("\\", "/")))[0]
    stem = re.sub(r"[^A-Za-z0-9 ._()-]+", "_", stem).strip(" ._") or "attachment"
    return f"{stem[:100]}{ext}"


def validate(files) -> list[tuple[object, str, str]]:
    """Validate every upload before anything is saved: [(upload, content_type, ext)]."""
    files = [f for f in files if f]
    if len(files) > MAX_FILES:
        raise ValidationError(f"Attach at most {MAX_FILES} files to one message.")
    out = []
    for f in files:
        if f.size > MAX_BYTES:
            raise ValidationError(f"“{f.name}” is larger than 10 MB.")
        if f.size == 0:
            raise ValidationError(f"“{f.name}” is empty.")
        content_type, ext = detect(f)
        out.append((f, content_type, ext))
    return out


def store(*, message, upload, content_type: str, ext: str, user):
    """Save one validated upload through the storage API and create its Attachment."""
    from messaging.models import Attachment

    digest = hashlib.sha256()
    upload.seek(0)
    for chunk in upload.chunks():
        digest.update(chunk)
    upload.seek(0)
    now = timezone.now()
    path = default_storage.save(f"attachments/{now:%Y/%m}/{uuid.uuid4().hex}{ext}", upload)
    attachment = Attachment(message=message, original_name=safe_name(upload.name, ext), content_type=content_type,
                            size=upload.size, sha256=digest.hexdigest(), uploaded_by=user)
    attachment.file.name = path
    attachment.save()
    return attachment
