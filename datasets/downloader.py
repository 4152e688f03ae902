"""The download service: fetch and crop a dataset's pending rows, concurrently and resumably.

Worker threads fetch, decode, crop and write files (datasets.download, no Django); only this
thread touches the database, recording results in batches. A run is a DownloadRun row, a job like
every other (cansite.jobs.drive: claimed, heartbeat, cancel, retry, progress through its
ProgressWriter), queued by datasets.jobs.DOWNLOAD or run here:

    row = create_download(dataset=dataset, options=options, force=False)   # DownloadBusy: a live run
    run_download(download_id=row.pk, job_id=...)                            # in the job, or here

A second run does not start beside a live one, `force` takes a run over, and a run taken over (or
cancelled) stops and writes nothing more on its row. Rows left "downloading" by a killed run go
back to pending when the next run starts, and its temporary files are removed.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import time
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from itertools import zip_longest
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.utils import timezone

from cansite.jobs import ProgressWriter, drive
from cansite.status import JobStatus, this_owner
from common.files import remove_stale_temp_files

from .bulk import fast_update
from .download.fetch import Fetcher, FetchSettings, short
from .download.imaging import MAX_PIXELS
from .download.work import Outcome, Target, download_url, limit_malloc_arenas
from .models import BLANK_DOWNLOAD, DOWNLOAD_FIELDS, Dataset, DownloadRun, ImageRecord

FLUSH_EVERY_S = 0.5
FLUSH_ROWS = 500
# What a result was fetched for: it lands only on a row that still holds these values (compare-and-set),
# so that a manifest re-imported during a run never gets the old URL's crop.
FETCHED_FOR = ("url", "label", "x", "y", "w", "h")


class DownloadBusy(RuntimeError):
    pass


@dataclass(frozen=True)
class DownloadOptions:
    workers: int = 64
    per_host: int = 4
    timeout: float = 30.0
    retries: int = 3
    max_bytes: int = 30 * 1024 * 1024
    max_pixels: int = MAX_PIXELS
    limit: int | None = None
    allow_private: bool = False
    retry_failed: bool = False
    backoff_base: float = 0.5
    decoders: int | None = None  # images decoded at once; default: one per CPU core

    def __post_init__(self):
        """Refuse settings that would turn every row into a failure (a NaN timeout, a negative cap)."""
        for name in ("workers", "per_host", "max_bytes", "max_pixels", "limit", "decoders"):
            value = getattr(self, name)
            if value is not None and (not isinstance(value, int) or value < 1):
                raise ValueError(f"{name} must be a whole number >= 1, not {value!r}")
        if not isinstance(self.retries, int) or self.retries < 0:
            raise ValueError(f"retries must be a whole number >= 0, not {self.retries!r}")
        for name in ("timeout", "backoff_base"):
            value = getattr(self, name)
            if not (isinstance(value, (int, float)) and math.isfinite(value) and value > 0):
                raise ValueError(f"{name} must be a finite number > 0, not {value!r}")

    def fetch_settings(self) -> FetchSettings:
        return FetchSettings(timeout=self.timeout, retries=self.retries, max_bytes=self.max_bytes,
                             per_host=self.per_host, allow_private=self.allow_private,
                             backoff_base=self.backoff_base)


@dataclass
class DownloadSummary:
    dataset: str
    rows: int = 0
    urls: int = 0
    hosts: int = 0
    ok: int = 0
    failed: int = 0
    already_done: int = 0
    recovered: int = 0
    stale: int = 0  # results dropped because their row was re-imported with another URL, box or label
    temp_files_removed: int = 0
    bytes: int = 0
    elapsed_s: float = 0.0
    failures_by_reason: Counter = field(default_factory=Counter)
    dry_run: bool = False
    stopped: bool = False  # cancelled, or taken over by another run (which goes on)

    @property
    def images_per_s(self) -> float:
        return (self.ok + self.failed) / self.elapsed_s if self.elapsed_s else 0.0


ProgressFn = Callable[[DownloadSummary], None]


def dataset_dir(dataset: Dataset) -> Path:
    return Path(settings.MEDIA_ROOT) / "datasets" / dataset.name


def safe_component(text: str) -> str:
    """A file-system-safe name; altered names get a hash suffix so that they stay distinct."""
    safe = re.sub(r"[^A-Za-z0-9._-]", "_", text).lstrip(".") or "_"
    if safe != text:
        safe = f"{safe[:80]}-{hashlib.sha1(text.encode()).hexdigest()[:8]}"
    return safe


def download_images(*, dataset: Dataset, options: DownloadOptions = DownloadOptions(), dry_run: bool = False,
                    force: bool = False, progress: ProgressFn | None = None, job_id: str = "") -> DownloadSummary:
    """Download here, now: a dry run only plans; otherwise a DownloadRun row is made and run at once."""
    if dry_run:
        summary = DownloadSummary(dataset=dataset.name, dry_run=True)
        plan(dataset, options, summary)
        return summary
    row = create_download(dataset=dataset, options=options, force=force)
    return run_download(download_id=row.pk, job_id=job_id or f"now-{row.pk}", progress=progress)


def create_download(*, dataset: Dataset, options: DownloadOptions = DownloadOptions(),
                    force: bool = False) -> DownloadRun:
    """The queued row of a download; refused (DownloadBusy, nothing created) while a live run holds
    the dataset, unless `force`."""
    current = dataset.running_download()
    if current is not None and not (force or current.is_stale()):
        raise DownloadBusy(busy_message(current))
    return DownloadRun.objects.create(dataset=dataset, options=asdict(options), force=force)


def busy_message(current: DownloadRun) -> str:
    beat = f"{current.heartbeat:%H:%M:%S}" if current.heartbeat else "none yet"
    return (f"another download of {current.dataset.name} is running ({current.owner}, last heartbeat {beat}); "
            "wait for it or pass --force")


def run_download(*, download_id: int, job_id: str = "", job=None,
                 progress: ProgressFn | None = None) -> DownloadSummary:
    """Run a queued DownloadRun through the one driver (cansite.jobs.drive): the dataset is first taken
    from a run whose holder is gone (or, for a forced row, from a live one); DownloadBusy when another
    run keeps it, and the row is then cancelled saying why. A row this job held before its worker died
    (RQ's retry) is taken back and resumed."""
    row = DownloadRun.objects.select_related("dataset").get(pk=download_id)
    summary = DownloadSummary(dataset=row.dataset.name)
    if row.status == JobStatus.QUEUED:
        make_room(row)

    def work(lease: DownloadRun) -> bool:
        writer = DownloadProgress(lease, job)

        def report(current: DownloadSummary) -> None:
            writer(summary_dict(current))
            if progress is not None:
                progress(current)

        fetch(lease.dataset, DownloadOptions(**lease.options), summary, report, lease)
        DownloadRun.objects.filter(lease.held()).update(summary=summary_dict(summary))
        return not summary.stopped

    if drive(DownloadRun, download_id, job_id, work, related=("dataset",)) == "skipped":
        refuse(row, f"another download of {row.dataset.name} started just now")
    return summary


def make_room(row: DownloadRun) -> None:
    """Stop the dataset's running download if its holder is gone or this row forces it (a
    compare-and-set on the holder it saw); DownloadBusy (and the row refused) when it stays."""
    current = row.dataset.running_download()
    if current is None or current.pk == row.pk:
        return
    if not (row.force or current.is_stale()):
        refuse(row, busy_message(current))
    if not current.stop(f"taken over by {this_owner()}"):
        refuse(row, f"another download of {row.dataset.name} started just now")


def refuse(row: DownloadRun, reason: str) -> None:
    """Raise DownloadBusy; a row still queued is cancelled first, with the reason as its error (a row
    another copy of this job holds, or one cancelled meanwhile, is left as it is)."""
    DownloadRun.objects.filter(pk=row.pk, status=JobStatus.QUEUED).update(
        status=JobStatus.CANCELLED, error=reason, finished_at=timezone.now())
    raise DownloadBusy(reason)


class DownloadProgress(ProgressWriter):
    """The run's summary so far on its row and in the RQ job's meta (every 2 s), the heartbeat on
    every report: the admin reads a running download as it reads every other job."""

    meta = ("rows", "ok", "failed", "stale", "bytes")
    every_s = 2.0

    def extra(self, info: dict) -> dict:
        return {"summary": info}


def summary_dict(summary: DownloadSummary) -> dict:
    return {**asdict(summary), "failures_by_reason": dict(summary.failures_by_reason)}


def fetch(dataset: Dataset, options: DownloadOptions, summary: DownloadSummary, report: ProgressFn,
          lease: DownloadRun) -> None:
    """The work of a claimed run: rows a killed run left "downloading" back to pending, its temporary
    files removed, then every row to fetch."""
    summary.recovered = dataset.images.filter(status=ImageRecord.Status.DOWNLOADING).update(
        status=ImageRecord.Status.PENDING)
    summary.temp_files_removed = remove_stale_temp_files(dataset_dir(dataset))
    groups = plan(dataset, options, summary)
    run(dataset, groups, options, summary, report, lease)


def plan(dataset: Dataset, options: DownloadOptions, summary: DownloadSummary) -> list[tuple[str, list[Target]]]:
    """Rows to fetch grouped by URL (each URL once), interleaved across hosts."""
    rows = (dataset.images.to_download(retry_failed=options.retry_failed).exclude(url="")
            .order_by("line", "id").values_list("id", "url", "label", "no", "x", "y", "w", "h"))
    if options.limit is not None:
        rows = rows[: options.limit]
    root = dataset_dir(dataset)
    by_url: OrderedDict[str, list[Target]] = OrderedDict()
    for row_id, url, label, no, x, y, w, h in rows.iterator(chunk_size=5000):
        relative = Path(safe_component(label)) / f"{safe_component(no)}.png"
        target = Target(row_id, (x, y, w, h), root / relative, str(Path("datasets") / dataset.name / relative), label)
        by_url.setdefault(url, []).append(target)
        summary.rows += 1
    summary.urls = len(by_url)
    summary.already_done = dataset.images.ok().count()
    by_host: dict[str, list] = defaultdict(list)
    for url, targets in by_url.items():
        by_host[host_of(url)].append((url, targets))
    summary.hosts = len(by_host)
    # Round-robin over hosts, so that per-host limits do not leave workers idle behind one busy host.
    return [item for batch in zip_longest(*by_host.values()) for item in batch if item is not None]


def host_of(url: str) -> str:
    try:
        return urlsplit(url).hostname or ""
    except ValueError:  # a malformed URL from an old import: the fetcher refuses it as bad-url
        return ""


def run(dataset: Dataset, groups: list, options: DownloadOptions, summary: DownloadSummary,
        report: ProgressFn, lease: DownloadRun) -> None:
    started = time.monotonic()
    limit_malloc_arenas()
    fetcher = Fetcher(options.fetch_settings(), pool_size=max(64, options.workers))
    recorder = Recorder(summary, report)
    stop = lease.cancel_flag()
    pending: dict[Future, tuple[str, list[Target]]] = {}
    window = max(2 * options.workers, 8)
    queue = iter(groups)
    cpu_slots = threading.BoundedSemaphore(options.decoders or os.cpu_count() or 2)
    try:
        with ThreadPoolExecutor(options.workers, thread_name_prefix="download") as pool:
            while True:
                if stop():  # cancelled, or another run took over: its rows are its own now
                    summary.stopped = True
                    for future in pending:
                        future.cancel()
                    break
                if len(pending) <= window // 2:
                    submit_more(pool, queue, pending, window, fetcher, options, cpu_slots)
                if not pending:
                    break
                done, _ = wait(pending, timeout=1.0, return_when=FIRST_COMPLETED)
                for future in done:
                    url, targets = pending.pop(future)
                    recorder.add(outcomes_of(future, targets), url, targets)
                recorder.tick(time.monotonic() - started)
    except BaseException:
        for future in pending:
            future.cancel()
        raise
    finally:
        recorder.flush(time.monotonic() - started)
        # Anything still claimed (an error, Ctrl-C, a cancel) goes back to pending at once; but not by a
        # run that was taken over: those rows belong to the run that took them.
        taken_over = not DownloadRun.objects.filter(lease.held()).exists()
        leftover = [] if taken_over else [t.id for _, targets in pending.values() for t in targets]
        for start in range(0, len(leftover), 900):
            ImageRecord.objects.filter(id__in=leftover[start:start + 900],
                                       status=ImageRecord.Status.DOWNLOADING).update(status=ImageRecord.Status.PENDING)
        fetcher.close()


def submit_more(pool, queue, pending: dict, window: int, fetcher: Fetcher, options: DownloadOptions,
                cpu_slots: threading.Semaphore) -> None:
    batch = []
    for url, targets in queue:
        batch.append((url, targets))
        if len(pending) + len(batch) >= window:
            break
    if not batch:
        return
    ids = [t.id for _, targets in batch for t in targets]
    for start in range(0, len(ids), 900):
        ImageRecord.objects.filter(id__in=ids[start:start + 900]).update(status=ImageRecord.Status.DOWNLOADING)
    for url, targets in batch:
        future = pool.submit(safe_download, fetcher, url, targets, options.max_pixels, cpu_slots)
        pending[future] = (url, targets)


def safe_download(fetcher: Fetcher, url: str, targets: list[Target], max_pixels: int,
                  cpu_slots: threading.Semaphore) -> list[Outcome]:
    """A bug in one URL's handling must not stop the run: it becomes that URL's failure."""
    try:
        return download_url(fetcher, url, targets, max_pixels, cpu_slots)
    except Exception as exc:
        return [Outcome(t.id, False, {"failure_reason": "internal-error", "failure_detail": short(exc, 2000)})
                for t in targets]


def outcomes_of(future: Future, targets: list[Target]) -> list[Outcome]:
    try:
        return future.result()
    except Exception as exc:
        return [Outcome(t.id, False, {"failure_reason": "internal-error", "failure_detail": short(exc)})
                for t in targets]


class Recorder:
    """Writes outcomes to the database in batches and reports after each (the report keeps the heartbeat)."""

    def __init__(self, summary: DownloadSummary, report: ProgressFn):
        self.summary, self.report = summary, report
        self.buffer: list[dict] = []
        self.last_flush = time.monotonic()

    def add(self, outcomes: list[Outcome], url: str, targets: list[Target]) -> None:
        now = timezone.now()
        by_id = {t.id: t for t in targets}
        for outcome in outcomes:
            status = ImageRecord.Status.OK if outcome.ok else ImageRecord.Status.FAILED
            target = by_id[outcome.id]
            expected = dict(zip(FETCHED_FOR, (url, target.label, *target.box)))
            self.buffer.append({**BLANK_DOWNLOAD, **outcome.fields, "id": outcome.id, "status": status,
                                "fetched_at": now, "expected": expected})
            if outcome.ok:
                self.summary.ok += 1
                self.summary.bytes += outcome.fields.get("bytes") or 0
            else:
                self.summary.failed += 1
                self.summary.failures_by_reason[outcome.fields["failure_reason"]] += 1

    def tick(self, elapsed: float) -> None:
        now = time.monotonic()
        if len(self.buffer) >= FLUSH_ROWS or now - self.last_flush >= FLUSH_EVERY_S:
            self.flush(elapsed)

    def flush(self, elapsed: float) -> None:
        if self.buffer:
            written = fast_update(ImageRecord, self.buffer, DOWNLOAD_FIELDS, expect=FETCHED_FOR)
            if written < len(self.buffer):
                self.drop_stale(self.buffer)
            self.buffer = []
        self.last_flush = time.monotonic()
        self.summary.elapsed_s = elapsed
        self.report(self.summary)

    def drop_stale(self, results: list[dict]) -> None:
        """Results the compare-and-set refused (their row changed meanwhile): not counted, their
        crops deleted (the path is the row's own, label/no, and the row no longer names it), and
        rows this run claimed go back to pending for the next run."""
        current: dict[int, tuple] = {}
        ids = [result["id"] for result in results]
        for start in range(0, len(ids), 900):
            rows = ImageRecord.objects.filter(id__in=ids[start:start + 900]).values_list("id", *FETCHED_FOR)
            current.update((row[0], row[1:]) for row in rows)
        stale = [r for r in results if current.get(r["id"]) != tuple(r["expected"][name] for name in FETCHED_FOR)]
        for result in stale:
            self.summary.stale += 1
            if result["status"] == ImageRecord.Status.OK:
                self.summary.ok -= 1
                self.summary.bytes -= result.get("bytes") or 0
                (Path(settings.MEDIA_ROOT) / result["file"]).unlink(missing_ok=True)
            else:
                self.summary.failed -= 1
                reasons = self.summary.failures_by_reason
                reasons[result["failure_reason"]] -= 1
                if not reasons[result["failure_reason"]]:
                    del reasons[result["failure_reason"]]
        stale_ids = [result["id"] for result in stale]
        for start in range(0, len(stale_ids), 900):
            ImageRecord.objects.filter(id__in=stale_ids[start:start + 900], status=ImageRecord.Status.DOWNLOADING
                                       ).update(status=ImageRecord.Status.PENDING)
