"""download_images against a real HTTP server on 127.0.0.1: formats, failures, retries, limits."""
import io
import time

import numpy as np
import pytest
from django.core.management import call_command
from PIL import Image

from datasets.download.imaging import crop_bounds
from datasets.downloader import DownloadOptions, download_images
from datasets.models import ImageRecord
from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row

pytestmark = pytest.mark.django_db
FAST = DownloadOptions(workers=8, per_host=4, timeout=1.0, retries=1, allow_private=True, backoff_base=0.05,
                       max_bytes=2_000_000)


@pytest.fixture
def server():
    server = w.ImageServer().start()
    yield server
    server.stop()


def run(dataset, options=FAST):
    return download_images(dataset=dataset, options=options)


def saved(media_root, record) -> np.ndarray:
    record.refresh_from_db()
    assert record.status == "ok", (record.failure_reason, record.failure_detail)
    with Image.open(media_root / record.file) as image:
        assert image.mode == "RGB"
        return np.asarray(image)


def test_it_crops_exactly_the_manifest_box(server, media_root):
    photo = w.make_photo(200, 100)
    url = server.add("/photo.png", w.png_bytes(photo), "image/png")
    dataset = make_dataset()
    box = (0.3, 0.6, 0.25, 0.5)
    row = make_row(dataset, "1", url, label="melanoma", box=box)
    run(dataset)
    left, top, right, bottom = crop_bounds(box, 200, 100)
    assert (left, top, right, bottom) == (int((0.3 - 0.125) * 200), int(0.35 * 100), int(0.425 * 200), int(0.85 * 100))
    assert np.array_equal(saved(media_root, row), np.asarray(photo)[top:bottom, left:right])
    row.refresh_from_db()
    assert row.file == "datasets/demo/melanoma/1.png"
    assert (row.width, row.height, row.original_width, row.original_height) == (right - left, bottom - top, 200, 100)
    assert (row.http_status, row.attempts, row.bytes) == (200, 1, len(w.png_bytes(photo)))
    assert len(row.sha256) == 64 and row.elapsed_s > 0


def test_a_box_past_the_edge_is_clamped(server, media_root):
    url = server.add("/edge.png", w.png_bytes(w.make_photo(100, 100)), "image/png")
    row = make_row(make_dataset(), "1", url, box=(0.9, 0.1, 0.4, 0.4))
    run(row.dataset)
    assert saved(media_root, row).shape == (30, 30, 3)


def test_it_decodes_the_awkward_formats(server, media_root):
    dataset = make_dataset()
    rows = {
        "exif": make_row(dataset, "1", server.add("/exif.jpg", w.exif_rotated_jpeg())),
        "cmyk": make_row(dataset, "2", server.add("/cmyk.jpg", w.cmyk_jpeg())),
        "rgba": make_row(dataset, "3", server.add("/rgba.png", w.rgba_png(), "image/png")),
        "gif": make_row(dataset, "4", server.add("/anim.gif", w.animated_gif(), "image/gif")),
        "png16": make_row(dataset, "5", server.add("/deep.png", w.png16(), "image/png")),
    }
    summary = run(dataset)
    assert (summary.ok, summary.failed) == (5, 0)
    assert saved(media_root, rows["exif"]).shape == (120, 80, 3), "EXIF orientation 6 makes it portrait"
    cmyk = saved(media_root, rows["cmyk"])
    assert abs(int(cmyk[50, 99, 0]) - 255) < 12 and cmyk[50, 0, 0] < 12, "CMYK came back as the RGB gradient"
    rgba = saved(media_root, rows["rgba"])
    assert (rgba[:, :32] == 255).all(), "transparent pixels are composited on white"
    gif = saved(media_root, rows["gif"])
    first_frame = Image.open(io.BytesIO(w.animated_gif())).convert("RGB").getpixel((0, 0))
    assert tuple(gif[0, 0]) == first_frame
    deep = saved(media_root, rows["png16"])
    assert deep.max() > 200 and deep.min() < 10, "16-bit values are scaled, not clipped to white"


@pytest.mark.parametrize("path, body, content_type, reason", [
    ("/truncated.jpg", w.truncated_jpeg(), "image/jpeg", "truncated"),
    ("/page.html", w.HTML, "text/html", "not-an-image"),
    ("/bomb.png", w.decompression_bomb(), "image/png", "decompression-bomb"),
])
def test_bad_bodies_fail_with_a_reason(server, media_root, path, body, content_type, reason):
    row = make_row(make_dataset(), "1", server.add(path, body, content_type))
    run(row.dataset)
    row.refresh_from_db()
    assert (row.status, row.failure_reason, row.file) == ("failed", reason, "")
    assert not list(media_root.rglob("*.png"))


def test_http_errors_retry_only_when_worth_it(server, media_root):
    dataset = make_dataset()
    missing = make_row(dataset, "1", server.url("/missing.jpg"))
    flaky = make_row(dataset, "2", server.behave("/flaky.jpg", fail_times=1, fail_status=500,
                                                  body=("image/jpeg", w.jpeg_bytes(w.make_photo()))))
    busy = make_row(dataset, "3", server.behave("/busy.jpg", fail_times=1, fail_status=429, retry_after=1,
                                                 body=("image/jpeg", w.jpeg_bytes(w.make_photo()))))
    started = time.monotonic()
    run(dataset)
    missing.refresh_from_db(), flaky.refresh_from_db(), busy.refresh_from_db()
    assert (missing.status, missing.failure_reason, missing.http_status,
            missing.attempts) == ("failed", "http-404", 404, 1)
    assert server.hits["/missing.jpg"] == 1, "no retry on a 404"
    assert (flaky.status, flaky.attempts, flaky.http_status) == ("ok", 2, 200)
    assert (busy.status, busy.attempts) == ("ok", 2)
    assert busy.elapsed_s >= 1.0 and time.monotonic() - started >= 1.0, "Retry-After was honoured"


def test_slow_oversize_and_looping_responses_fail(server, media_root):
    dataset = make_dataset()
    slow = make_row(dataset, "1", server.behave("/slow.jpg", delay=2.5, body=("image/jpeg", b"late")))
    big = make_row(dataset, "2", server.add("/big.jpg", b"\xff" * 2_500_000))
    streamed = make_row(dataset, "3", server.behave("/stream.jpg", stream=60))
    loop = make_row(dataset, "4", server.behave("/loop.jpg", redirect="/loop.jpg"))
    run(dataset)
    for row in (slow, big, streamed, loop):
        row.refresh_from_db()
    assert (slow.failure_reason, slow.attempts) == ("timeout", 2)
    assert big.failure_reason == "too-large" and "Content-Length" in big.failure_detail
    assert streamed.failure_reason == "too-large" and "body exceeds" in streamed.failure_detail
    assert loop.failure_reason == "too-many-redirects"
    assert 5 <= server.hits["/loop.jpg"] <= 6


def test_private_addresses_are_refused_without_a_request(server, media_root):
    row = make_row(make_dataset(), "1", server.add("/p.jpg", w.jpeg_bytes(w.make_photo())))
    run(row.dataset, DownloadOptions(timeout=1.0, retries=0))
    row.refresh_from_db()
    assert (row.status, row.failure_reason) == ("failed", "private-address")
    assert server.hits["/p.jpg"] == 0


def test_a_url_named_by_several_rows_is_fetched_once(server, media_root):
    url = server.add("/group.png", w.png_bytes(w.make_photo(100, 100)), "image/png")
    dataset = make_dataset()
    left = make_row(dataset, "1", url, label="nevus", box=(0.25, 0.5, 0.5, 1.0))
    right = make_row(dataset, "2", url, label="melanoma", box=(0.75, 0.5, 0.5, 1.0))
    summary = run(dataset)
    assert (summary.ok, summary.urls, server.hits["/group.png"]) == (2, 1, 1)
    assert saved(media_root, left).shape == saved(media_root, right).shape == (100, 50, 3)
    assert not np.array_equal(saved(media_root, left), saved(media_root, right))


def test_a_rerun_skips_finished_rows_and_retries_transient_failures(server, media_root):
    dataset = make_dataset()
    good = make_row(dataset, "1", server.add("/ok.jpg", w.jpeg_bytes(w.make_photo())))
    gone = make_row(dataset, "2", server.url("/gone.jpg"))
    later = make_row(dataset, "3", server.behave("/later.jpg", fail_times=2, fail_status=503,
                                                  body=("image/jpeg", w.jpeg_bytes(w.make_photo()))))
    first = run(dataset)
    assert (first.ok, first.failed) == (1, 2)
    second = run(dataset)
    assert (second.rows, second.ok, second.failed) == (1, 1, 0), "only the 503 row is retried"
    assert server.hits["/ok.jpg"] == 1 and server.hits["/gone.jpg"] == 1
    third = download_images(dataset=dataset, options=DownloadOptions(**{**FAST.__dict__, "retry_failed": True}))
    assert third.rows == 1 and server.hits["/gone.jpg"] == 2
    assert ImageRecord.objects.get(id=good.id).status == "ok"
    assert ImageRecord.objects.get(id=later.id).status == "ok"
    assert ImageRecord.objects.get(id=gone.id).failure_reason == "http-404"


def test_rows_left_in_progress_are_recovered_by_the_next_run(server, media_root):
    dataset = make_dataset()
    row = make_row(dataset, "1", server.add("/r.jpg", w.jpeg_bytes(w.make_photo())), status="downloading")
    summary = run(dataset)
    assert summary.recovered == 1
    row.refresh_from_db()
    assert row.status == "ok"


def test_a_second_run_refuses_while_the_first_is_alive(server, media_root):
    from django.utils import timezone

    from datasets.downloader import DownloadBusy

    dataset = make_dataset()
    dataset.download_heartbeat = timezone.now()
    dataset.save()
    with pytest.raises(DownloadBusy, match="another download of demo is running"):
        run(dataset)


def test_the_command_reports_progress_and_failures_by_reason(server, media_root, capsys):
    dataset = make_dataset()
    make_row(dataset, "1", server.add("/c.jpg", w.jpeg_bytes(w.make_photo())))
    make_row(dataset, "2", server.url("/nope.jpg"))
    call_command("download_images", "--dataset", "demo", "--allow-private", "--timeout", "2", "--retries", "0")
    out = capsys.readouterr().out
    assert "failures by reason:" in out and "http-404" in out
    assert "demo: 1 ok, 1 failed of 2 rows" in out


def test_dry_run_fetches_nothing(server, media_root, capsys):
    dataset = make_dataset()
    make_row(dataset, "1", server.add("/d.jpg", w.jpeg_bytes(w.make_photo())))
    call_command("download_images", "--dataset", "demo", "--dry-run", "--allow-private")
    assert "would fetch 1 URLs for 1 rows on 1 hosts" in capsys.readouterr().out
    assert server.hits["/d.jpg"] == 0
    assert ImageRecord.objects.get().status == "pending"


def test_urls_with_spaces_and_non_ascii_characters_are_fetched(server, media_root):
    server.add("/na%C3%AFve%20photo.jpg", w.jpeg_bytes(w.make_photo()))
    row = make_row(make_dataset(), "1", server.url("/naïve photo.jpg"))
    run(row.dataset)
    assert saved(media_root, row).shape == (80, 120, 3)
