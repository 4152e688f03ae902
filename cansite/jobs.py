"""The one driver of every job (a GAN run, a CNN experiment, a seed publication, a generation, a
dataset download): how it is queued or run here, how it is claimed, run, failed or finished, and
how its progress is kept.

    def train_run(*, run_id, job_id="", job=None) -> str:      # <app>/services.py
        return drive(TrainingRun, run_id, job_id, lambda run: train(...), related=("dataset",))

    TRAIN = JobKind(jobs.train_gan, timeout_s=14 * 24 * 3600)    # <app>/jobs.py
    TRAIN.submit(run, now=opts["now"], here=lambda: ...)        # a command: queue it, or run it here

The rules themselves (claim, heartbeat, cancel, staleness) live on the row: cansite.status.JobRecord.
"""
from __future__ import annotations

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import TypeVar

from django.db import transaction
from django.db.models import Q
from rq import Retry

from cansite.queues import enqueue, runs_here
from cansite.status import JobRecord, JobStatus

Row = TypeVar("Row", bound=JobRecord)

# A worker killed mid-job: RQ notices the abandoned job and retries it, and the job resumes from
# what it saved (a checkpoint, the images already written).
RETRY_INTERVALS_S = [60, 300, 900]


def retry() -> Retry:
    return Retry(max=len(RETRY_INTERVALS_S), interval=RETRY_INTERVALS_S)


class JobCancelled(Exception):
    """Raised inside a job's work when its cancel flag is up (for work that has no abort_fn of its own)."""


def drive(model: type[Row], pk: int, job_id: str, work: Callable[[Row], bool], *, also: Q | None = None,
          related: Iterable[str] = (), stopped: tuple[type[BaseException], ...] = (),
          ended: dict | None = None) -> str:
    """Claim the row, load it, run `work(row)` (true: finished, false: stopped at a cancel), and record
    how it ended: "done", "cancelled", or failed (the exception is recorded on the row and re-raised).
    Returns "skipped" when another holder has the row. `stopped` exceptions mean a cancel too;
    `ended` are fields set with the final status. Ctrl-C in a command's --now run is recorded as a
    failure too (an RQ work-horse ignores SIGINT, so a queued job never sees it)."""
    if not model.claim(pk, job_id, also=also):
        return "skipped"
    row = model.objects.select_related(*related).get(pk=pk)
    try:
        finished = work(row)
    except stopped:
        finished = False
    except (Exception, KeyboardInterrupt) as exc:
        row.fail(exc)
        raise
    status = JobStatus.DONE if finished else JobStatus.CANCELLED
    row.finish(status, **(ended or {}))
    return str(status)


@dataclass(frozen=True)
class JobKind:
    """One kind of job: its function (which takes the row's id), queue, timeout and retry."""

    func: Callable[[int], object]
    queue: str = "gpu"
    timeout_s: int = 24 * 3600  # explicit: RQ's default of 180 s kills long work
    retries: bool = True

    def enqueue(self, row: JobRecord) -> str:
        """Queue the job for `row` once the transaction commits; stores and returns the job id."""
        with transaction.atomic():  # the id is on the row before a worker can see the job
            row.job_id = enqueue(self.func, row.pk, queue=self.queue, job_timeout=self.timeout_s,
                                 retry=retry() if self.retries else None)
            type(row).objects.filter(pk=row.pk).update(job_id=row.job_id)
        return row.job_id

    def submit(self, row: JobRecord, *, now: bool, here: Callable[[], object]) -> str | None:
        """The one choice of every command: run `here()` in this process (with --now, or without
        Redis) and return None, or queue the job and return its id."""
        if runs_here(now):
            here()
            return None
        return self.enqueue(row)


class ProgressWriter:
    """The progress_fn of a job's work: copies `fields` of a report onto the row (at most once per
    `every_s`, and only for reports `records` accepts), the `meta` keys into the RQ job's meta, and
    keeps the heartbeat on every call, so that long phases without reports still look alive. `also`
    gets every report too (a command's progress bar): what it shows is what the row shows."""

    fields: tuple[str, ...] = ()
    meta: tuple[str, ...] = ()
    every_s = 0.0

    def __init__(self, row: JobRecord, job=None, clock: Callable[[], float] = time.monotonic,
                 also: Callable[[dict], object] | None = None):
        self.row, self.job, self.clock, self.also, self.last = row, job, clock, also, float("-inf")

    def records(self, info: dict) -> bool:
        return True

    def extra(self, info: dict) -> dict:
        """More fields to write with this report (a subclass's own bookkeeping)."""
        return {}

    def __call__(self, info: dict) -> None:
        self.write(info)
        if self.also is not None:
            self.also(info)

    def write(self, info: dict) -> None:
        if not self.records(info) or self.clock() - self.last < self.every_s:
            self.row.beat()
            return
        self.last = self.clock()
        values = {name: info.get(name) for name in self.fields}
        values.update(self.extra(info))
        for name, value in values.items():
            setattr(self.row, name, value)
        if values:  # only while still held: a holder taken over writes nothing on the new one's row
            type(self.row).objects.filter(self.row.held()).update(**values)
        self.row.beat(force=True)
        if self.job is not None:
            self.job.meta["progress"] = {key: info.get(key) for key in self.meta}
            self.job.save_meta()


class CountProgress(ProgressWriter):
    """The progress of work counted in items (a generation's or a publication's images): {"done",
    "total"} on the row and in the RQ job's meta, so that run pages and the admin read one shape."""

    fields = ("done", "total")
    meta = ("done", "total")
