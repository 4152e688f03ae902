"""A manifest re-imported while its download runs: a result lands only on the row it was fetched for.

The downloader records results with a compare-and-set on the row's URL, box and label; a result
for a row that changed meanwhile is dropped, its crop deleted, and the row left for the next run.
"""
import hashlib
import io
import subprocess
import sys
import time

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from datasets import downloader
from datasets.bulk import fast_update
from datasets.download.imaging import crop_bounds
from datasets.downloader import DownloadOptions, download_images
from datasets.models import ImageRecord
from datasets.services import import_manifest
from datasets.thumbnails import thumbnail_path
from tests.conftest import REPO, subprocess_env
from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row, manifest_line, write_manifest

FAST = DownloadOptions(workers=4, per_host=4, timeout=5.0, retries=0, allow_private=True)
ROWS = 6


@pytest.fixture
def server():
    server = w.ImageServer().start()
    yield server
    server.stop()


def old_body(i: int) -> bytes:
    return w.jpeg_bytes(w.make_photo(120, 80, seed=i))


def new_body(i: int) -> bytes:
    return w.jpeg_bytes(w.make_photo(160, 100, seed=100 + i))


def assert_crop_is_of(media_root, record: ImageRecord, body: bytes) -> None:
    """The row's sha256 is the body's, and its crop file holds exactly the body's box."""
    assert record.sha256 == hashlib.sha256(body).hexdigest(), f"row {record.no}: sha256 of another image"
    with Image.open(io.BytesIO(body)) as image:
        pixels = np.asarray(image.convert("RGB"))
    left, top, right, bottom = crop_bounds(record.box, pixels.shape[1], pixels.shape[0])
    with Image.open(media_root / record.file) as crop:
        assert np.array_equal(np.asarray(crop), pixels[top:bottom, left:right]), f"row {record.no}: wrong crop"


def reimport_while_fetched(monkeypatch, manifest):
    """Re-import `manifest` after the first URL is fetched and before its result is recorded."""
    real = downloader.outcomes_of
    done = []

    def outcomes_then_reimport(future, targets):
        outcomes = real(future, targets)
        if not done:
            done.append(import_manifest(path=manifest))
        return outcomes

    monkeypatch.setattr(downloader, "outcomes_of", outcomes_then_reimport)
    return done


@pytest.mark.django_db
@pytest.mark.parametrize("edit", ["url", "box", "label"])
def test_a_result_for_a_row_edited_meanwhile_is_dropped_with_its_crop(server, media_root, monkeypatch, edit):
    old, new = server.add("/old.jpg", old_body(0)), server.add("/new.jpg", new_body(0))
    before = write_manifest(media_root.parent / "set.csv", [manifest_line("1", "nevus", old)])
    import_manifest(path=before)
    after = {"url": manifest_line("1", "nevus", new), "box": manifest_line("1", "nevus", old, (0.5, 0.5, 0.4, 0.4)),
             "label": manifest_line("1", "melanoma", old)}[edit]
    done = reimport_while_fetched(monkeypatch, write_manifest(media_root.parent / "set.csv", [after]))

    summary = download_images(dataset=ImageRecord.objects.get().dataset, options=FAST)

    assert done and done[0].updated == 1
    row = ImageRecord.objects.get()
    assert (summary.ok, summary.stale) == (0, 1)
    assert (row.status, row.file, row.sha256) == ("pending", "", "")
    assert not list(media_root.rglob("*.png")), "the dropped result's crop is deleted"
    assert thumbnail_path(row) is None
    monkeypatch.undo()
    again = download_images(dataset=row.dataset, options=FAST)
    row.refresh_from_db()
    assert (again.ok, row.status) == (1, "ok")
    assert_crop_is_of(media_root, row, new_body(0) if edit == "url" else old_body(0))


@pytest.mark.django_db
def test_a_result_for_an_unchanged_row_lands_even_if_the_file_was_re_imported(server, media_root, monkeypatch):
    url = server.add("/same.jpg", old_body(0))
    manifest = write_manifest(media_root.parent / "set.csv", [manifest_line("1", "nevus", url)])
    import_manifest(path=manifest)
    reimport_while_fetched(monkeypatch, manifest)
    summary = download_images(dataset=ImageRecord.objects.get().dataset, options=FAST)
    row = ImageRecord.objects.get()
    assert (summary.ok, summary.stale, row.status) == (1, 0, "ok")
    assert_crop_is_of(media_root, row, old_body(0))


@pytest.mark.django_db
def test_the_compare_and_set_matches_null_fields_and_reports_rows_written():
    dataset = make_dataset()
    boxed = make_row(dataset, "1", "http://a/1.jpg")
    unboxed = make_row(dataset, "2", "http://a/2.jpg", box=(None, None, None, None))
    rows = [{"id": boxed.id, "status": "ok", "expected": {"url": "http://a/1.jpg", "x": 0.5}},
            {"id": unboxed.id, "status": "ok", "expected": {"url": "http://a/2.jpg", "x": None}},
            {"id": unboxed.id, "status": "failed", "expected": {"url": "http://a/other.jpg", "x": None}}]
    assert fast_update(ImageRecord, rows, ["status"], expect=("url", "x")) == 2
    assert set(ImageRecord.objects.values_list("status", flat=True)) == {"ok"}


def start_download(media_root, *flags: str):
    command = [sys.executable, "manage.py", "download_images", "--dataset", "set", "--allow-private",
               "--workers", "4", "--per-host", "4", "--timeout", "10", "--retries", "0", "-v", "0", *flags]
    return subprocess.Popen(command, cwd=REPO, env=subprocess_env(media_root), stdout=subprocess.PIPE,
                            stderr=subprocess.PIPE)


def wait_for_requests(server, process, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while sum(server.hits.values()) < at_least:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the download sent no requests"
        time.sleep(0.02)


@pytest.mark.django_db(transaction=True)
def test_every_ok_row_matches_its_url_after_a_re_import_during_a_download(server, media_root):
    old = [server.behave(f"/old/{i}.jpg", delay=1.0, body=("image/jpeg", old_body(i))) for i in range(ROWS)]
    new = [server.add(f"/new/{i}.jpg", new_body(i)) for i in range(ROWS)]
    manifest = media_root.parent / "set.csv"
    import_manifest(path=write_manifest(manifest, [manifest_line(str(i), "nevus", old[i]) for i in range(ROWS)]))
    process = start_download(media_root)
    wait_for_requests(server, process, at_least=4)  # four old URLs are being served, slowly
    summary = import_manifest(path=write_manifest(manifest, [manifest_line(str(i), "nevus", new[i])
                                                             for i in range(ROWS)]))
    assert summary.updated == ROWS
    out, err = process.communicate(timeout=120)
    assert process.returncode == 0, err.decode()

    def check_every_row():
        bodies = {url: new_body(i) for i, url in enumerate(new)}
        records = list(ImageRecord.objects.all())
        for record in records:
            assert record.url in bodies
            if record.status == "ok":
                assert_crop_is_of(media_root, record, bodies[record.url])
            else:
                assert (record.file, record.sha256) == ("", ""), "a pending row names no crop"
        on_disk = {str(p.relative_to(media_root)) for p in media_root.rglob("*.png")}
        assert on_disk == {r.file for r in records if r.status == "ok"}, "no crop left without its row"
        return records

    assert server.hits["/old/0.jpg"] == 1, "the run fetched the old URLs it had planned"
    check_every_row()
    again = download_images(dataset=ImageRecord.objects.first().dataset, options=FAST)
    assert again.ok == ROWS
    assert {r.status for r in check_every_row()} == {"ok"}


@pytest.mark.django_db(transaction=True)
def test_a_run_taken_over_with_force_stops_and_leaves_the_new_run_its_lease(server, media_root):
    """The old run must neither keep the new run's lease fresh nor clear it when it ends: a third run
    started while the new one works is refused."""
    slow = [server.behave(f"/slow/{i}.jpg", delay=2.5, body=("image/jpeg", old_body(i))) for i in range(8)]
    import_manifest(path=write_manifest(media_root.parent / "set.csv",
                                        [manifest_line(str(i), "nevus", url) for i, url in enumerate(slow)]))
    old = start_download(media_root, "--workers", "2")  # 8 rows, 2 at a time: 10 s of work
    wait_for_requests(server, old, at_least=1)
    new = start_download(media_root, "--force", "--workers", "2")
    deadline = time.monotonic() + 60
    while max(server.hits.values()) < 2:  # the new run fetches a row the old one had in flight: it holds the set
        assert new.poll() is None and old.poll() is None, (new.stderr.read() + old.stderr.read()).decode()
        assert time.monotonic() < deadline, "the forced run sent no request"
        time.sleep(0.02)
    assert old.wait(timeout=60) == 0, old.stderr.read().decode()
    assert new.poll() is None, "the new run is still working when the old one has ended"

    with pytest.raises(CommandError, match="another download of set is running"):
        call_command("download_images", "--dataset", "set", "--allow-private", "-v", "0")

    out, err = new.communicate(timeout=120)
    assert new.returncode == 0, err.decode()
    assert set(ImageRecord.objects.values_list("status", flat=True)) == {"ok"}
