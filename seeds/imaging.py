"""Image files with fixed bytes: the same pixels always give the same file (no timestamps, no
metadata, fixed encoder settings), so a re-render and a re-export are byte-identical. No torch here."""
from __future__ import annotations

import io

import numpy as np
from PIL import Image

WEBP_QUALITY = 90
WEBP_METHOD = 4


def _image(array: np.ndarray) -> Image.Image:
    return Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)


def png_bytes(array: np.ndarray) -> bytes:
    """Lossless PNG of a uint8 [H, W, C] image; PIL writes no time or text chunk unless asked."""
    buf = io.BytesIO()
    _image(array).save(buf, format="PNG", compress_level=6, optimize=False)
    return buf.getvalue()


def webp_bytes(array: np.ndarray) -> bytes:
    """The page image: lossy WebP at fixed settings (no EXIF/XMP/ICC)."""
    buf = io.BytesIO()
    _image(array).convert("RGB").save(buf, format="WEBP", quality=WEBP_QUALITY, method=WEBP_METHOD, exact=False)
    return buf.getvalue()
