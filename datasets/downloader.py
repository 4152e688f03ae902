"""The download service: fetch and crop a dataset's pending rows, concurrently and resumably.

Worker threads fetch, decode, crop and write files (datasets.download, no Django); only this
thread touches the database, recording results in batches. A run is a DownloadRun row with the
job lifecycle of every job (cansite.status.JobRecord): a second run does not start beside a live
one, `force` takes a run over, and a run taken over (or cancelled) stops and writes nothing more
on the lease. Rows left "downloading" by a killed run go back to pending when the next run starts,
and its temporary files are removed.
"""

from __future__ import annotations

import hashlib
import math
import os
import re
import threading
import time
import uuid
from collections import Counter, OrderedDict, defaultdict
from collections.abc import Callable
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import asdict, dataclass, field
from itertools import zip_longest
from pathlib import Path
from urllib.parse import urlsplit

from django.conf import settings
from django.db import IntegrityError, transaction
from django.utils import timezone

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
    summary = DownloadSummary(dataset=dataset.name, dry_run=dry_run)
    if dry_run:
        plan(dataset, options, summary)
        return summary
    lease = claim(dataset, options, force=force, job_id=job_id or f"download-{uuid.uuid4()}")
    try:
        summary.recovered = dataset.images.filter(status=ImageRecord.Status.DOWNLOADING).update(
            status=ImageRecord.Status.PENDING)
        summary.temp_files_removed = remove_stale_temp_files(dataset_dir(dataset))
        groups = plan(dataset, options, summary)
        run(dataset, groups, options, summary, progress, lease)
    except BaseException as exc:  # Ctrl-C too: the lease is never left running for a live-looking owner
        lease.fail(exc)
        raise
    lease.finish(JobStatus.CANCELLED if summary.stopped else JobStatus.DONE, summary=summary_dict(summary))
    return summary


def summary_dict(summary: DownloadSummary) -> dict:
    return {**asdict(summary), "failures_by_reason": dict(summary.failures_by_reason)}


def claim(dataset: Dataset, options: DownloadOptions, *, force: bool, job_id: str) -> DownloadRun:
    """A DownloadRun holding the dataset for this run. A live run keeps the dataset unless `force`;
    a run whose holder is gone (or a forced one) is stopped first, by a compare-and-set on its holder."""
    current = dataset.running_download()
    # The same job id: RQ retrying a job whose work-horse died; it takes its own run back.
    if current is not None and not (force or current.is_stale() or current.job_id == job_id):
        raise DownloadBusy(f"another download of {dataset.name} is running ({current.owner}, last heartbeat "
                           f"{current.heartbeat:%H:%M:%S}); wait for it or pass --force")
    if current is not None and not current.stop(f"taken over by {this_owner()}"):
        raise DownloadBusy(f"another download of {dataset.name} started just now")
    try:
        with transaction.atomic():  # the constraint allows one running row per dataset: two claimers, one wins
            lease = DownloadRun.objects.create(dataset=dataset, job_id=job_id, options=asdict(options))
            if not DownloadRun.claim(lease.pk, job_id):
                raise IntegrityError("claimed by another")
    except IntegrityError:
        raise DownloadBusy(f"another download of {dataset.name} started just now") from None
    lease.refresh_from_db()
    return lease


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
        progress: ProgressFn | None, lease: DownloadRun) -> None:
    started = time.monotonic()
    limit_malloc_arenas()
    fetcher = Fetcher(options.fetch_settings(), pool_size=max(64, options.workers))
    recorder = Recorder(dataset, summary, progress, lease)
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
    """Writes outcomes to the database in batches and keeps the dataset's heartbeat fresh."""

    def __init__(self, dataset: Dataset, summary: DownloadSummary, progress: ProgressFn | None,
                 lease: DownloadRun):
        self.dataset, self.summary, self.progress, self.lease = dataset, summary, progress, lease
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
        self.lease.beat()  # at most once per BEAT_EVERY_S, and only while this run holds the lease

    def flush(self, elapsed: float) -> None:
        if self.buffer:
            written = fast_update(ImageRecord, self.buffer, DOWNLOAD_FIELDS, expect=FETCHED_FOR)
            if written < len(self.buffer):
                self.drop_stale(self.buffer)
            self.buffer = []
        self.last_flush = time.monotonic()
        self.summary.elapsed_s = elapsed
        if self.progress:
            self.progress(self.summary)



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
