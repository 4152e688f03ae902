"""The one GAN command line: train (--continue, --resume, --processes), sample, and its errors."""

from __future__ import annotations

import json

import pytest
import torch

from generator.gan import cli
from generator.gan.checkpoint import load_checkpoint

from .helpers import make_solid_colour_dataset

TINY = ["--config", "tiny", "--resolution", "16", "--batch", "8", "--device", "cpu", "--augment-p", "0.2"]


def _train(*flags: str) -> dict:
    return cli.main(["train", *flags])


def test_continue_carries_on_an_interrupted_run_exactly(tmp_path):
    data = str(make_solid_colour_dataset(tmp_path / "data", count=4))
    whole = _train(*TINY, "--data", data, "--out", str(tmp_path / "whole"), "--kimg", "0.032")
    _train(*TINY, "--data", data, "--out", str(tmp_path / "cut"), "--kimg", "0.016")
    continued = _train("--continue", str(tmp_path / "cut"), "--kimg", "0.032", "--device", "cpu")
    a, b = load_checkpoint(whole["checkpoint"]), load_checkpoint(continued["checkpoint"])
    assert b["counters"]["step"] == 4 and continued["checkpoint"].startswith(str(tmp_path / "cut"))
    assert all(torch.equal(a["G"][k], b["G"][k]) for k in a["G"])  # one process resumes bit for bit


def test_resume_starts_a_new_run_from_the_weights(tmp_path):
    data = str(make_solid_colour_dataset(tmp_path / "data", count=4))
    _train(*TINY, "--data", data, "--out", str(tmp_path / "parent"), "--kimg", "0.016")
    child = _train(*TINY, "--data", data, "--out", str(tmp_path / "child"), "--kimg", "0.008",
                   "--resume", str(tmp_path / "parent"))
    assert load_checkpoint(child["checkpoint"])["counters"]["step"] == 1  # counters start again
    config = json.loads((tmp_path / "child" / "config.json").read_text())
    assert config["init_from"].startswith(str(tmp_path / "parent")) and config["resume_from"] is None


@pytest.mark.parametrize(("flags", "message"), [
    (["--continue", "{tmp}/empty"], "--continue: {tmp}/empty holds no checkpoint-*.pt yet"),
    (["--config", "tiny"], "--data: required (unless --continue)"),
    (["--data", "{tmp}/nowhere", "--out", "{tmp}/run"], "data_dir: {tmp}/nowhere is not a folder"),
    (["--data", "{tmp}/empty", "--out", "{tmp}/run", "--processes", "2", "--batch", "4"],
     "batch: 4 images over 2 processes"),
])
def test_bad_train_flags_are_one_line_and_create_nothing(tmp_path, capsys, flags, message):
    (tmp_path / "empty").mkdir()
    with pytest.raises(SystemExit) as exit_:
        _train(*[f.format(tmp=tmp_path) for f in flags])
    err = capsys.readouterr().err
    assert exit_.value.code == 2 and message.format(tmp=tmp_path) in err and len(err.strip().splitlines()) == 1
    assert not (tmp_path / "run").exists()


def test_config_and_noise_mode_choices_come_from_the_package():
    from generator.gan.config import CONFIGS
    from generator.gan.networks import NOISE_MODES

    sub = cli.build_parser()._subparsers._group_actions[0].choices
    choices = {a.dest: a.choices for name in ("train", "sample", "morph") for a in sub[name]._actions if a.choices}
    assert list(choices["config"]) == sorted(CONFIGS) and list(choices["noise_mode"]) == list(NOISE_MODES)
