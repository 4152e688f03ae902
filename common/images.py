"""The image file names every path accepts: the folder import, the exports, the classifier, the GAN.

One list, because a second one drifted: a folder-imported `.gif` was accepted, exported for the
classifier, then skipped without a word by its loader. Every suffix here is one Pillow decodes
(an animated GIF or TIFF is read as its first frame), so a reader of this list can open them all.
"""

from __future__ import annotations

from pathlib import Path

IMAGE_SUFFIXES = frozenset({".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"})


def is_image_name(path: str | Path) -> bool:
    """True for a file name with an image suffix, in any case ("x.JPG" too)."""
    return Path(path).suffix.lower() in IMAGE_SUFFIXES
