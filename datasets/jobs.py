"""Queue jobs of the datasets app: they take ids and may run twice."""
from __future__ import annotations

from dataclasses import asdict

from .downloader import DownloadBusy, DownloadOptions, download_images
from .models import Dataset


def download_dataset(dataset_id: int, options: dict | None = None) -> dict:
    """Download a dataset's pending rows. A second copy of the job finds the first one's
    heartbeat and stops; a copy run after a crash resumes where the crashed one stopped."""
    dataset = Dataset.objects.get(id=dataset_id)
    try:
        summary = download_images(dataset=dataset, options=DownloadOptions(**(options or {})))
    except DownloadBusy as exc:
        return {"dataset": dataset.name, "skipped": str(exc)}
    result = asdict(summary)
    result["failures_by_reason"] = dict(summary.failures_by_reason)
    return result
