"""Shared fixtures: one small training run reused by the sampling, projection and morph tests."""

from __future__ import annotations

import pytest
import torch

from generator.gan.checkpoint import latest_checkpoint
from generator.gan.train import train

from .helpers import make_solid_colour_dataset, make_tiny_configs

TRAIN_STEPS = 100


@pytest.fixture(scope="package", autouse=True)
def one_cpu_thread():
    # These networks are tiny: a second thread gains little, and when the machine is busy
    # OpenMP threads waiting on each other made steps 10-30x slower in our measurements.
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)


@pytest.fixture(scope="package")
def trained_run(tmp_path_factory, one_cpu_thread):
    """A tiny model trained TRAIN_STEPS steps on solid red squares; ADA off to keep it a clean signal."""
    root = tmp_path_factory.mktemp("gan")
    data_dir = make_solid_colour_dataset(root / "data")
    gan_cfg, train_cfg = make_tiny_configs(kimg=TRAIN_STEPS * 8 / 1000, ada_target=None,
                                           checkpoint_every_kimg=TRAIN_STEPS * 8 / 1000)
    result = train(train_cfg, gan_cfg, data_dir, root / "run", device="cpu")
    return {"data_dir": data_dir, "out_dir": root / "run", "result": result, "gan_cfg": gan_cfg,
            "train_cfg": train_cfg, "checkpoint": latest_checkpoint(root / "run")}
