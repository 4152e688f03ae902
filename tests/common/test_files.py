"""common.files: one atomic writer (whole file or the old one, never half) and one streaming hasher."""

import hashlib
import io
import os
import threading

import pytest

from common import files
from common.files import atomic_write_bytes, atomic_write_text, atomic_writer, sha256_and_size, sha256_of


def leftovers(folder):
    return sorted(p.name for p in folder.iterdir() if p.name.startswith(files.TMP_PREFIX))


def test_it_writes_bytes_and_text_and_makes_the_folder(tmp_path):
    target = tmp_path / "a" / "b" / "x.bin"
    assert atomic_write_bytes(target, b"\x00\x01") == target
    assert target.read_bytes() == b"\x00\x01"
    atomic_write_text(tmp_path / "t.txt", "melanoma \u00e9")
    assert (tmp_path / "t.txt").read_text(encoding="utf-8") == "melanoma \u00e9"
    assert leftovers(target.parent) == [] and leftovers(tmp_path) == []


def test_a_failing_writer_leaves_the_old_file_and_no_temporary_file(tmp_path):
    target = tmp_path / "ckpt.pt"
    target.write_bytes(b"old")
    with pytest.raises(RuntimeError), atomic_writer(target) as f:
        f.write(b"half of a new")
        raise RuntimeError("killed mid-write")
    assert target.read_bytes() == b"old"
    assert leftovers(tmp_path) == []


def test_the_named_fallback_also_cleans_up_after_a_failure(tmp_path, monkeypatch):
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)  # a filesystem or OS without unnamed files
    target = tmp_path / "x.png"
    with pytest.raises(ValueError), atomic_writer(target) as f:
        f.write(b"partial")
        assert len(leftovers(tmp_path)) == 1  # the named temporary file exists while writing
        raise ValueError("boom")
    assert not target.exists() and leftovers(tmp_path) == []
    atomic_write_bytes(target, b"whole")
    assert target.read_bytes() == b"whole" and leftovers(tmp_path) == []


def test_files_get_the_umask_mode_not_mkstemps_private_one(tmp_path):
    old = os.umask(0o022)
    try:
        atomic_write_bytes(tmp_path / "media.jpg", b"x")
    finally:
        os.umask(old)
    assert (tmp_path / "media.jpg").stat().st_mode & 0o777 == 0o644


def test_two_concurrent_writers_of_one_path_never_collide(tmp_path, monkeypatch):
    """Both hold their temporary file open at once; each rename is whole, the last one wins.
    (morph.py's fixed `.morph.gif.tmp` made the second writer truncate the first one's file.)"""
    monkeypatch.delattr(os, "O_TMPFILE", raising=False)  # named temp files: the case that collided
    target = tmp_path / "morph.gif"
    both_open = threading.Barrier(2)
    errors = []

    def write(payload: bytes) -> None:
        try:
            with atomic_writer(target) as f:
                f.write(payload[:1000])
                both_open.wait(timeout=10)
                f.write(payload[1000:])
        except Exception as exc:  # collected: an exception in a thread would not fail the test
            errors.append(exc)

    payloads = [bytes([i]) * 5000 for i in (1, 2)]
    threads = [threading.Thread(target=write, args=(p,)) for p in payloads]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert errors == []
    assert target.read_bytes() in payloads
    assert leftovers(tmp_path) == []


def test_a_streaming_writer_such_as_pil_writes_through_the_file_object(tmp_path):
    from PIL import Image

    with atomic_writer(tmp_path / "x.png") as f:
        Image.new("RGB", (3, 2), (10, 20, 30)).save(f, format="PNG")
    with Image.open(tmp_path / "x.png") as image:
        assert image.size == (3, 2) and image.getpixel((0, 0)) == (10, 20, 30)


def test_stale_temporary_files_are_removed_and_counted(tmp_path):
    (tmp_path / "sub").mkdir()
    (tmp_path / "sub" / f"{files.TMP_PREFIX}abc.png").write_bytes(b"x")
    (tmp_path / "keep.png").write_bytes(b"x")
    assert files.remove_stale_temp_files(tmp_path) == 1
    assert files.remove_stale_temp_files(tmp_path / "missing") == 0
    assert (tmp_path / "keep.png").exists()


def test_the_hasher_streams_in_chunks_and_gives_the_size(tmp_path, monkeypatch):
    monkeypatch.setattr(files, "HASH_CHUNK", 7)
    data = bytes(range(256)) * 3
    beats = []
    assert sha256_and_size(io.BytesIO(data), lambda: beats.append(1)) == (hashlib.sha256(data).hexdigest(), 768)
    assert len(beats) == -(-768 // 7)
    (tmp_path / "f").write_bytes(data)
    assert sha256_of(tmp_path / "f") == hashlib.sha256(data).hexdigest()


@pytest.mark.parametrize("unnamed", [True, False])
def test_an_exclusive_write_never_replaces_a_file_and_keeps_a_secrets_mode(tmp_path, monkeypatch, unnamed):
    if not unnamed:
        monkeypatch.delattr(os, "O_TMPFILE", raising=False)
    key = tmp_path / "secret-key"
    atomic_write_text(key, "first", exclusive=True, mode=0o600)
    with pytest.raises(FileExistsError):
        atomic_write_text(key, "second", exclusive=True, mode=0o600)
    assert key.read_text() == "first" and key.stat().st_mode & 0o777 == 0o600 and leftovers(tmp_path) == []


# Plain writers that are not a file's content: a lock file, opened only to hold a flock on it.
NOT_CONTENT = {("seeds/exportfs.py", "open")}
SOURCES = ("cansite", "common", "datasets", "generator", "seeds", "classifier", "turing", "home")


def plain_writes(path) -> list[tuple[str, int]]:
    """Calls in a module that write a file other than through common.files: .write_text(), .write_bytes(),
    open()/os.fdopen() with a writing mode, and bare os.open() with O_CREAT."""
    import ast

    found = []
    for node in ast.walk(ast.parse(path.read_text(encoding="utf-8"))):
        if not isinstance(node, ast.Call):
            continue
        name = node.func.attr if isinstance(node.func, ast.Attribute) else getattr(node.func, "id", "")
        modes = [a.value for a in [*node.args[1:2], *(k.value for k in node.keywords if k.arg == "mode")]
                 if isinstance(a, ast.Constant) and isinstance(a.value, str)]
        creates = name == "open" and "O_CREAT" in ast.dump(node)
        if name in ("write_text", "write_bytes") or (name in ("open", "fdopen") and any(
                set(m) & set("wax+") for m in modes)) or creates:
            found.append((name, node.lineno))
    return found


def test_app_code_and_the_pure_packages_write_files_only_through_common_files():
    """One atomic writer: a file is whole or absent, whoever wrote it (tests and bench/ may write plainly)."""
    from pathlib import Path

    repo = Path(__file__).resolve().parents[2]
    offenders = [f"{py.relative_to(repo)}:{line} {name}()" for package in SOURCES
                 for py in sorted((repo / package).rglob("*.py"))
                 if py.relative_to(repo).as_posix() != "common/files.py" and "migrations" not in py.parts
                 for name, line in plain_writes(py)
                 if (py.relative_to(repo).as_posix(), name) not in NOT_CONTENT]
    assert offenders == []
