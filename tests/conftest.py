"""Fixtures shared by the whole suite: real-data paths, a private MEDIA_ROOT, the real Redis."""
from __future__ import annotations

import os
from pathlib import Path

import pytest

from tests.shared_data import REPO, SHARED_DATA, in_ci, require


def shared_path(*parts: str) -> Path:
    """A file under ../shared/data: a skip on a developer's clone without it, a failure under CI=true."""
    return require(SHARED_DATA.joinpath(*parts), "real test data")


@pytest.fixture(autouse=True)
def empty_cache():
    """Pages are cached (seed pages for a minute) in a cache that outlives a test: each test starts with an
    empty one, so no test is served another test's pages."""
    from django.core.cache import cache

    cache.clear()


@pytest.fixture
def dataset(tmp_path, media_root):
    """'lesions': a folder dataset of 8 painted melanoma and 8 nevus images, imported (for GAN runs)."""
    from datasets.models import Dataset
    from datasets.services import import_folder
    from tests.generator.factory import make_lesion_folder

    import_folder(path=make_lesion_folder(tmp_path / "lesions"), name="lesions")
    return Dataset.objects.get(name="lesions")


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
    except Exception as exc:
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
    # The browser tests' permission to use the ORM beside Playwright's event loop stays in this process.
    env = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    return {**env, "DATABASE_URL": database_url(), "MEDIA_ROOT": str(media_root), **extra}


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


@pytest.fixture(scope="session")
def browser():
    """Headless Debian Chromium through Playwright. Missing: a failure under CI=true, a skip elsewhere."""
    from tests.browser import chromium_missing, launch

    reason = chromium_missing()
    if reason:
        if in_ci():
            pytest.fail(reason)
        pytest.skip(reason)
    with launch() as browser:
        yield browser
