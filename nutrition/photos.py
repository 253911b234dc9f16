"""Meal photos: validated as an image from the bytes, size-capped, stored privately.

Like message attachments (messaging/attachments.py): the type comes from the bytes
(`filetype` magic numbers), never from the name or the Content-Type header, and the
file is saved through Django's storage API (local, or S3 with `S3_BUCKET`) under a
random name. MEDIA is not served: a photo is read only through the gated, audited
views (`views.patient_meal_photo` for staff, `views.portal_meal_photo` for the patient)
with `nosniff` and a sandboxing CSP. JPEG, PNG and WebP must also open as an image
(Pillow, which refuses decompression bombs); HEIC (iPhone) is checked by its magic
number only, as Pillow can't read it without a plugin.
"""

from __future__ import annotations

import os
import struct
import uuid

import filetype
from django.core.exceptions import ValidationError
from django.core.files.storage import default_storage
from django.utils import timezone

MAX_BYTES = 8 * 1024 * 1024
TYPES = {"image/jpeg": ".jpg", "image/png": ".png", "image/webp": ".webp", "image/heic": ".heic"}
CONTENT_TYPES = {ext: mime for mime, ext in TYPES.items()}
ALLOWED_HUMAN = "a JPEG, PNG, WebP or HEIC photo"


def check(upload) -> str:
    """The extension of an acceptable photo, or ValidationError keyed `photo`."""
    size = getattr(upload, "size", None) or 0
    if size == 0:
        raise ValidationError({"photo": "The photo is empty."})
    if size > MAX_BYTES:
        raise ValidationError({"photo": f"The photo is larger than {MAX_BYTES // (1024 * 1024)} MB."})
    upload.seek(0)
    head = upload.read(8192)
    upload.seek(0)
    kind = filetype.guess(head)
    if kind is None or kind.mime not in TYPES:
        raise ValidationError({"photo": f"That file isn't a photo; choose {ALLOWED_HUMAN}."})
    if kind.mime != "image/heic":
        from PIL import Image

        try:
            with Image.open(upload) as image:
                image.verify()
        except (OSError, SyntaxError, ValueError, EOFError, IndexError, struct.error, Image.DecompressionBombError):
            # What Pillow raises for a truncated, corrupt or hostile (decompression bomb) image.
            raise ValidationError({"photo": "That photo can't be read; take it again."}) from None
        finally:
            upload.seek(0)
    return TYPES[kind.mime]


def store(meal, upload, ext: str) -> None:
    """Save a checked photo under a random name and point the meal at it (the meal is
    saved by the caller). A replaced photo stays in storage: the meal's history names it."""
    upload.seek(0)
    meal.photo.name = default_storage.save(f"meals/{timezone.now():%Y/%m}/{uuid.uuid4().hex}{ext}", upload)


def content_type(meal) -> str:
    return CONTENT_TYPES.get(os.path.splitext(meal.photo.name)[1].lower(), "application/octet-stream")
