"""Atomic file writes and streaming hashes: a reader (or a run killed with kill -9) never sees half a file.

    with atomic_writer(path) as f:       # any streaming writer: torch.save(obj, f), image.save(f, "PNG")
        torch.save(payload, f)
    atomic_write_bytes(path, data)       # or atomic_write_text(path, text)
    digest, size = sha256_and_size(f)    # 1 MB chunks, never the whole file in memory

The bytes go to a temporary file in the target's folder (so the rename never crosses a filesystem),
are flushed and fsynced, renamed over the target with os.replace, and the folder is fsynced so the
rename itself survives a power cut. On Linux the temporary file is an unnamed O_TMPFILE, linked under
a unique name only once complete: a process killed while writing leaves nothing behind. Elsewhere
(or on a filesystem without O_TMPFILE, or one that cannot link it) it is a uniquely named file,
removed on any error, and `remove_stale_temp_files` clears what a kill left. Names are unique per
write, never per process or per target, so two writers of one path never share a temporary file:
the last rename wins whole.
Files get mode 0o666 less the umask, like open(): tempfile.mkstemp's 0o600 would hide media files
from a web server running as another user.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import BinaryIO

TMP_PREFIX = ".tmp-"
HASH_CHUNK = 1024 * 1024
FILE_MODE = 0o666  # less the umask, as open() does


@contextlib.contextmanager
def atomic_writer(path: str | Path, *, exclusive: bool = False, mode: int = FILE_MODE) -> Iterator[BinaryIO]:
    """A binary file object whose bytes appear at `path` all at once when the block ends without error.
    `exclusive`: only if `path` does not exist yet (FileExistsError otherwise: the first writer wins
    whole, as O_EXCL would, but never leaves an empty file). `mode`: 0o600 for a secret."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}{path.suffix}"
    fd, named = _open_temp(path.parent, temp, mode)
    try:
        with os.fdopen(fd, "w+b") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
            if not named:
                _give_name(f, temp, mode)
        if exclusive:
            os.link(temp, path)  # refuses an existing path, unlike a rename
            temp.unlink()
        else:
            os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise
    _fsync_folder(path.parent)


# Filesystems (by st_dev) where an O_TMPFILE opens but cannot be linked (EXDEV under some sandboxes).
_CANNOT_LINK: set[int] = set()


def _open_temp(folder: Path, temp: Path, mode: int) -> tuple[int, bool]:
    """(fd, whether it already has its name): an unnamed O_TMPFILE where the filesystem allows one."""
    if hasattr(os, "O_TMPFILE") and folder.stat().st_dev not in _CANNOT_LINK:
        try:
            return os.open(folder, os.O_TMPFILE | os.O_RDWR, mode), False
        except OSError:
            _CANNOT_LINK.add(folder.stat().st_dev)  # no O_TMPFILE support here
    return os.open(temp, os.O_RDWR | os.O_CREAT | os.O_EXCL, mode), True


def _give_name(f: BinaryIO, temp: Path, mode: int) -> None:
    """Link the complete unnamed file as `temp`; where linking fails, copy it to a named file once."""
    try:
        os.link(f"/proc/self/fd/{f.fileno()}", temp)
        return
    except OSError:
        _CANNOT_LINK.add(os.fstat(f.fileno()).st_dev)  # later writes here go straight to a named file
    f.seek(0)
    with open(os.open(temp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, mode), "wb") as named:
        shutil.copyfileobj(f, named)
        named.flush()
        os.fsync(named.fileno())


def _fsync_folder(folder: Path) -> None:
    try:
        fd = os.open(folder, os.O_RDONLY)
    except OSError:
        return  # a platform that cannot open folders (Windows) has no folder fsync either
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def atomic_write_bytes(path: str | Path, data: bytes, **how) -> Path:
    """`data` at `path`, whole or not at all; `how`: atomic_writer's exclusive and mode."""
    with atomic_writer(path, **how) as f:
        f.write(data)
    return Path(path)


def atomic_write_text(path: str | Path, text: str, encoding: str = "utf-8", **how) -> Path:
    return atomic_write_bytes(path, text.encode(encoding), **how)


def remove_stale_temp_files(folder: str | Path) -> int:
    """Delete temporary files a killed run may have left (named fallback only); returns the count."""
    folder = Path(folder)
    if not folder.exists():
        return 0
    removed = 0
    for temp in folder.rglob(f"{TMP_PREFIX}*"):
        temp.unlink(missing_ok=True)
        removed += 1
    return removed


def sha256_and_size(f: BinaryIO, each_chunk: Callable[[], None] | None = None) -> tuple[str, int]:
    """The sha256 and size of an open file, read in 1 MB chunks (never whole into memory);
    `each_chunk()` after each one (a caller's heartbeat while hashing a large file)."""
    digest, size = hashlib.sha256(), 0
    while chunk := f.read(HASH_CHUNK):
        digest.update(chunk)
        size += len(chunk)
        if each_chunk is not None:
            each_chunk()
    return digest.hexdigest(), size


def sha256_of(path: str | Path, each_chunk: Callable[[], None] | None = None) -> str:
    with open(path, "rb") as f:
        return sha256_and_size(f, each_chunk)[0]
