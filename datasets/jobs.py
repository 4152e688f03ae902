"""Queue jobs of the datasets app: they take ids and may run twice."""
from __future__ import annotations

from rq import get_current_job

from .downloader import DownloadBusy, DownloadOptions, download_images, summary_dict
from .models import Dataset


def download_dataset(dataset_id: int, options: dict | None = None) -> dict:
    """Download a dataset's pending rows. A second copy of the job finds the first one's
    heartbeat and stops; a copy run after a crash resumes where the crashed one stopped."""
    dataset = Dataset.objects.get(id=dataset_id)
    job = get_current_job()
    try:
        summary = download_images(dataset=dataset, options=DownloadOptions(**(options or {})),
                                  job_id=job.id if job else "")
    except DownloadBusy as exc:
        return {"dataset": dataset.name, "skipped": str(exc)}
    return summary_dict(summary)
