"""Checkpoints are plain data, readable with weights_only=True, written atomically."""

from __future__ import annotations

import json

import torch

from generator.gan.checkpoint import (
    FORMAT,
    latest_checkpoint,
    list_checkpoints,
    save_checkpoint,
)


def test_checkpoints_load_with_weights_only_true(trained_run):
    ckpt = torch.load(trained_run["checkpoint"], weights_only=True)
    assert ckpt["format"] == FORMAT
    assert ckpt["gan_config"]["resolution"] == 16
    assert {"G", "D", "G_ema", "G_opt", "D_opt", "augment", "counters", "rng", "labels"} <= set(ckpt)
    assert ckpt["labels"] == ["red"]


def test_each_checkpoint_has_a_readable_json_and_a_sample_grid(trained_run):
    ckpt = trained_run["checkpoint"]
    info = json.loads(ckpt.with_suffix(".json").read_text())
    assert info["counters"]["step"] == 100 and info["gan_config"]["z_dim"] == 32
    assert (ckpt.parent / ckpt.name.replace("checkpoint-", "grid-").replace(".pt", ".png")).exists()
    assert not [p for p in ckpt.parent.iterdir() if ".tmp" in p.name]


def test_checkpoints_sort_by_kimg_not_by_name(tmp_path):
    for kimg in ("00002.000", "00010.000", "00000.500"):
        save_checkpoint(tmp_path / f"checkpoint-{kimg}kimg.pt", {"x": torch.zeros(1)})
    assert next(p.name for p in list_checkpoints(tmp_path)) == "checkpoint-00000.500kimg.pt"
    assert latest_checkpoint(tmp_path).name == "checkpoint-00010.000kimg.pt"
    assert latest_checkpoint(tmp_path / "nothing-here") is None
