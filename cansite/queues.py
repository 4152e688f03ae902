"""Putting jobs on the RQ queues, or running them in-process when no Redis is configured.

Jobs are enqueued after the current transaction commits, so a worker never looks for a row
that is not there yet. The job id is chosen here and returned at once, for the caller to store.
"""

from __future__ import annotations

import time
import uuid
from typing import Callable

import django_rq
from django.conf import settings
from django.db import transaction

_fake_connection = None


def _connection():
    """None (django-rq's own) with Redis; a process-wide fake Redis for the synchronous mode."""
    global _fake_connection
    if settings.REDIS_URL:
        return None
    if _fake_connection is None:
        import fakeredis

        _fake_connection = fakeredis.FakeStrictRedis()
    return _fake_connection


def get_queue(name: str = "default"):
    return django_rq.get_queue(name, connection=_connection())


def enqueue(func: Callable, *args, queue: str = "default", job_timeout: int | None = None, **kwargs) -> str:
    """Enqueue `func(*args, **kwargs)` once the transaction commits; returns the job id."""
    job_id = str(uuid.uuid4())

    def send() -> None:
        get_queue(queue).enqueue(func, *args, job_id=job_id, job_timeout=job_timeout, **kwargs)

    transaction.on_commit(send)
    return job_id


def throttled(check: Callable[[], bool], every_s: float = 1.0) -> Callable[[], bool]:
    """An abort_fn for a training loop: asks `check` (a database read) at most once per `every_s`,
    because the loop polls it every step."""
    state = {"at": float("-inf"), "value": False}

    def poll() -> bool:
        if time.monotonic() - state["at"] >= every_s:
            state["at"], state["value"] = time.monotonic(), check()
        return state["value"]

    return poll
