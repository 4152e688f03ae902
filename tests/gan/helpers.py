"""Plain helpers that make small data sets and configs for the GAN tests."""

from __future__ import annotations

import colorsys
from pathlib import Path

import numpy as np
from PIL import Image

from generator.gan.config import get_config


def make_solid_colour_dataset(root: Path, *, count: int = 32, resolution: int = 16, hue: float = 0.0,
                              label: str = "red", seed: int = 0) -> Path:
    """`count` images, each one solid colour of the given hue with random saturation and value."""
    folder = root / label
    folder.mkdir(parents=True, exist_ok=True)
    rng = np.random.RandomState(seed)
    for i in range(count):
        rgb = colorsys.hsv_to_rgb(hue, rng.uniform(0.6, 1.0), rng.uniform(0.6, 1.0))
        image = np.empty((resolution, resolution, 3), np.uint8)
        image[:] = np.round(np.array(rgb) * 255).astype(np.uint8)
        Image.fromarray(image).save(folder / f"{i:03d}.png")
    return root


def mean_colour(folder: Path) -> np.ndarray:
    images = [np.asarray(Image.open(p).convert("RGB"), np.float64) for p in sorted(Path(folder).rglob("*.png"))]
    return np.stack(images).reshape(-1, 3).mean(axis=0)


def make_tiny_configs(**overrides):
    """The `tiny` config shrunk further (16 px, 32 channels) so that a CPU test step takes ~50 ms."""
    values = dict(resolution=16, channel_max=32, z_dim=32, w_dim=32, batch=8, num_workers=0,
                  report_every=1000, grid_seeds=(0, 1, 2, 3))
    values.update(overrides)
    return get_config("tiny", **values)
