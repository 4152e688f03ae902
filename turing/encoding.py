"""One encoding for every image of a Turing test set, so that only the pixels differ.

Each source is decoded upright (EXIF orientation applied) to RGB, cut to its centred square,
resized to SIDE x SIDE and written as a baseline JPEG at one fixed quality and chroma subsampling,
with no EXIF, ICC profile or comment. JPEG sizes still follow image content (a smooth synthetic
image compresses better than a noisy photograph), so every file of a build is then padded with
zero bytes after its end-of-image marker to one common length: decoders stop at the marker, and
byte size tells nothing. When served, the zeros are replaced by bytes drawn from the showing's token
(`repad`), so that two participants, or two showings, never receive the same file. Pure Pillow/numpy,
no Django.
"""
from __future__ import annotations

import hashlib
import io
from pathlib import Path

import numpy as np
from PIL import Image

from datasets.download.imaging import ImageFailure, decode
from datasets.sources import ImageSource, as_source

QUALITY = 90
SUBSAMPLING = 2  # 4:2:0, the web's usual
PAD_TO = 1024  # common length is rounded up to a multiple of this


def encode_square(source: ImageSource | Path, side: int) -> bytes:
    """The centred square of `source` (a file or a zip member), resized to side x side, as a metadata-free JPEG."""
    try:
        data = as_source(source).read_bytes()
    except OSError as exc:
        raise ImageFailure("unreadable", f"{source}: {exc.strerror or exc}") from None
    return encode_pixels(decode(data).pixels, side)


def encode_pixels(pixels: np.ndarray, side: int) -> bytes:
    """An RGB uint8 array's centred square, resized to side x side, as a metadata-free JPEG.

    The one encoder of the set images: photographs (through encode_square) and catch patterns alike.
    """
    height, width = pixels.shape[:2]
    square = min(width, height)
    top, left = (height - square) // 2, (width - square) // 2
    image = Image.fromarray(pixels[top:top + square, left:left + square])
    if square != side:
        image = image.resize((side, side), Image.Resampling.LANCZOS)
    buffer = io.BytesIO()
    image.save(buffer, "JPEG", quality=QUALITY, subsampling=SUBSAMPLING, optimize=False, progressive=False)
    return buffer.getvalue()


def common_length(sizes: list[int]) -> int:
    return -(-max(sizes) // PAD_TO) * PAD_TO


def pad(jpeg: bytes, length: int) -> bytes:
    if len(jpeg) > length:
        raise ValueError(f"a {len(jpeg)}-byte file cannot be padded to {length} bytes")
    return jpeg + b"\0" * (length - len(jpeg))


def repad(padded: bytes, salt: bytes) -> bytes:
    """A padded file with its zero padding replaced by bytes drawn from `salt`, length unchanged.

    A JPEG ends with its end-of-image marker FF D9, never a zero byte, so the padding is every trailing zero."""
    jpeg = padded.rstrip(b"\0")
    return jpeg + hashlib.shake_256(b"turing-padding|" + salt).digest(len(padded) - len(jpeg))
