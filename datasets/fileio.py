"""Atomic file writes: a reader (or a run killed with kill -9) never sees a half-written file.

On Linux the bytes go to an unnamed O_TMPFILE in the target folder, which is linked under a
temporary name only once complete and then renamed over the target: a killed process leaves
nothing behind. Elsewhere a named temporary file in the same folder is used, then renamed.
"""

from __future__ import annotations

import hashlib
import os
import uuid
from pathlib import Path
from typing import BinaryIO, Callable

TMP_PREFIX = ".tmp-"
HASH_CHUNK = 1024 * 1024


def atomic_write_bytes(path: Path, data: bytes) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    temp = path.parent / f"{TMP_PREFIX}{uuid.uuid4().hex}{path.suffix}"
    if hasattr(os, "O_TMPFILE") and _write_unnamed(path.parent, temp, data):
        os.replace(temp, path)
        return
    try:
        with open(temp, "wb") as f:
            f.write(data)
        os.replace(temp, path)
    except BaseException:
        temp.unlink(missing_ok=True)
        raise


def _write_unnamed(folder: Path, temp: Path, data: bytes) -> bool:
    try:
        fd = os.open(folder, os.O_TMPFILE | os.O_WRONLY, 0o644)
    except OSError:
        return False  # filesystem without O_TMPFILE support
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view):]
        os.link(f"/proc/self/fd/{fd}", temp)
        return True
    except OSError:
        return False
    finally:
        os.close(fd)


def remove_stale_temp_files(folder: Path) -> int:
    """Delete temporary files a killed run may have left (fallback path only); returns the count."""
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
