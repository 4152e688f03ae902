"""Two gloo processes on the CPU train what one process trains on the same global batch and seed."""

from __future__ import annotations

import pytest
import torch

from generator.gan import distributed as ddp
from generator.gan.checkpoint import load_checkpoint
from generator.gan.config import ConfigError
from generator.gan.train import train

from .helpers import make_solid_colour_dataset, make_tiny_configs

STEPS = 4


def _two_class_data(root):
    make_solid_colour_dataset(root, count=6, hue=0.0, label="red")
    return make_solid_colour_dataset(root, count=6, hue=0.6, label="blue", seed=1)


def _every_part_on(**extra):
    # Augmentation (p > 0, so its draws happen), an ADA update and a half-filled window at the end,
    # R1, path length with its half batch (which leaves the biases without a gradient),
    # style mixing, classes (gathered for the half batch), mirroring and the EMA ramp-up.
    values = {"kimg": STEPS * 8 / 1000, "checkpoint_every_kimg": 1.0, "augment_p": 0.3, "ada_interval": 3,
              "ada_kimg": 0.5, "r1_interval": 2, "pl_weight": 1.0, "pl_interval": 2, "style_mixing": 0.5,
              "mirror": True, "num_classes": 2}
    return make_tiny_configs(**{**values, **extra})


def test_a_process_holds_whole_minibatch_stddev_groups():
    # The stddev layer groups row i with i + n/group, ...: each process's local grouping must be a global group.
    n, world, group = 16, 2, 4
    for rank in range(world):
        rows = torch.tensor(ddp.shard_rows(n, rank, world, group))
        local_groups = rows.reshape(group, -1).t()  # as the layer reshapes its local batch
        global_groups = torch.arange(n).reshape(group, -1).t()
        assert all(any(set(lg.tolist()) == set(gg.tolist()) for gg in global_groups) for lg in local_groups)
    assert sorted(row for r in range(world) for row in ddp.shard_rows(n, r, world, group)) == list(range(n))


def _assert_trained_alike(a: dict, b: dict) -> None:
    assert a["counters"] == b["counters"] == {"step": STEPS, "images_seen": STEPS * 8, "kimg": STEPS * 8 / 1000}
    assert a["augment"]["p"] != 0.3 and a["augment"] == b["augment"]  # p moved, and the open window is global
    # Equal up to rounding only: a batch of 8 and two of 4 sum in another order, and the gradient
    # all-reduce adds the halves' means. Adam turns a gradient into a step of about lr (0.002) per
    # element, so any other random draw, data row, group or a zero gradient where one process has
    # none moves weights by ~1e-3 (we measured 3e-3 for that last bug). Rounding moved them by at
    # most 1.5e-5 here: atol 1e-4 is 1/20 of one step; rtol covers the lr_mul-scaled mapping weights
    # (|w| ~ 100, where one float32 step is 8e-6).
    for key in ("G", "D", "G_ema"):
        for name, t in a[key].items():
            where = f"{key}.{name}"
            torch.testing.assert_close(b[key][name], t, rtol=1e-5, atol=1e-4, msg=lambda m, w=where: f"{w}: {m}")
    torch.testing.assert_close(b["pl_mean"], a["pl_mean"], rtol=1e-5, atol=1e-6)


def test_two_processes_train_what_one_process_trains_and_resume_it(tmp_path):
    data_dir = _two_class_data(tmp_path / "data")
    gan_cfg, train_cfg = _every_part_on(checkpoint_every_kimg=STEPS // 2 * 8 / 1000)
    one = train(train_cfg, gan_cfg, data_dir, tmp_path / "one", device="cpu")
    two = train(train_cfg, gan_cfg, data_dir, tmp_path / "two", device="cpu", processes=2)
    # Halfway, ADA's window holds two steps of signs: rank 0 carries them on, rank 1 starts empty.
    halfway = tmp_path / "one" / "checkpoint-00000.016kimg.pt"
    resumed = train(train_cfg, gan_cfg, data_dir, tmp_path / "resumed", device="cpu", processes=2,
                    resume_from=halfway)
    a = load_checkpoint(one["checkpoint"])
    _assert_trained_alike(a, load_checkpoint(two["checkpoint"]))
    _assert_trained_alike(a, load_checkpoint(resumed["checkpoint"]))


def test_processes_that_would_split_a_stddev_group_are_refused_before_anything_starts(tmp_path):
    data_dir = _two_class_data(tmp_path / "data")
    gan_cfg, train_cfg = _every_part_on(batch=4)
    with pytest.raises(ConfigError, match="batch: 4 images over 2 processes"):
        train(train_cfg, gan_cfg, data_dir, tmp_path / "run", device="cpu", processes=2)
    assert not (tmp_path / "run").exists()


def test_only_rank_0_carries_a_resumed_adas_open_window(tmp_path):
    # The file holds the window's global sums; if every rank reloaded them, the next update would
    # count them once per process (p only moves by a sign, so the training test may not notice).
    from generator.gan.data import ImageFolder
    from generator.gan.train import build_run, restore_run

    data_dir = _two_class_data(tmp_path / "data")
    gan_cfg, train_cfg = _every_part_on(kimg=2 * 8 / 1000)
    ckpt = load_checkpoint(train(train_cfg, gan_cfg, data_dir, tmp_path / "run", device="cpu")["checkpoint"])
    window = ckpt["augment"]["count"]
    assert window > 0
    for rank, count in ((0, window), (1, 0.0)):
        env = ddp.Env(rank=rank, world_size=2, device=torch.device("cpu"), amp=False)
        run = build_run(train_cfg, gan_cfg, ImageFolder(data_dir, gan_cfg.resolution), tmp_path, env)
        restore_run(run, ckpt)
        assert run.ada.count == count
