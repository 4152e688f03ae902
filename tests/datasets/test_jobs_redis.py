"""The download job on the real Redis, run by a real `rqworker --burst`."""
import pytest

from datasets import jobs
from datasets.downloader import DownloadOptions, create_download
from datasets.models import Dataset, ImageRecord
from tests.conftest import real_queue, run_burst_worker
from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row


@pytest.mark.django_db(transaction=True)
def test_a_download_job_runs_on_a_real_worker(redis_url, media_root):
    server = w.ImageServer().start()
    try:
        dataset = make_dataset("queued")
        make_row(dataset, "1", server.add("/1.jpg", w.jpeg_bytes(w.make_photo())))
        make_row(dataset, "2", server.url("/missing.jpg"))
        queue = real_queue("default", redis_url)
        row = create_download(dataset=dataset, options=DownloadOptions(allow_private=True, timeout=5, retries=0))
        job = queue.enqueue(jobs.download_dataset, row.id)
        run_burst_worker("default", media_root, redis_url)
        job.refresh()
        assert job.is_finished, (job.get_status(), job.latest_result())
        assert job.return_value()["ok"] == 1 and job.return_value()["failed"] == 1
        assert ImageRecord.objects.get(no="1").status == "ok"
        assert ImageRecord.objects.get(no="2").failure_reason == "http-404"
        lease = Dataset.objects.get(id=dataset.id).downloads.get()
        assert (lease.status, lease.job_id, lease.summary["ok"]) == ("done", job.id, 1)
    finally:
        server.stop()
