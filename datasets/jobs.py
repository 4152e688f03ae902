"""Queue jobs of the datasets app: they take ids and may run twice.

    row = downloader.create_download(dataset=dataset, options=options)
    DOWNLOAD.submit(row, now=False, here=...)      # the default queue, with the retry of every job
"""
from __future__ import annotations

from rq import get_current_job

from cansite.jobs import JobKind

from .downloader import DownloadBusy, run_download, summary_dict

DOWNLOAD_TIMEOUT_S = 7 * 24 * 3600  # LESION130k on a slow network; RQ's default of 180 s would kill it


def download_dataset(download_id: int) -> dict:
    """Run a queued DownloadRun. A second copy of the job finds the row held and stops; RQ's retry
    after a crash takes the row back and resumes where the crashed one stopped."""
    job = get_current_job()
    try:
        summary = run_download(download_id=download_id, job_id=job.id if job else "", job=job)
    except DownloadBusy as exc:
        return {"download": download_id, "skipped": str(exc)}
    return summary_dict(summary)


DOWNLOAD = JobKind(download_dataset, queue="default", timeout_s=DOWNLOAD_TIMEOUT_S)
