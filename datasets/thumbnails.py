"""Small JPEG thumbnails for the dataset pages, made on first request and cached under MEDIA_ROOT.

Full-resolution crops are megabytes each; a page of 60 of them must not send those.
"""
from __future__ import annotations

from io import BytesIO
from pathlib import Path

from django.conf import settings
from PIL import Image, ImageOps

from common.files import atomic_write_bytes

from .download.imaging import to_rgb
from .models import ImageRecord

THUMB_SIZE = 192


def thumbnail_path(record: ImageRecord) -> Path | None:
    """The cached thumbnail, made if missing; None when the record has no readable image."""
    source = record.image_source()
    if record.status != ImageRecord.Status.OK or source is None or not source.exists():
        return None
    key = (record.sha256 or "nohash")[:12]
    thumb = Path(settings.MEDIA_ROOT) / "thumbs" / record.dataset.name / f"{record.id}-{key}-{THUMB_SIZE}.jpg"
    if not thumb.exists() or thumb.stat().st_mtime < source.mtime():
        with source.open() as f, Image.open(f) as image:
            image.draft("RGB", (THUMB_SIZE * 2, THUMB_SIZE * 2))
            small = Image.fromarray(to_rgb(ImageOps.exif_transpose(image)))
        small.thumbnail((THUMB_SIZE, THUMB_SIZE), Image.Resampling.LANCZOS)
        buffer = BytesIO()
        small.save(buffer, "JPEG", quality=85)
        atomic_write_bytes(thumb, buffer.getvalue())
    return thumb
