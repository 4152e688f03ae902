"""The life of anything run as a job (a GAN training run, a CNN experiment, a seed publication, a
generation, a dataset download): one home for claiming it, keeping its heartbeat, telling a dead
holder from a live one, cancelling it, and recording how it ended. The driver that strings these
together for a job is cansite.jobs.drive:

    if not TrainingRun.claim(run_id, job_id):      # someone else holds it: this copy of the job stops
        return "skipped"
    run = TrainingRun.objects.get(id=run_id)
    try:
        work(progress_fn=..., beat=run.beat, abort_fn=run.cancel_flag())
    except Exception as exc:
        run.fail(exc)                               # visitors see `error`; staff also `error_detail`
        raise
    run.finish(JobStatus.DONE)

A holder is gone when its process is dead on this machine (seen at once: `kill -9` frees the row) or
when its heartbeat is older than STALE_AFTER (a holder on another machine). Long phases call `beat()`
per item; it writes at most once every BEAT_EVERY_S, so it is cheap to call often.
"""
from __future__ import annotations

import os
import socket
import time
import traceback
from collections.abc import Callable
from datetime import timedelta

from django.db import models
from django.db.models import Q
from django.utils import timezone

from cansite.visibility import public_text

STALE_AFTER = timedelta(minutes=5)  # silent this long: the holder (on another machine) is gone
BEAT_EVERY_S = 10.0
CANCEL_POLL_S = 1.0
REASON_MAX = 300


def this_owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"


def process_is_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # alive, under another user
    return True


def owner_is_dead(owner: str) -> bool:
    """True only when the owner ("host:pid") is a process of this machine that no longer exists."""
    host, _, pid = owner.rpartition(":")
    return host == socket.gethostname() and pid.isascii() and pid.isdigit() and not process_is_alive(int(pid))


def public_reason(exc: BaseException) -> str:
    """One short line about a failure that is safe to show anyone: the exception's class and its
    message, cut by the site's one rule for visitors (cansite.visibility: no server folders)."""
    message = str(exc).strip()
    return public_text(f"{type(exc).__name__}: {message}" if message else type(exc).__name__, REASON_MAX)


def throttled(check: Callable[[], bool], every_s: float = CANCEL_POLL_S,
              clock: Callable[[], float] = time.monotonic) -> Callable[[], bool]:
    """An abort_fn for a loop: asks `check` (a database read) at most once per `every_s` of `clock`,
    because the loop polls it every step. Tests pass their own clock instead of sleeping."""
    state = {"at": float("-inf"), "value": False}

    def poll() -> bool:
        if clock() - state["at"] >= every_s:
            state["at"], state["value"] = clock(), check()
        return state["value"]

    return poll


class JobStatus(models.TextChoices):
    QUEUED = "queued", "Queued"
    RUNNING = "running", "Running"
    DONE = "done", "Done"
    FAILED = "failed", "Failed"
    CANCELLED = "cancelled", "Cancelled"


class JobRecord(models.Model):
    """A row worked on by a job: who holds it, its heartbeat, cancel flag, times and how it ended."""

    Status = JobStatus

    status = models.CharField(max_length=16, choices=JobStatus.choices, default=JobStatus.QUEUED)
    job_id = models.CharField(max_length=64, blank=True)
    owner = models.CharField(max_length=128, blank=True, help_text="host:pid of the process working on it.")
    error = models.TextField(blank=True, help_text="Why it failed, in one line safe for visitors.")
    error_detail = models.TextField(blank=True, help_text="The traceback, for staff only.")
    cancel_requested = models.BooleanField(default=False)
    heartbeat = models.DateTimeField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        abstract = True

    @property
    def is_active(self) -> bool:
        return self.status in (JobStatus.QUEUED, JobStatus.RUNNING)

    def is_stale(self, after: timedelta = STALE_AFTER) -> bool:
        """Running, but its holder is gone: dead on this machine, or silent for `after`."""
        if self.status != JobStatus.RUNNING:
            return False
        if owner_is_dead(self.owner):
            return True
        return self.heartbeat is None or timezone.now() - self.heartbeat > after

    @classmethod
    def claim(cls, pk: int, job_id: str, *, also: Q | None = None) -> bool:
        """Take the row for this job (jobs may run twice). Takeable: a queued row (or one matching
        `also`), a running row this same job id held before its worker died (RQ retried it), or a
        running row whose holder is gone. Two claimers never both win: each is one conditional UPDATE."""
        now = timezone.now()
        taken = {"status": JobStatus.RUNNING, "job_id": job_id, "owner": this_owner(), "heartbeat": now,
                 "started_at": now, "finished_at": None, "error": "", "error_detail": ""}
        takeable = Q(status=JobStatus.QUEUED) | (Q(status=JobStatus.RUNNING, job_id=job_id) & ~Q(job_id=""))
        if also is not None:
            takeable |= also
        if cls.objects.filter(takeable, pk=pk).update(**taken):
            return True
        row = cls.objects.filter(pk=pk, status=JobStatus.RUNNING).first()
        if row is None or not row.is_stale():
            return False
        # Compare-and-set on the holder we judged gone: a second taker racing us changes it first.
        seen = {"heartbeat": row.heartbeat, "owner": row.owner, "job_id": row.job_id}
        return bool(cls.objects.filter(pk=pk, status=JobStatus.RUNNING, **seen).update(**taken))

    def beat(self, *_args, force: bool = False) -> None:
        """Refresh the heartbeat, at most once per BEAT_EVERY_S. Takes and ignores a progress argument,
        so that it can be passed as a phase's progress callback."""
        now = time.monotonic()
        if not force and now - getattr(self, "_last_beat", float("-inf")) < BEAT_EVERY_S:
            return
        self._last_beat = now
        self.heartbeat = timezone.now()
        type(self).objects.filter(self.held()).update(heartbeat=self.heartbeat)

    def held(self) -> Q:
        """This row while this holder (process and job) still holds it: every write of a holder goes
        through it, so that a holder whose row was taken over never touches the new holder's state."""
        return Q(pk=self.pk, status=JobStatus.RUNNING, owner=self.owner, job_id=self.job_id)

    def cancel_flag(self, clock: Callable[[], float] = time.monotonic) -> Callable[[], bool]:
        """An abort_fn: true once a cancel is asked for, or once another holder took the row over
        (this one was judged dead), so that two processes never work on one row."""
        mine = self.held() & Q(cancel_requested=False)
        return throttled(lambda: not type(self).objects.filter(mine).exists(), clock=clock)

    def request_cancel(self) -> bool:
        """A queued row is cancelled at once, and so is a running one whose holder is gone; a live one
        is asked to stop at its next step (and keeps what it saved)."""
        cls, now = type(self), timezone.now()
        stopped = {"status": JobStatus.CANCELLED, "cancel_requested": True, "finished_at": now}
        if cls.objects.filter(pk=self.pk, status=JobStatus.QUEUED).update(**stopped):
            return True
        if self.is_stale() and self.stop():
            return True
        return bool(cls.objects.filter(pk=self.pk, status=JobStatus.RUNNING).update(cancel_requested=True))

    def stop(self, reason: str = "") -> bool:
        """Cancel the running row at once, live holder or not, if it is still held as this copy of it
        was read (compare-and-set: a holder that beat or changed meanwhile keeps it). Its holder sees
        its cancel flag and stops; its writes no longer land (see held())."""
        seen = {"owner": self.owner, "job_id": self.job_id, "heartbeat": self.heartbeat}
        return bool(type(self).objects.filter(pk=self.pk, status=JobStatus.RUNNING, **seen).update(
            status=JobStatus.CANCELLED, cancel_requested=True, finished_at=timezone.now(), error=reason))

    def finish(self, status: str, **fields) -> bool:
        """Record how the work ended (done or cancelled), with any other fields to set with it; only
        while this holder still holds the row (false when another took it over meanwhile)."""
        fields = {"status": status, "finished_at": timezone.now(), **fields}
        if not type(self).objects.filter(self.held()).update(**fields):
            return False
        for name, value in fields.items():
            setattr(self, name, value)
        return True

    def fail(self, exc: BaseException) -> bool:
        """Record a failure: one safe line for everyone, the traceback for staff. Call it from an
        `except` block (it reads the exception being handled)."""
        return self.finish(JobStatus.FAILED, error=public_reason(exc), error_detail=traceback.format_exc())

    def requeue(self) -> None:
        """Back in the queue (to continue a stopped run): not cancelled, no error, no holder."""
        self.status, self.cancel_requested, self.finished_at = JobStatus.QUEUED, False, None
        self.error = self.error_detail = self.owner = ""
