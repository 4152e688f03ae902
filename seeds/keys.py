"""Where a published image lives: its key is checkpoint sha256 + psi + noise mode + seed.

    <MEDIA_ROOT>/seeds/<sha256>/psi1-const/seed0042.png      the download (lossless)
    <MEDIA_ROOT>/seeds/<sha256>/psi1-const/seed0042.webp     the page image
    <MEDIA_ROOT>/seeds/<sha256>/psi1-const/morph-0042-0043-f03.webp   a morph frame

The same relative path names the image in the live URL (/thismoledoesnotexist/images/<path>) and in
the static export (img/<path>), so a new checkpoint gives new paths and never overwrites old images.
"""
from __future__ import annotations

import re
from pathlib import Path

from django.conf import settings

SHA256 = re.compile(r"[0-9a-f]{64}")
VARIANT = re.compile(r"psi-?[0-9]+(?:\.[0-9]+)?-(?:const|random|none)")
FILE = re.compile(r"seed[0-9]{4,10}\.(?:png|webp)|morph-[0-9]{4,10}-[0-9]{4,10}-f[0-9]{2,3}\.webp")
CONTENT_TYPES = {".png": "image/png", ".webp": "image/webp"}


def variant(psi: float, noise_mode: str) -> str:
    return f"psi{psi:g}-{noise_mode}"


def seed_file(seed: int, ext: str) -> str:
    return f"seed{seed:04d}.{ext}"


def morph_file(a: int, b: int, frame: int) -> str:
    return f"morph-{a:04d}-{b:04d}-f{frame:02d}.webp"


def image_path(sha256: str, psi: float, noise_mode: str, name: str) -> str:
    """The image's path relative to the seed image root (and in URLs)."""
    return f"{sha256}/{variant(psi, noise_mode)}/{name}"


def root() -> Path:
    return Path(settings.MEDIA_ROOT) / "seeds"


def is_image_path(sha256: str, variant_name: str, name: str) -> bool:
    """True for the parts of a well-formed image path (nothing else is ever opened)."""
    return bool(SHA256.fullmatch(sha256) and VARIANT.fullmatch(variant_name) and FILE.fullmatch(name))
