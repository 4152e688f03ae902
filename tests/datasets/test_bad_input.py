"""The datasets commands refuse bad input with one line naming the flag, file or field, and change nothing."""
import math
import subprocess
import sys

import pytest
from django.core.management import CommandError, call_command

from datasets.downloader import DownloadOptions, download_images
from datasets.models import Dataset, ImageRecord
from tests.conftest import REPO, subprocess_env
from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("flag, value, message", [
    ("--limit", "-1", "--limit: must be a whole number >= 1, got '-1'"),
    ("--limit", "0", "--limit: must be a whole number >= 1, got '0'"),
    ("--limit", "ten", "--limit: must be a whole number >= 1, got 'ten'"),
    ("--timeout", "nan", "--timeout: must be a finite number > 0, got 'nan'"),
    ("--timeout", "inf", "--timeout: must be a finite number > 0, got 'inf'"),
    ("--timeout", "0", "--timeout: must be a finite number > 0, got '0'"),
    ("--max-mb", "-1", "--max-mb: must be a finite number > 0, got '-1'"),
    ("--max-mb", "0", "--max-mb: must be a finite number > 0, got '0'"),
    ("--max-mb", "nan", "--max-mb: must be a finite number > 0, got 'nan'"),
    ("--workers", "0", "--workers: must be a whole number >= 1, got '0'"),
    ("--per-host", "-2", "--per-host: must be a whole number >= 1, got '-2'"),
    ("--retries", "-1", "--retries: must be a whole number >= 0, got '-1'"),
])
def test_download_images_refuses_a_bad_flag_before_touching_a_row(flag, value, message):
    dataset = make_dataset()
    make_row(dataset, "1", "http://127.0.0.1:9/never.jpg")
    with pytest.raises(CommandError, match=message):
        call_command("download_images", "--dataset", "demo", "--allow-private", flag, value)
    row = ImageRecord.objects.get()
    assert (row.status, row.attempts) == ("pending", 0)
    dataset.refresh_from_db()
    assert dataset.download_owner == ""


@pytest.mark.parametrize("field, value", [
    ("timeout", math.nan), ("timeout", -1.0), ("max_bytes", -1), ("limit", 0), ("workers", 0), ("retries", -1),
])
def test_the_download_service_refuses_the_same_values_from_a_job(field, value):
    with pytest.raises(ValueError, match=f"{field} must be"):
        DownloadOptions(**{field: value})


def test_a_limit_of_one_fetches_one_row(media_root):
    server = w.ImageServer().start()
    try:
        dataset = make_dataset()
        for i in range(3):
            make_row(dataset, str(i + 1), server.add(f"/{i}.jpg", w.jpeg_bytes(w.make_photo())))
        call_command("download_images", "--dataset", "demo", "--allow-private", "--limit", "1", "-v", "0")
        assert ImageRecord.objects.filter(status="ok").count() == 1
    finally:
        server.stop()


def test_malformed_urls_from_an_old_import_or_a_redirect_fail_as_bad_url(media_root):
    server = w.ImageServer().start()
    try:
        dataset = make_dataset()
        stored = make_row(dataset, "1", "https://[::1")
        redirected = make_row(dataset, "2", server.behave("/moved.jpg", redirect="http://[::1/x.jpg"))
        good = make_row(dataset, "3", server.add("/good.jpg", w.jpeg_bytes(w.make_photo())))
        download_images(dataset=dataset, options=DownloadOptions(allow_private=True, timeout=2, retries=0))
        for row in (stored, redirected, good):
            row.refresh_from_db()
        assert (stored.status, stored.failure_reason) == ("failed", "bad-url")
        assert (redirected.status, redirected.failure_reason) == ("failed", "bad-url")
        assert good.status == "ok"
    finally:
        server.stop()


@pytest.mark.django_db(transaction=True)
def test_a_bad_flag_on_the_command_line_is_one_line_and_exit_status_2(media_root):
    make_dataset()
    done = subprocess.run([sys.executable, "manage.py", "download_images", "--dataset", "demo", "--limit", "-1"],
                          cwd=REPO, env=subprocess_env(media_root), capture_output=True, text=True, timeout=60)
    assert done.returncode == 2 and "Traceback" not in done.stderr
    assert done.stderr.strip().splitlines()[-1].endswith("argument --limit: must be a whole number >= 1, got '-1'")


def test_download_images_names_an_unknown_dataset():
    with pytest.raises(CommandError, match="no dataset named 'nope'"):
        call_command("download_images", "--dataset", "nope")


def test_import_manifest_names_a_folder_given_as_the_file(tmp_path):
    with pytest.raises(CommandError, match=f"{tmp_path}: a folder, not a manifest file"):
        call_command("import_manifest", str(tmp_path), "--name", "x")
    assert not Dataset.objects.exists()


def test_import_folder_names_a_path_that_is_not_a_folder(tmp_path):
    (tmp_path / "file.jpg").write_bytes(b"x")
    with pytest.raises(CommandError, match=r"file.jpg: not a folder"):
        call_command("import_folder", str(tmp_path / "file.jpg"), "--name", "x")
    with pytest.raises(CommandError, match=r"dataset name '../x'"):
        call_command("import_folder", str(tmp_path), "--name", "../x")
    assert not Dataset.objects.exists()


@pytest.mark.parametrize("args, message", [
    (["--square", "--size", "0"], "--size: must be a whole number >= 1, got '0'"),
    (["--square", "--size", "100000"], "--size must be 1 to 8192 pixels, got 100000"),
    (["--square"], "--square needs --size N"),
    (["--size", "64"], "--size needs --square"),
    (["--workers", "0"], "--workers: must be a whole number >= 1, got '0'"),
])
def test_export_dataset_refuses_bad_flags_and_writes_nothing(tmp_path, args, message):
    make_row(make_dataset(), "1", "http://a/1.jpg", status="ok", file="datasets/demo/nevus/1.png")
    with pytest.raises(CommandError, match=message):
        call_command("export_dataset", "demo", str(tmp_path / "out"), *args)
    assert not (tmp_path / "out").exists()


def test_export_dataset_names_a_destination_it_cannot_write(tmp_path):
    make_row(make_dataset(), "1", "http://a/1.jpg", status="ok", file="datasets/demo/nevus/1.png")
    (tmp_path / "a-file").write_text("x")
    with pytest.raises(CommandError, match="a-file: cannot write there"):
        call_command("export_dataset", "demo", str(tmp_path / "a-file"))
