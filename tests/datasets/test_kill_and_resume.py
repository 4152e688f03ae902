"""A download killed with SIGKILL leaves no partial file and resumes where it stopped."""
import signal
import subprocess
import sys
import time

import pytest
from PIL import Image

from datasets.models import ImageRecord
from tests.conftest import REPO, subprocess_env
from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row

ROWS = 40


def start_download(media_root):
    env = subprocess_env(media_root)
    command = [sys.executable, "manage.py", "download_images", "--dataset", "demo", "--allow-private",
               "--workers", "2", "--per-host", "2", "--timeout", "5", "-v", "0"]
    return subprocess.Popen(command, cwd=REPO, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def wait_for_some_rows_done(process, at_least: int, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while ImageRecord.objects.filter(status="ok").count() < at_least:
        assert process.poll() is None, process.stderr.read().decode()
        assert time.monotonic() < deadline, "the download made no progress"
        time.sleep(0.05)


@pytest.mark.django_db(transaction=True)
def test_a_killed_run_leaves_no_partial_file_and_the_next_run_finishes(media_root):
    server = w.ImageServer().start()
    try:
        dataset = make_dataset()
        for i in range(ROWS):
            body = ("image/jpeg", w.jpeg_bytes(w.make_photo(600, 400, seed=i)))
            make_row(dataset, str(i + 1), server.behave(f"/{i}.jpg", delay=0.1, body=body))
        process = start_download(media_root)
        wait_for_some_rows_done(process, at_least=6)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=10)

        in_progress = ImageRecord.objects.filter(status="downloading").count()
        assert in_progress > 0, "the kill should land mid-run"
        files = list(media_root.rglob("*"))
        assert not [f for f in files if f.name.startswith(".tmp-")], "no temporary file survives a kill"
        for png in (f for f in files if f.suffix == ".png"):
            with Image.open(png) as image:
                image.load()  # every visible file is complete

        resumed = start_download(media_root)
        out, err = resumed.communicate(timeout=120)
        assert resumed.returncode == 0, err.decode()
        assert ImageRecord.objects.filter(status="ok").count() == ROWS
        assert not ImageRecord.objects.filter(status="downloading").exists()
        assert f"recovered {in_progress} rows" in out.decode()
        # Rows finished before the kill were not fetched again.
        assert sum(server.hits.values()) < ROWS + in_progress + 4
    finally:
        server.stop()
