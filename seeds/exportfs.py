"""Building a folder of files incrementally and swapping it in atomically (the static export's engine).

A build is a list of `Item`s: an output path, a hash of everything its bytes depend on ("inputs"),
and how to make it (render a template with a context in a language, copy a file, or write given bytes). The
folder's `.manifest.json` records the digest of the whole build's inputs and, per path, the inputs hash,
the bytes' sha256 and size. A new build:

1. nothing changed (the same digest of all inputs, every file present): done, nothing is planned or written;
2. otherwise a sibling folder `.NAME.building-PID` is filled: unchanged files are hard links to the
   current export's, changed ones are made (in worker processes with workers > 1), files that are
   no longer produced are simply not carried over; the manifest goes in last;
3. the new folder and the old are exchanged in one renameat2(RENAME_EXCHANGE) (two renames where
   that is missing), and the old one is deleted. A run killed at any moment leaves the previous
   export whole; its half-built sibling is removed by the next run.
"""
from __future__ import annotations

import ctypes
import fcntl
import hashlib
import json
import os
import shutil
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass, field
from multiprocessing import get_context
from pathlib import Path

from common.files import atomic_write_bytes

MANIFEST = ".manifest.json"
RENAME_EXCHANGE = 2
AT_FDCWD = -100


@dataclass
class Item:
    path: str
    inputs: str
    template: str = ""
    context: dict | None = None
    language: str = ""  # a template's: rendered with this language active ("": the default)
    source: str = ""
    data: bytes | None = None


@dataclass
class Summary:
    written: int = 0
    skipped: int = 0
    removed: int = 0
    bytes: int = 0
    manifest: dict = field(default_factory=dict)

    def line(self, out: Path) -> str:
        return (f"{out}: {self.written} files written, {self.skipped} skipped, {self.removed} removed, "
                f"{self.bytes:,} bytes in all")


def inputs_hash(*parts) -> str:
    return hashlib.sha256(json.dumps(parts, sort_keys=True, separators=(",", ":")).encode()).hexdigest()


def item_bytes(item: Item) -> bytes:
    if item.data is not None:
        return item.data
    if item.source:
        return Path(item.source).read_bytes()
    from django.template.loader import render_to_string
    from django.utils import translation

    with translation.override(item.language or None):
        return render_to_string(item.template, item.context).encode()


def make(item: Item, root: str) -> tuple[str, str, int] | None:
    """Write one item under root; returns (path, sha256 of its bytes, size), or None when its source
    file is gone (a published image deleted from disk: its page shows a missing image, the export goes
    on). Runs in worker processes."""
    try:
        data = item_bytes(item)
    except FileNotFoundError:
        return None
    atomic_write_bytes(Path(root) / item.path, data)
    return item.path, hashlib.sha256(data).hexdigest(), len(data)


def read_manifest(out: Path) -> tuple[str, dict]:
    """(the digest of the whole build's inputs, {path: entry}) of an export, or ("", {})."""
    try:
        data = json.loads((out / MANIFEST).read_text())
        return str(data.get("digest", "")), dict(data["files"])
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return "", {}


def all_present(out: str, entries: dict) -> bool:
    try:
        return all(os.stat(f"{out}/{path}").st_size == entry["size"] for path, entry in entries.items())
    except OSError:
        return False


def is_current(out: str, item: Item, old: dict) -> bool:
    """Same inputs as last time, and its file still there at its size."""
    entry = old.get(item.path)
    if not entry or entry.get("inputs") != item.inputs:
        return False
    try:
        return os.stat(f"{out}/{item.path}").st_size == entry["size"]
    except OSError:
        return False


def build(out: Path, plan: Callable[[], list[Item]], *, digest: str, workers: int = 1,
          progress: Callable[[int, int], None] = lambda done, total: None) -> Summary:
    """Make `out` hold exactly the items `plan()` lists, rebuilding only what changed, swapped in atomically.

    `digest` hashes everything the whole build depends on: when it equals the export's and every file
    is there, nothing is planned or written (the no-change re-run costs a stat per file)."""
    out = Path(out).absolute()
    out.parent.mkdir(parents=True, exist_ok=True)
    with open(out.parent / f".{out.name}.lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)  # two exports to one folder would swap each other's work away
        recover(out)
        old_digest, old = read_manifest(out)
        if old_digest == digest and old and all_present(str(out), old):
            progress(len(old), len(old))
            return Summary(skipped=len(old), bytes=sum(entry["size"] for entry in old.values()), manifest=old)
        items = plan()
        current = [item for item in items if is_current(str(out), item, old)]
        summary = Summary(skipped=len(current), removed=len(set(old) - {item.path for item in items}))
        building = out.parent / f".{out.name}.building-{os.getpid()}"
        shutil.rmtree(building, ignore_errors=True)
        building.mkdir()
        manifest = {item.path: old[item.path] for item in current}
        for item in current:
            link_or_copy(out / item.path, building / item.path)
        step = Counter(len(items), progress)
        step(len(current))
        changed = {item.path: item for item in items if item.path not in manifest}
        for made in make_all(list(changed.values()), building, workers, step):
            if made is not None:
                path, sha, size = made
                manifest[path] = {"inputs": changed[path].inputs, "sha256": sha, "size": size}
        text = json.dumps({"digest": digest, "files": dict(sorted(manifest.items()))}, indent=1, sort_keys=True)
        atomic_write_bytes(building / MANIFEST, (text + "\n").encode())
        swap_in(building, out)
        summary.written, summary.manifest = len(manifest) - len(current), manifest
        summary.bytes = sum(entry["size"] for entry in manifest.values())
        return summary


class Counter:
    """progress(done, total) from increments."""

    def __init__(self, total: int, progress: Callable[[int, int], None]):
        self.done, self.total, self.progress = 0, total, progress

    def __call__(self, count: int) -> None:
        self.done += count
        self.progress(self.done, self.total)


def make_all(items: list[Item], root: Path, workers: int, progress: Callable[[int], None]):
    if workers <= 1 or len(items) < 2 * workers:
        for item in items:
            yield make(item, str(root))
            progress(1)
        return
    from django.db import connections

    connections.close_all()  # a forked worker must not share the parent's database socket
    with ProcessPoolExecutor(workers, mp_context=get_context("fork")) as pool:
        chunk = max(1, min(64, len(items) // (workers * 4)))
        for result in pool.map(make, items, [str(root)] * len(items), chunksize=chunk):
            yield result
            progress(1)


def link_or_copy(source: Path, target: Path) -> None:
    target.parent.mkdir(parents=True, exist_ok=True)
    try:
        os.link(source, target)  # the bytes are unchanged: share them instead of copying
    except OSError:
        shutil.copyfile(source, target)


def swap_in(building: Path, out: Path) -> None:
    if not out.exists():
        os.rename(building, out)
        return
    if exchange(building, out):
        shutil.rmtree(building)  # now holds the previous export
        return
    previous = out.parent / f".{out.name}.previous"
    shutil.rmtree(previous, ignore_errors=True)
    os.rename(out, previous)  # from here until the next line, recover() puts it back if we are killed
    os.rename(building, out)
    shutil.rmtree(previous)


def exchange(a: Path, b: Path) -> bool:
    """Swap two paths in one step (Linux renameat2); False where the system cannot."""
    try:
        libc = ctypes.CDLL(None, use_errno=True)
        renameat2 = libc.renameat2
    except (OSError, AttributeError):
        return False
    renameat2.argtypes = [ctypes.c_int, ctypes.c_char_p, ctypes.c_int, ctypes.c_char_p, ctypes.c_uint]
    return renameat2(AT_FDCWD, os.fsencode(a), AT_FDCWD, os.fsencode(b), RENAME_EXCHANGE) == 0


def recover(out: Path) -> None:
    """Undo what a killed run left: half-built siblings, or an export moved aside mid-swap."""
    for stale in out.parent.glob(f".{out.name}.building-*"):
        shutil.rmtree(stale, ignore_errors=True)
    previous = out.parent / f".{out.name}.previous"
    if previous.exists():
        if out.exists():
            shutil.rmtree(previous, ignore_errors=True)
        else:
            os.rename(previous, out)
