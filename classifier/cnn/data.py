"""Lesion image folders, a decode-once cache, and the training data pipeline.

A dataset is a folder ``DIR/<label>/<image>``. Folder names are normalised by
``common.labels`` (``melanoma``, ``Malignant_Melanoma_2019`` -> melanoma = 1; ``nevus``, ``naevus``,
``melanocytic_nevus`` -> nevus = 0); other folders are ignored with a warning.
Several folders may be combined into one training set (a union).

Images are decoded and resized once, to ``size x size`` (resized, not cropped, as the
paper did), into an on-disk cache of uint8 ``.npy`` files keyed by path, size, mtime
and byte size, written atomically (``common.files``) so parallel workers and
repeated runs can share it. Later epochs read ~150 kB per image instead of decoding a
multi-megapixel JPEG, so they are not decode-bound.

Augmentation works on uint8 tensors: the reference recipe is random horizontal and
vertical flips; the "strong" recipe adds rotation, scale and colour jitter, and
``make_loader(balanced=True)`` draws both classes equally often (its cosine schedule
lives in train.py). Normalisation happens on the device, batched (``models.Normalize``).
"""

from __future__ import annotations

import hashlib
import logging
import os
import random
from collections import Counter
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset, WeightedRandomSampler
from torchvision.transforms import v2

from common.files import atomic_writer
from common.images import is_image_name
from common.labels import class_index

log = logging.getLogger(__name__)



def scan_dirs(dirs) -> list[tuple[str, int]]:
    """All (path, label) pairs under one or more ``DIR/<label>/`` folders, sorted."""
    dirs = [dirs] if isinstance(dirs, (str, Path)) else list(dirs)
    found: dict[str, int] = {}
    for root in map(Path, dirs):
        if not root.is_dir():
            raise FileNotFoundError(f"image folder {root} does not exist")
        for sub in sorted(p for p in root.iterdir() if p.is_dir()):
            label = class_index(sub.name)
            if label is None:
                log.warning("ignoring folder %s: not a melanoma or nevus folder", sub)
                continue
            for f in sorted(sub.rglob("*")):
                if is_image_name(f) and f.is_file():
                    found[str(f.resolve())] = label  # one entry per file, even if listed twice
    if not found:
        raise ValueError(f"no melanoma/nevus images under {', '.join(map(str, dirs))}")
    return sorted(found.items())


def stratified_split(items, fraction: float, seed: int):
    """Split items into (rest, held_out) with ``fraction`` of each class held out."""
    rng = random.Random(seed)
    rest, held = [], []
    for label in (0, 1):
        group = [it for it in items if it[1] == label]
        rng.shuffle(group)
        k = round(len(group) * fraction)
        held += group[:k]
        rest += group[k:]
    return sorted(rest), sorted(held)


def decode_resized(path: str, size: int) -> np.ndarray:
    """Decode an image to RGB and resize it (not crop) to size x size: HWC uint8."""
    with Image.open(path) as src:
        im = src.convert("RGB").resize((size, size), Image.Resampling.BILINEAR)
        return np.asarray(im, dtype=np.uint8).copy()


class ImageCache:
    """Decoded, resized images on disk; ``root=None`` keeps nothing (decode each time)."""

    def __init__(self, root: str | Path | None, size: int):
        self.size = size
        self.dir = Path(root) / f"{size}px" if root else None
        self.decodes = 0  # images decoded by this process: lets tests see cache hits

    def file_for(self, path: str) -> Path:
        st = os.stat(path)
        key = f"{Path(path).resolve()}|{self.size}|{st.st_mtime_ns}|{st.st_size}"
        digest = hashlib.sha1(key.encode()).hexdigest()
        assert self.dir is not None, "file_for needs a cache folder (root=None keeps nothing)"
        return self.dir / digest[:2] / f"{digest}.npy"

    def get(self, path: str) -> np.ndarray:
        if self.dir is None:
            self.decodes += 1
            return decode_resized(path, self.size)
        file = self.file_for(path)
        try:
            return np.load(file)
        except (FileNotFoundError, ValueError, EOFError):  # absent, or damaged by hand
            pass
        arr = decode_resized(path, self.size)
        self.decodes += 1
        with atomic_writer(file) as f:  # a parallel reader sees the whole array or none
            np.save(f, arr)
        return arr

    def warm(self, paths, workers: int = 0, progress_fn=None) -> tuple[list[str], int]:
        """Decode every uncached image now; return (unreadable paths, decoded count).
        ``progress_fn({"phase": "cache", "done": i, "images": n})`` after each image (a caller's
        heartbeat: decoding a large set takes minutes)."""
        paths = list(paths)
        loader = DataLoader(_WarmList(self, paths), batch_size=None, num_workers=workers)
        bad, decoded = [], 0
        for done, (path, ok, n) in enumerate(loader, 1):
            decoded += n
            if not ok:
                bad.append(path)
            if progress_fn:
                progress_fn({"phase": "cache", "done": done, "images": len(paths)})
        if self.dir is None:
            decoded = 0  # nothing was kept; later reads decode again
        return bad, decoded


class _WarmList(Dataset):
    """Items for ``ImageCache.warm``: decoding errors are reported, not raised."""

    def __init__(self, cache: ImageCache, paths: list[str]):
        self.cache, self.paths = cache, paths

    def __len__(self):
        return len(self.paths)

    def __getitem__(self, i):
        before = self.cache.decodes
        try:
            self.cache.get(self.paths[i])
        except Exception as e:  # a broken file must not stop a long run
            log.warning("unreadable image %s: %s", self.paths[i], e)
            return self.paths[i], False, 0
        return self.paths[i], True, self.cache.decodes - before


class ImageDataset(Dataset):
    """(uint8 CHW tensor, label) pairs read through the cache, optionally augmented."""

    def __init__(self, items, cache: ImageCache, transform=None):
        self.items, self.cache, self.transform = list(items), cache, transform

    def __len__(self):
        return len(self.items)

    def __getitem__(self, i):
        path, label = self.items[i]
        x = torch.from_numpy(self.cache.get(path)).permute(2, 0, 1)
        if self.transform is not None:
            x = self.transform(x)
        return x, label


def train_transform(recipe: str):
    """Per-image augmentation on uint8 CHW tensors for a recipe name."""
    flips = [v2.RandomHorizontalFlip(), v2.RandomVerticalFlip()]
    if recipe == "reference":
        return v2.Compose(flips)
    if recipe == "strong":
        # Lesion photos have no "up", so any rotation is plausible; scale and colour
        # jitter stand in for distance and camera/lighting differences between sets.
        return v2.Compose(flips + [v2.RandomAffine(degrees=180, scale=(0.85, 1.15)),
                                   v2.ColorJitter(0.2, 0.2, 0.2, 0.02)])
    raise ValueError(f"unknown recipe {recipe!r}: use 'reference' or 'strong'")


def make_loader(dataset: ImageDataset, *, batch: int, train: bool, balanced: bool = False,
                workers: int = 0, pin_memory: bool = False) -> DataLoader:
    """A DataLoader; its ``generator`` is reseeded by the caller before each epoch."""
    g = torch.Generator()
    sampler = None
    if train and balanced:
        counts = Counter(label for _, label in dataset.items)
        weights = [1.0 / counts[label] for _, label in dataset.items]
        sampler = WeightedRandomSampler(weights, len(weights), replacement=True, generator=g)
    # BatchNorm cannot train on a last batch of one image, so drop only that case.
    drop_last = train and len(dataset) % batch == 1
    # Persistent workers: restarting 8 workers every epoch costs about a second, a large
    # share of a GPU epoch on a few thousand images.
    return DataLoader(dataset, batch_size=batch, shuffle=train and sampler is None, sampler=sampler,
                      num_workers=workers, generator=g, pin_memory=pin_memory, drop_last=drop_last,
                      prefetch_factor=4 if workers else None, persistent_workers=workers > 0)
