"""Putting jobs on the RQ queues, or running them in-process when no Redis is configured.

Jobs are enqueued after the current transaction commits, so a worker never looks for a row
that is not there yet. The job id is chosen here and returned at once, for the caller to store.
"""

from __future__ import annotations

import uuid
from collections.abc import Callable

import django_rq
from django.conf import settings
from django.db import transaction

_connections: dict[str, object] = {}


def _connection(url: str):
    """One client per Redis URL; for no URL a process-wide fake Redis (RQ's synchronous mode)."""
    if url not in _connections:
        if url:
            import redis

            _connections[url] = redis.Redis.from_url(url)
        else:
            import fakeredis

            _connections[url] = fakeredis.FakeStrictRedis()
    return _connections[url]


def runs_here(now: bool = False) -> bool:
    """Whether a command runs its job in this process: asked to (--now), or no Redis to queue on."""
    return now or not settings.REDIS_URL


def get_queue(name: str = "default"):
    """The queue `name` on the REDIS_URL server (read at call time), or the in-process one without it."""
    url = settings.REDIS_URL
    return django_rq.get_queue(name, connection=_connection(url), is_async=bool(url))


def enqueue(func: Callable, *args, queue: str = "default", job_timeout: int | None = None, **kwargs) -> str:
    """Enqueue `func(*args, **kwargs)` once the transaction commits; returns the job id."""
    job_id = str(uuid.uuid4())

    def send() -> None:
        get_queue(queue).enqueue(func, *args, job_id=job_id, job_timeout=job_timeout, **kwargs)

    transaction.on_commit(send)
    return job_id
