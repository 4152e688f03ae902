"""Training: learning signal, bit-identical resume, cancel, fine-tuning, progress, CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
import torch

from generator.gan import cli
from generator.gan.checkpoint import load_checkpoint, load_generator
from generator.gan.networks import Generator
from generator.gan.sample import synthesize
from generator.gan.train import train

from .helpers import make_solid_colour_dataset, make_tiny_configs, mean_colour


def test_tiny_training_moves_sample_colours_toward_the_data(trained_run):
    data = mean_colour(trained_run["data_dir"])  # red: R high, G and B low
    torch.manual_seed(trained_run["train_cfg"].seed)  # the same initial weights training started from
    untrained = synthesize(Generator(trained_run["gan_cfg"]).eval(), list(range(64)))
    trained = synthesize(load_generator(trained_run["checkpoint"]), list(range(64)))
    before = np.linalg.norm(untrained.reshape(-1, 3).mean(0) - data)
    after_rgb = trained.reshape(-1, 3).mean(0)
    after = np.linalg.norm(after_rgb - data)
    assert after < 0.35 * before, (before, after, after_rgb, data)
    assert after_rgb[0] > 2 * max(after_rgb[1], after_rgb[2]), after_rgb


def _tensors_equal(a, b) -> bool:
    if isinstance(a, torch.Tensor):
        return torch.equal(a, b)
    if isinstance(a, dict):
        return a.keys() == b.keys() and all(_tensors_equal(a[k], b[k]) for k in a)
    if isinstance(a, (list, tuple)):
        return len(a) == len(b) and all(_tensors_equal(x, y) for x, y in zip(a, b))
    return a == b


def test_it_resumes_bit_identically(tmp_path):
    # Every stateful part is switched on: ADA with p > 0 and a half-filled r_t window, R1, path
    # length, style mixing, mirroring, EMA ramp-up; the checkpoint falls between their intervals.
    data_dir = make_solid_colour_dataset(tmp_path / "data", count=5)
    gan_cfg, train_cfg = make_tiny_configs(kimg=8 * 8 / 1000, checkpoint_every_kimg=4 * 8 / 1000,
                                           augment_p=0.3, ada_interval=3, r1_interval=3, pl_weight=1.0,
                                           pl_interval=3, style_mixing=0.5, mirror=True)
    whole = train(train_cfg, gan_cfg, data_dir, tmp_path / "whole", device="cpu")
    halfway = tmp_path / "whole" / "checkpoint-00000.032kimg.pt"
    resumed = train(train_cfg, gan_cfg, data_dir, tmp_path / "resumed", resume_from=halfway, device="cpu")
    a, b = load_checkpoint(whole["checkpoint"]), load_checkpoint(resumed["checkpoint"])
    assert b["counters"] == a["counters"] == {"step": 8, "images_seen": 64, "kimg": 0.064}
    for key in ("G", "D", "G_ema", "G_opt", "D_opt", "augment", "pl_mean", "rng"):
        assert _tensors_equal(a[key], b[key]), key
    assert a["augment"]["p"] != 0.3  # p really moved, so its restore was tested


def test_a_cancelled_run_writes_a_checkpoint_and_says_cancelled(tmp_path):
    data_dir = make_solid_colour_dataset(tmp_path / "data", count=4)
    gan_cfg, train_cfg = make_tiny_configs(kimg=1.0, checkpoint_every_kimg=1.0)
    polls = []
    result = train(train_cfg, gan_cfg, data_dir, tmp_path / "run", device="cpu",
                   abort_fn=lambda: polls.append(1) or len(polls) > 2)
    assert result["status"] == "cancelled"
    assert result["kimg"] == 0.016  # two steps of 8 images ran before the third poll said stop
    assert load_checkpoint(result["checkpoint"])["counters"]["step"] == 2


def test_progress_reports_carry_kimg_speed_losses_p_and_checkpoint_paths(tmp_path):
    data_dir = make_solid_colour_dataset(tmp_path / "data", count=4)
    gan_cfg, train_cfg = make_tiny_configs(kimg=4 * 8 / 1000, checkpoint_every_kimg=2 * 8 / 1000,
                                           report_every=1, r1_interval=1)
    reports = []
    result = train(train_cfg, gan_cfg, data_dir, tmp_path / "run", device="cpu", progress_fn=reports.append)
    assert [r["kimg"] for r in reports] == [0.008, 0.016, 0.024, 0.032]
    assert reports[-1] == result and result["status"] == "done"  # the final report is the result
    for key in ("total_kimg", "sec_per_kimg", "eta_s", "losses", "augment_p"):
        assert key in reports[1]
    assert set(reports[1]["losses"]) == {"G", "D", "R1"}
    with_ckpt = [r for r in reports if "checkpoint" in r]
    assert [r["kimg"] for r in with_ckpt] == [0.016, 0.032]
    for r in with_ckpt:
        assert (tmp_path / "run" / r["checkpoint"]).exists() and (tmp_path / "run" / r["grid"]).exists()


def test_fine_tuning_keeps_frozen_discriminator_layers_and_starts_fresh_counters(trained_run, tmp_path):
    gan_cfg, train_cfg = make_tiny_configs(kimg=2 * 8 / 1000, freeze_d=3, checkpoint_every_kimg=1.0)
    start = load_checkpoint(trained_run["checkpoint"])
    result = train(train_cfg, gan_cfg, trained_run["data_dir"], tmp_path / "tuned",
                   init_from=trained_run["checkpoint"], device="cpu")
    end = load_checkpoint(result["checkpoint"])
    assert end["counters"]["step"] == 2 and result["kimg"] == 0.016
    frozen = ["blocks.0.fromrgb.weight", "blocks.0.conv0.weight", "blocks.0.conv1.weight"]
    for name in frozen:
        assert torch.equal(start["D"][name], end["D"][name]), name
    assert not torch.equal(start["D"]["blocks.0.skip.weight"], end["D"]["blocks.0.skip.weight"])
    assert not torch.equal(start["G"]["synthesis.blocks.0.const"], end["G"]["synthesis.blocks.0.const"])


def test_resume_refuses_a_checkpoint_of_different_networks(trained_run, tmp_path):
    gan_cfg, train_cfg = make_tiny_configs(z_dim=16)
    with pytest.raises(ValueError, match=r"^z_dim:"):
        train(train_cfg, gan_cfg, trained_run["data_dir"], tmp_path / "x", resume_from=trained_run["checkpoint"],
              device="cpu")


def test_the_command_line_trains_and_writes_the_resolved_config(tmp_path, capsys):
    data_dir = make_solid_colour_dataset(tmp_path / "data", count=4)
    result = cli.main(["train", "--config", "tiny", "--data", str(data_dir), "--out", str(tmp_path / "run"),
                       "--kimg", "0.016", "--resolution", "16", "--batch", "8", "--no-mirror",
                       "--device", "cpu"])
    assert result["status"] == "done"
    written = json.loads((tmp_path / "run" / "config.json").read_text())
    assert written["train"]["kimg"] == 0.016 and written["gan"]["resolution"] == 16
    assert written["train"]["mirror"] is False and written["labels"] == ["red"]
    assert '"status": "done"' in capsys.readouterr().out


def test_the_command_line_dry_run_prints_the_recipe_and_creates_nothing(tmp_path, capsys):
    from generator.gan.config import config_dict
    from generator.gan.recipe import resolve

    out = tmp_path / "run"
    (tmp_path / "c10000.pt").touch()  # --resume must name something; a dry run does not read it
    result = cli.main(["train", "--config", "paper", "--data", str(tmp_path / "none"), "--out", str(out),
                       "--resume", str(tmp_path / "c10000.pt"), "--gamma", "32", "--kimg", "500", "--freeze-d", "13",
                       "--dry-run"])
    printed = json.loads(capsys.readouterr().out)
    wanted = config_dict(*resolve("paper", {"gamma": 32.0, "kimg": 500.0, "freeze_d": 13}, fine_tune=True))
    assert result == {"status": "dry-run"} and printed == json.loads(json.dumps(wanted)) and not out.exists()
    assert (printed["train"]["ada_kimg"], printed["train"]["ema_rampup"]) == (100.0, None)


def test_the_command_line_refuses_a_bad_value_with_one_line(tmp_path, capsys):
    with pytest.raises(SystemExit) as exit_:
        cli.main(["train", "--data", str(tmp_path), "--out", str(tmp_path / "run"), "--batch", "0", "--dry-run"])
    assert exit_.value.code == 2
    assert capsys.readouterr().err == ("python -m generator.gan.cli train: error: argument --batch: must be a whole "
                                       "number >= 1, got '0'\n")


def test_a_conditional_model_takes_its_classes_from_the_folder_names(tmp_path):
    data_dir = make_solid_colour_dataset(tmp_path / "data", count=3, resolution=20, label="melanoma")
    make_solid_colour_dataset(data_dir, count=3, resolution=20, label="nevus", hue=0.6)  # resized to 16 px
    gan_cfg, train_cfg = make_tiny_configs(kimg=0.016, num_classes=2)
    result = train(train_cfg, gan_cfg, data_dir, tmp_path / "run", device="cpu")
    assert load_checkpoint(result["checkpoint"])["labels"] == ["melanoma", "nevus"]
    G = load_generator(result["checkpoint"])
    assert not np.array_equal(synthesize(G, [1], class_idx=0), synthesize(G, [1], class_idx=1))
    with pytest.raises(ValueError, match="num_classes"):
        train(train_cfg, make_tiny_configs(num_classes=3)[0], data_dir, tmp_path / "bad", device="cpu")


# ---- the reference's phase details ----------------------------------------------------------------

@pytest.fixture
def tiny_run(tmp_path):
    from generator.gan import distributed as ddp
    from generator.gan.data import ImageFolder
    from generator.gan.train import build_run

    gan_cfg, train_cfg = make_tiny_configs(gamma=1.0, ada_target=0.6)
    data_dir = make_solid_colour_dataset(tmp_path / "data", count=8)
    env = ddp.setup("cpu", "off")
    run = build_run(train_cfg, gan_cfg, ImageFolder(data_dir, gan_cfg.resolution), tmp_path / "run", env)
    reals = torch.rand(train_cfg.batch, 3, gan_cfg.resolution, gan_cfg.resolution) * 2 - 1
    return run, reals


def test_w_avg_is_tracked_in_the_discriminator_phase_as_the_reference_does(tiny_run):
    from generator.gan.train import discriminator_step, generator_step

    run, reals = tiny_run
    w_avg = run.G.mapping.w_avg.clone()
    generator_step(run, None)
    assert torch.equal(run.G.mapping.w_avg, w_avg), "loss.py:74: the G phase maps without update_emas"
    discriminator_step(run, reals, None)
    assert not torch.equal(run.G.mapping.w_avg, w_avg), "loss.py:105: the D phase updates w_avg"


def test_ada_counts_the_real_signs_of_the_r1_phase_too(tiny_run):
    from generator.gan.train import r1_step

    run, reals = tiny_run
    r1_step(run, reals, None)
    assert run.ada.count == reals.shape[0]  # loss.py:119-121 reports the signs in the Dreg phase


def test_a_non_finite_gradient_becomes_finite_before_adam_sees_it(tiny_run):
    from generator.gan.train import _optimizer_step

    run, _ = tiny_run
    params = list(run.G.synthesis.blocks[0].torgb.parameters())
    loss = sum((p * float("inf")).sum() for p in params) + (params[0] * float("nan")).sum()
    _optimizer_step(run, loss, params, run.G_opt)
    assert all(torch.isfinite(p).all() for p in params)  # training_loop.py:289 nan_to_num
