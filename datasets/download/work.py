"""One unit of download work: fetch a URL once, crop it for every manifest row that names it.

Pure Python, no Django: it takes targets and returns results; the caller records them.
"""

from __future__ import annotations

import contextlib
import ctypes
import hashlib
import threading
from dataclasses import dataclass, field
from pathlib import Path

from common.files import atomic_write_bytes

from .fetch import Fetcher
from .imaging import ImageFailure, crop, decode, encode_png


def limit_malloc_arenas(arenas: int = 2) -> None:
    """glibc gives each busy thread its own malloc arena; with 32 download threads churning
    megabyte-sized images, freed memory stays stranded in them (measured: 531 MB peak, against
    231 MB with two arenas, at the same speed). Call before the threads start; no-op off glibc."""
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6").mallopt(-8, arenas)  # -8 is M_ARENA_MAX


@dataclass(frozen=True, slots=True)
class Target:
    id: int
    box: tuple[float, float, float, float]
    path: Path  # where the crop goes
    relative: str  # the same path, as stored on the row
    label: str = ""  # the row's label when planned: the result lands only if it still is (and the URL, box)


@dataclass(slots=True)
class Outcome:
    id: int
    ok: bool
    fields: dict = field(default_factory=dict)


def download_url(fetcher: Fetcher, url: str, targets: list[Target], max_pixels: int,
                 cpu_slots: threading.Semaphore | None = None) -> list[Outcome]:
    """Fetch with many threads, but decode with only as many at once as `cpu_slots` allows:
    decoding is CPU-bound, and each decoded photograph holds megabytes."""
    fetched = fetcher.fetch(url)
    common = {
        "http_status": fetched.http_status,
        "attempts": fetched.attempts,
        "elapsed_s": round(fetched.elapsed_s, 4),
        "bytes": len(fetched.body) if fetched.body is not None else None,
    }
    if not fetched.ok:
        return [failed(t, common, fetched.reason, fetched.detail) for t in targets]
    common["sha256"] = hashlib.sha256(fetched.body).hexdigest()
    with cpu_slots or contextlib.nullcontext():
        try:
            decoded = decode(fetched.body, max_pixels)
        except ImageFailure as exc:
            return [failed(t, common, exc.reason, exc.detail) for t in targets]
        common["original_width"], common["original_height"] = decoded.width, decoded.height
        return [crop_and_write(decoded, t, common) for t in targets]


def crop_and_write(decoded, target: Target, common: dict) -> Outcome:
    try:
        pixels = crop(decoded, target.box)
        atomic_write_bytes(target.path, encode_png(pixels))
    except ImageFailure as exc:
        return failed(target, common, exc.reason, exc.detail)
    except OSError as exc:
        return failed(target, common, "write-error", f"{target.path}: {exc}")
    height, width = pixels.shape[:2]
    return Outcome(target.id, True, {**common, "file": target.relative, "width": width, "height": height})


def failed(target: Target, common: dict, reason: str, detail: str) -> Outcome:
    return Outcome(target.id, False, {**common, "failure_reason": reason, "failure_detail": detail[:2000]})
