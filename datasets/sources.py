"""Where a dataset image's bytes live: a plain file, or a member of a zip archive. Pure Python.

Every reader of a dataset image (export, thumbnails, the Turing build, the classifier export)
opens it through `ImageSource.open()`, so a zip-backed image (the authors' torrent ships one
10.57 GB zip) is read in place, streamed from the archive, never extracted. A member is checked
again when opened (a regular file, under the size limit), since the archive may have changed.
"""

from __future__ import annotations

import io
import os
import stat
import threading
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path
from typing import IO, BinaryIO

from .folders import open_regular

# The largest image a member may declare: an 89 MP image (the pixel limit) as an uncompressed
# 32-bit TIFF is 358 MB. A bigger declared size is a zip bomb, refused before a byte is inflated.
MAX_MEMBER_BYTES = 384 * 1024 * 1024


class MemberRefused(OSError):
    """A zip member that may not be read (a link, too large, encrypted, gone)."""


@dataclass(frozen=True)
class ImageSource:
    path: Path  # the image file, or the zip archive holding it
    member: str = ""  # the member's name in the archive; "" for a plain file

    def __str__(self) -> str:
        return f"{self.path}:{self.member}" if self.member else str(self.path)

    @property
    def name(self) -> str:
        return self.member.rsplit("/", 1)[-1] if self.member else self.path.name

    def exists(self) -> bool:
        if not self.member:
            return self.path.is_file()
        try:
            with _LOCK:
                member_info(opened_archive(self.path), self.member)
        except (OSError, zipfile.BadZipFile):
            return False
        return True

    def mtime(self) -> float:
        """When the bytes last changed, as far as the file system tells: the archive's own time
        (a member's stored date is whatever the zipping machine's clock said)."""
        return self.path.stat().st_mtime

    def open(self) -> BinaryIO:
        """A streaming, seekable binary file; the caller closes it."""
        if not self.member:
            return open_regular(self.path)
        try:
            with _LOCK:  # ZipFile.open counts its readers without a lock of its own
                archive = opened_archive(self.path)
                member = archive.open(member_info(archive, self.member))
        except (KeyError, RuntimeError, NotImplementedError, zipfile.BadZipFile) as exc:
            raise MemberRefused(f"{self}: {exc}") from None
        return io.BufferedReader(MemberStream(member, str(self)))

    def read_bytes(self) -> bytes:
        with self.open() as f:
            return f.read()


# Reading a zip's directory costs 160 ms for the torrent's 12,700 members: a page of thumbnails or an
# export of 5,000 images would spend minutes on it. The last few archives stay open, each under the
# identity of its file (a replaced or rewritten archive is read afresh). 0.3 ms a member then.
_ARCHIVES: OrderedDict[tuple, zipfile.ZipFile] = OrderedDict()
_KEEP_OPEN = 4
_LOCK = threading.Lock()


def opened_archive(path: Path) -> zipfile.ZipFile:
    """The archive, its directory read once; the caller holds _LOCK."""
    with open_regular(path) as f:  # the archive itself: a regular file, not a link swapped in
        info = os.fstat(f.fileno())
    # The pid too: a forked worker must not share a file offset with its parent's archive.
    key = (os.getpid(), str(path), info.st_dev, info.st_ino, info.st_size, info.st_mtime_ns)
    if key in _ARCHIVES:
        _ARCHIVES.move_to_end(key)
        return _ARCHIVES[key]
    archive = _ARCHIVES[key] = zipfile.ZipFile(path)
    while len(_ARCHIVES) > _KEEP_OPEN:  # members still being read keep their file open (zipfile counts them)
        _ARCHIVES.popitem(last=False)[1].close()
    return archive


class MemberStream(io.RawIOBase):
    """A zip member as a raw stream whose damage (a bad CRC, broken deflate data, a cut archive)
    is an OSError like any unreadable file's, so readers need no zip-specific handling."""

    def __init__(self, member: IO[bytes], where: str):
        super().__init__()
        self._member, self._where = member, where

    def readable(self) -> bool:
        return True

    def seekable(self) -> bool:
        return True

    def readinto(self, buffer) -> int:
        data = self._guarded(self._member.read, len(buffer))
        buffer[:len(data)] = data
        return len(data)

    def seek(self, offset: int, whence: int = io.SEEK_SET) -> int:
        return self._guarded(self._member.seek, offset, whence)

    def tell(self) -> int:
        return self._member.tell()

    def close(self) -> None:
        self._member.close()
        super().close()

    def _guarded(self, call, *args):
        try:
            return call(*args)
        except (zipfile.BadZipFile, zlib.error, EOFError) as exc:
            raise MemberRefused(f"{self._where}: a damaged member ({exc})") from None


def member_info(archive: zipfile.ZipFile, name: str) -> zipfile.ZipInfo:
    try:
        info = archive.getinfo(name)
    except KeyError:
        raise MemberRefused(f"{name}: no such member in the archive") from None
    if why := refused_member(info):
        raise MemberRefused(f"{name}: {why}")
    return info


def refused_member(info: zipfile.ZipInfo) -> str | None:
    """Why a member may not be read as an image file, before opening it; None when it may."""
    mode = info.external_attr >> 16
    if stat.S_ISLNK(mode):
        return "a symbolic link in the archive"
    if info.is_dir() or (stat.S_IFMT(mode) and not stat.S_ISREG(mode)):  # many zippers store no type: a file
        return "not a regular file"
    if info.flag_bits & 0x1:
        return "encrypted"
    if info.file_size > MAX_MEMBER_BYTES:
        return (f"declares {info.file_size:,} bytes, over the {MAX_MEMBER_BYTES // 2**20} MB limit of an image "
                f"(a zip bomb?)")
    return None


def as_source(source: ImageSource | str | Path) -> ImageSource:
    return source if isinstance(source, ImageSource) else ImageSource(Path(source))
