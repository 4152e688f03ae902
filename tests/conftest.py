"""Fixtures shared by the whole suite: real-data paths, a private MEDIA_ROOT, the real Redis."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data; its absence is an error, not a skip: the real data is required."""
    path = SHARED_DATA.joinpath(*parts)
    if not path.exists():
        pytest.fail(f"real test data missing: {path} (the repo expects ../shared/data beside it)")
    return path


@pytest.fixture
def media_root(tmp_path, settings) -> Path:
    root = tmp_path / "media"
    root.mkdir()
    settings.MEDIA_ROOT = root
    return root


@pytest.fixture
def redis_url() -> str:
    """The real Redis. Missing: a failure under CI=true, a skip on a developer's machine."""
    import redis

    url = os.environ.get("REDIS_TEST_URL", "redis://127.0.0.1:6379/15")
    try:
        redis.Redis.from_url(url, socket_connect_timeout=2).ping()
    except Exception as exc:  # noqa: BLE001 - any failure means "not reachable"
        message = f"Redis at {url} is not reachable: {exc}"
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return url


def database_url() -> str:
    """The test database as a URL, for the commands and workers a test starts in subprocesses."""
    from django.db import connection

    s = connection.settings_dict
    if connection.vendor == "sqlite":
        return f"sqlite:///{s['NAME']}"
    return f"postgres://{s['USER'] or ''}@{s['HOST'] or '127.0.0.1'}:{s['PORT'] or 5432}/{s['NAME']}"


def subprocess_env(media_root: Path, **extra: str) -> dict:
    return {**os.environ, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(media_root), **extra}


def real_queue(name: str, redis_url: str):
    """An empty queue on the real Redis."""
    import django_rq
    import redis

    queue = django_rq.get_queue(name, connection=redis.Redis.from_url(redis_url), is_async=True)
    queue.empty()
    return queue


def run_burst_worker(queue: str, media_root: Path, redis_url: str, timeout: float = 600):
    """`manage.py rqworker QUEUE --burst` against the test database; fails the test if it fails."""
    import subprocess
    import sys

    worker = subprocess.run([sys.executable, "manage.py", "rqworker", queue, "--burst"], cwd=REPO,
                            env=subprocess_env(media_root, REDIS_URL=redis_url), capture_output=True, text=True,
                            timeout=timeout)
    assert worker.returncode == 0, worker.stderr
    return worker
