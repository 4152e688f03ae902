"""The download job on the real Redis, run by a real `rqworker --burst`."""
import os
import subprocess
import sys

import django_rq
import pytest
import redis

from datasets import jobs
from datasets.models import Dataset, ImageRecord
from tests.conftest import REPO
from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row
from tests.datasets.test_kill_and_resume import database_url


@pytest.mark.django_db(transaction=True)
def test_a_download_job_runs_on_a_real_worker(redis_url, media_root):
    server = w.ImageServer().start()
    try:
        dataset = make_dataset("queued")
        make_row(dataset, "1", server.add("/1.jpg", w.jpeg_bytes(w.make_photo())))
        make_row(dataset, "2", server.url("/missing.jpg"))
        connection = redis.Redis.from_url(redis_url)
        queue = django_rq.get_queue("default", connection=connection, is_async=True)
        queue.empty()
        job = queue.enqueue(jobs.download_dataset, dataset.id, {"allow_private": True, "timeout": 5, "retries": 0})
        env = {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(media_root), "REDIS_URL": redis_url}
        worker = subprocess.run([sys.executable, "manage.py", "rqworker", "default", "--burst"], cwd=REPO, env=env,
                                capture_output=True, text=True, timeout=120)
        assert worker.returncode == 0, worker.stderr
        job.refresh()
        assert job.is_finished, (job.get_status(), job.latest_result())
        assert job.return_value()["ok"] == 1 and job.return_value()["failed"] == 1
        assert ImageRecord.objects.get(no="1").status == "ok"
        assert ImageRecord.objects.get(no="2").failure_reason == "http-404"
        assert Dataset.objects.get(id=dataset.id).download_heartbeat is None
    finally:
        server.stop()
