"""Walk a folder-per-class test set safely: what to import, what to skip and why. Pure Python.

Only PATH/<class>/<image> is imported. Class folders and files must resolve inside PATH: a symlink
out (to /etc/passwd, to another user's photos) is skipped and reported, never opened. Only image
suffixes become rows; nested folders and other files are reported as skipped with the reason.
Nothing is read whole into memory: files are hashed in chunks, and Pillow reads the header first,
so the pixel limit (the downloader's) is checked before a pixel is decoded.
"""

from __future__ import annotations

import os
import stat
import warnings
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, UnidentifiedImageError

from common.images import IMAGE_SUFFIXES, is_image_name

from .download.imaging import MAX_PIXELS, ImageFailure, check_pixels
from .manifest import MAX_LABEL_LENGTH, MAX_NO_LENGTH


@dataclass(frozen=True)
class Found:
    folder: str  # the class folder's name on disk
    name: str  # the file's name in it
    path: Path  # the file, resolved: inside the root

    @property
    def no(self) -> str:
        return f"{self.folder}/{self.name}"


@dataclass(frozen=True)
class Skipped:
    path: str
    why: str


def scan(root: Path) -> tuple[list[Path], list[Found], list[Skipped]]:
    """Class folders, the image files in them, and everything skipped. `root` must be resolved.
    Hidden entries (.DS_Store, .git) are ignored without a word."""
    classes, found, skipped = [], [], []
    for entry in visible(root):
        why = outside(entry, root)
        if why is None and not entry.is_dir():
            why = "not in a class folder (expected PATH/<label>/<image>)"
        if why is None and len(entry.name) > MAX_LABEL_LENGTH:
            why = f"class folder name longer than {MAX_LABEL_LENGTH} characters"
        if why:
            skipped.append(Skipped(str(entry), why))
        else:
            classes.append(entry)
    for folder in classes:
        try:
            entries = visible(folder)
        except OSError as exc:
            skipped.append(Skipped(str(folder), f"cannot list the folder: {exc.strerror or exc}"))
            continue
        for entry in entries:
            why = outside(entry, root) or not_an_image(entry, folder.name)
            if why:
                skipped.append(Skipped(str(entry), why))
            else:
                found.append(Found(folder.name, entry.name, entry.resolve()))
    return classes, found, skipped


def visible(folder: Path) -> list[Path]:
    return sorted(entry for entry in folder.iterdir() if not entry.name.startswith("."))


def outside(entry: Path, root: Path) -> str | None:
    """Why `entry` may not be read: it leads out of `root` (a symlink, at any depth)."""
    try:
        resolved = entry.resolve()
    except (OSError, RuntimeError) as exc:  # a symlink loop
        return f"unreadable link: {exc}"
    if not resolved.is_relative_to(root):
        return f"a link to {resolved}, outside the imported folder"
    return None


def not_an_image(entry: Path, folder: str) -> str | None:
    if entry.is_dir():
        return "a nested folder (only PATH/<label>/<image> is imported)"
    if not entry.is_file():
        return "not a regular file"
    if not is_image_name(entry):
        return f"not an image file name ({entry.suffix or 'no suffix'}; images are {', '.join(sorted(IMAGE_SUFFIXES))})"
    if len(f"{folder}/{entry.name}") > MAX_NO_LENGTH:
        return f"class/file name longer than {MAX_NO_LENGTH} characters"
    return None


def open_regular(path: Path):
    """Open for reading without following a symlink swapped in since the scan, nor blocking on a FIFO."""
    fd = os.open(path, os.O_RDONLY | os.O_NOFOLLOW | os.O_NONBLOCK)
    if not stat.S_ISREG(os.fstat(fd).st_mode):
        os.close(fd)
        raise OSError(f"{path}: not a regular file")
    return os.fdopen(fd, "rb")


def inspect_image(f, max_pixels: int = MAX_PIXELS) -> tuple[int, int]:
    """Decode the whole image (a truncated JPEG only shows when decoded) and return its upright
    size; ImageFailure("decompression-bomb") past the pixel limit, before decoding."""
    with warnings.catch_warnings():
        warnings.simplefilter("error", Image.DecompressionBombWarning)
        try:
            with Image.open(f) as image:
                check_pixels(*image.size, max_pixels)
                size = image.size
                if image.format == "JPEG":
                    image.draft("RGB", (max(size[0] // 8, 1), max(size[1] // 8, 1)))  # fast, still reads every byte
                image.load()
                orientation = image.getexif().get(0x0112, 1)
        except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
            raise ImageFailure("decompression-bomb", str(exc)) from None
        except (OSError, SyntaxError, ValueError, EOFError, UnidentifiedImageError) as exc:
            raise ImageFailure("unreadable", f"{type(exc).__name__}: {exc}") from None
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size
