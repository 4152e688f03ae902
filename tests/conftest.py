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
