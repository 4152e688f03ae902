"""The real test data beside the repository (../shared/data), or a clear skip where it is absent.

On a developer's clone without ../shared/data the tests that need it skip with one line saying where the
data goes; under CI=true its absence fails them, because CI must test on the real data.
"""
from __future__ import annotations

import os
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = REPO.parent / "shared" / "data"


def in_ci() -> bool:
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def require(path: Path, what: str) -> Path:
    """`path` if it exists; else skip (fail under CI) naming where the data goes."""
    if not path.exists():
        message = (f"{what} not found at {path}: put the project's shared data at {SHARED_DATA} "
                   "(manifests/CAN2000.csv, lesions/melanoma, lesions/nevus)")
        if in_ci():
            pytest.fail(message)
        pytest.skip(message)
    return path
