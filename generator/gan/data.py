"""Training images from a folder, and a resumable infinite sampler.

Layout: `data_dir/<label>/*.png|jpg|jpeg` (labels are the sorted folder names;
class index = position in that list). Images directly in `data_dir` are
accepted for unconditional training. Images should already be square at the
training resolution; others are centre-cropped and resized (Lanczos).

The sampler's order is a pure function of (seed, position): epoch e is
`randperm(n)` from a generator seeded with (seed, e). Resuming at a position
therefore replays exactly the batches an uninterrupted run would have seen,
and nothing about the sampler needs saving beyond the step counter. With
mirroring the dataset has 2n indices and i >= n means "image i - n, flipped",
as in the StyleGAN2-ADA paper's x-flip doubling.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import torch
from PIL import Image
from torch.utils.data import DataLoader, Dataset

from common.images import is_image_name

from .distributed import shard_rows


def _images_in(folder: Path) -> list[Path]:
    return sorted(p for p in folder.iterdir() if p.is_file() and is_image_name(p))


def load_image(path: str | Path, resolution: int, channels: int = 3) -> np.ndarray:
    """uint8 [H, W, C] at the given resolution."""
    with Image.open(path) as src:
        im = src.convert("RGB" if channels == 3 else "L")
        w, h = im.size
        if w != h:
            side = min(w, h)
            im = im.crop(((w - side) // 2, (h - side) // 2, (w - side) // 2 + side, (h - side) // 2 + side))
        if im.size != (resolution, resolution):
            im = im.resize((resolution, resolution), Image.Resampling.LANCZOS)
        array = np.array(im, dtype=np.uint8)  # a writable copy: torch warns about read-only arrays
    return array[:, :, None] if array.ndim == 2 else array


class ImageFolder(Dataset):
    """(uint8 tensor [C, H, W], class index) pairs; index i >= len(files) is file i - n mirrored."""

    def __init__(self, root: str | Path, resolution: int, *, channels: int = 3, mirror: bool = False):
        root = Path(root)
        if not root.is_dir():
            raise FileNotFoundError(f"data_dir: {root} is not a folder")
        self.labels = sorted(p.name for p in root.iterdir() if p.is_dir() and _images_in(p))
        self.files = [(p, i) for i, label in enumerate(self.labels) for p in _images_in(root / label)]
        loose = _images_in(root)
        if loose and self.labels:
            raise ValueError(f"data_dir: {root} mixes images and label folders; use one layout")
        self.files += [(p, 0) for p in loose]
        if not self.files:
            raise ValueError(f"data_dir: no .png/.jpg images in {root} or its label folders")
        self.resolution, self.channels, self.mirror = resolution, channels, mirror

    def __len__(self) -> int:
        return len(self.files) * (2 if self.mirror else 1)

    def __getitem__(self, index: int) -> tuple[torch.Tensor, int]:
        path, label = self.files[index % len(self.files)]
        array = load_image(path, self.resolution, self.channels)
        if index >= len(self.files):
            array = array[:, ::-1]
        return torch.from_numpy(np.ascontiguousarray(array)).permute(2, 0, 1), label


class InfiniteBatchSampler:
    """Endless batches of dataset indices for one process, starting at global batch `start_batch`.

    The global batch k covers positions [k * batch, (k + 1) * batch) of the endless
    shuffled stream; process `rank` of `world_size` takes the rows `shard_rows` gives it
    (whole minibatch-stddev groups of `group`), as it does for every other per-sample draw.
    """

    def __init__(self, size: int, batch: int, *, seed: int = 0, start_batch: int = 0,
                 rank: int = 0, world_size: int = 1, group: int = 1):
        self.rows = shard_rows(batch, rank, world_size, group if world_size > 1 else 1)
        self.size, self.batch, self.seed, self.start_batch = size, batch, seed, start_batch
        self._epoch = -1  # no epoch yet: the first position draws a permutation
        self._perm: list[int] = []

    def _index(self, position: int) -> int:
        epoch, offset = divmod(position, self.size)
        if epoch != self._epoch:
            gen = torch.Generator().manual_seed(self.seed * 1_000_003 + epoch)
            self._epoch, self._perm = epoch, torch.randperm(self.size, generator=gen).tolist()
        return self._perm[offset]

    def __iter__(self):
        k = self.start_batch
        while True:
            yield [self._index(k * self.batch + row) for row in self.rows]
            k += 1


def make_loader(dataset: ImageFolder, sampler: InfiniteBatchSampler, *, num_workers: int,
                pin_memory: bool) -> DataLoader:
    # Its own generator: DataLoader otherwise draws worker seeds from the global RNG when an
    # iterator starts, which would shift the training stream of a resumed run by one draw.
    return DataLoader(dataset, batch_sampler=sampler, num_workers=num_workers, pin_memory=pin_memory,
                      persistent_workers=num_workers > 0, prefetch_factor=4 if num_workers > 0 else None,
                      generator=torch.Generator().manual_seed(sampler.seed))
