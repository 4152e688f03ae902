"""Shared fixtures for tests/cnn: the MED-NODE lesion photos, split once per session.

The photos live outside the repository (``../shared/data/lesions`` from the repo root,
or ``$CANSITE_LESIONS_DIR``) and are never copied in: the split is made of symlinks in
a temporary folder. Decoded images go to one session-wide cache so that only the first
test pays for decoding.
"""

import os
from pathlib import Path

import pytest
import torch

from classifier.cnn.data import scan_dirs, stratified_split
from tests.shared_data import require

REPO = Path(__file__).resolve().parents[2]
LESIONS = Path(os.environ.get("CANSITE_LESIONS_DIR", REPO / ".." / "shared" / "data" / "lesions")).resolve()


@pytest.fixture(scope="session", autouse=True)
def one_torch_thread():
    """Run the tiny CPU models on one thread.

    On a 2-core machine shared with other jobs, two intra-op threads spend most of their
    time waiting for each other at every small operator: measured here, the folder took
    150 s with two threads and 20 s with one. Results do not depend on it.
    """
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


def link_items(items, root: Path) -> Path:
    """Make ROOT/<melanoma|nevus>/<name> symlinks to the given (path, label) items."""
    for path, label in items:
        folder = root / ("melanoma" if label == 1 else "nevus")
        folder.mkdir(parents=True, exist_ok=True)
        (folder / Path(path).name).symlink_to(path)
    return root


@pytest.fixture(scope="session")
def lesions_dir() -> Path:
    for label in ("melanoma", "nevus"):
        require(LESIONS / label, "MED-NODE lesion photos (or set CANSITE_LESIONS_DIR)")
    return LESIONS


@pytest.fixture(scope="session")
def lesion_split(lesions_dir, tmp_path_factory) -> tuple[Path, Path]:
    """(train_dir, test_dir): a stratified 70/30 split of the 170 photos."""
    train, test = stratified_split(scan_dirs(lesions_dir), 0.3, seed=0)
    root = tmp_path_factory.mktemp("lesions")
    return link_items(train, root / "train"), link_items(test, root / "test")


@pytest.fixture(scope="session")
def small_train_dir(lesion_split, tmp_path_factory) -> Path:
    """12 melanoma + 12 nevus photos from the training split, for the quicker runs."""
    items = scan_dirs(lesion_split[0])
    small = [it for it in items if it[1] == 1][:12] + [it for it in items if it[1] == 0][:12]
    return link_items(small, tmp_path_factory.mktemp("small") / "train")


@pytest.fixture(scope="session")
def shared_cache(tmp_path_factory) -> Path:
    return tmp_path_factory.mktemp("image-cache")
