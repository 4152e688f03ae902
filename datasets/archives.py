"""Walk a zip archive of a folder-per-class set, in place: what to import, what to skip and why. Pure Python.

The archive is never extracted. Only <subdir>/<class>/<image> members are imported (no subdir: the
archive's root holds the class folders). A name that could lead anywhere else when extracted
(`../`, an absolute name, a drive letter, a backslash) is skipped and reported, never opened, and so
is a symbolic link. Sizes and encryption are checked when a member is opened (datasets.sources),
so such a member becomes a failed row with its reason, as an unreadable file does.
"""

from __future__ import annotations

import re
import stat
import zipfile
from dataclasses import dataclass
from pathlib import Path

from .folders import IMAGE_SUFFIXES, Skipped
from .manifest import MAX_LABEL_LENGTH, MAX_NO_LENGTH
from .sources import ImageSource

UNSAFE = "an unsafe name (it would extract outside the folder: '..', absolute, a drive or a backslash)"
DRIVE = re.compile(r"^[A-Za-z]:")


class ArchiveError(ValueError):
    """The archive or the subdir cannot be imported at all; the message names the flag."""


@dataclass(frozen=True)
class Member:
    folder: str
    name: str
    source: ImageSource

    @property
    def no(self) -> str:
        return f"{self.folder}/{self.name}"


def unsafe(name: str) -> bool:
    parts = name.split("/")
    return name.startswith("/") or "\\" in name or bool(DRIVE.match(name)) or any(p in ("..", ".") for p in parts)


def hidden(parts: list[str]) -> bool:
    """Finder and Git droppings (.DS_Store, __MACOSX/) are ignored without a word, as in folders."""
    return any(p.startswith(".") or p == "__MACOSX" for p in parts)


def scan(archive: Path, infos: list[zipfile.ZipInfo], subdir: str) -> tuple[set[str], list[Member], list[Skipped]]:
    """Class folders, the image members in them, and everything skipped, for <subdir>/<class>/<image>."""
    prefix = f"{subdir.strip('/')}/" if subdir.strip("/") else ""
    classes: set[str] = set()
    found: list[Member] = []
    skipped: list[Skipped] = []
    seen: set[str] = set()
    for info in sorted(infos, key=lambda i: i.filename):
        name = info.filename
        if unsafe(name):
            skipped.append(Skipped(f"{archive}:{name}", UNSAFE))
            continue
        if not name.startswith(prefix) or hidden(name[len(prefix):].split("/")):
            continue
        parts = name[len(prefix):].rstrip("/").split("/")
        if info.is_dir():
            if len(parts) == 1:
                classes.add(parts[0])
            continue
        why = member_skip_reason(info, parts, seen)
        if why:
            skipped.append(Skipped(f"{archive}:{name}", why))
            continue
        seen.add(name)
        classes.add(parts[0])
        found.append(Member(parts[0], parts[1], ImageSource(archive, name)))
    return {c for c in classes if len(c) <= MAX_LABEL_LENGTH}, found, skipped


def member_skip_reason(info: zipfile.ZipInfo, parts: list[str], seen: set[str]) -> str | None:
    if len(parts) == 1:
        return "not in a class folder (expected <label>/<image>)"
    if len(parts) > 2:
        return "in a nested folder (only <label>/<image> is imported)"
    if stat.S_ISLNK(info.external_attr >> 16):
        return "a symbolic link in the archive"
    if info.filename in seen:
        return "a second member of the same name"
    suffix = Path(parts[1]).suffix.lower()
    if suffix not in IMAGE_SUFFIXES:
        return f"not an image file name ({suffix or 'no suffix'}; images are {', '.join(sorted(IMAGE_SUFFIXES))})"
    if len(parts[0]) > MAX_LABEL_LENGTH:
        return f"class folder name longer than {MAX_LABEL_LENGTH} characters"
    if len("/".join(parts)) > MAX_NO_LENGTH:
        return f"class/file name longer than {MAX_NO_LENGTH} characters"
    return None


def read_directory(path: Path, subdir: str) -> list[zipfile.ZipInfo]:
    """The archive's members; ArchiveError naming PATH or --subdir when it cannot be imported."""
    try:
        with zipfile.ZipFile(path) as archive:
            infos = archive.infolist()
    except (zipfile.BadZipFile, OSError) as exc:
        raise ArchiveError(f"PATH {path}: not a readable zip archive ({exc})") from None
    if subdir and not subdir_present(infos, subdir):
        tops = sorted({i.filename.split("/", 1)[0] for i in infos if "/" in i.filename and not unsafe(i.filename)})
        raise ArchiveError(f"--subdir {subdir}: no such folder in {path} (it has: {', '.join(tops[:20]) or 'none'})")
    return infos


def subdir_present(infos: list[zipfile.ZipInfo], subdir: str) -> bool:
    prefix = f"{subdir.strip('/')}/"
    return any(i.filename.startswith(prefix) for i in infos)
