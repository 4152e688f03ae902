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


@pytest.mark.parametrize(("command", "flags", "message"), [
    ("train", ["--device", "tpu"], "argument --device: device 'tpu': not a device"),
    ("train", ["--device", "cuda:99"], "argument --device: device 'cuda:99': "),
    ("train", ["--kimg", "0"], "argument --kimg: must be a finite number > 0, got '0'"),
    ("train", ["--kimg", "nan"], "argument --kimg: must be a finite number > 0, got 'nan'"),
    ("train", ["--batch", "٣"], "argument --batch: must be a whole number >= 1, got '٣'"),
    ("train", ["--gamma", "-1"], "argument --gamma: must be a finite number >= 0"),
    ("train", ["--augment-p", "1.5"], "argument --augment-p: must be a number from 0 to 1"),
    ("train", ["--seed", str(2**32)], "argument --seed: must be a whole number from 0 to 4294967295"),
    ("train", ["--freeze-d", "1.5"], "argument --freeze-d: must be a whole number >= 0"),
    ("train", ["--mixed-precision", "maybe"], "argument --mixed-precision: invalid choice: 'maybe'"),
    ("sample", ["CKPT", "--psi", "inf"], "argument --psi: must be a finite number, got 'inf'"),
    ("sample", ["CKPT", "--class-idx", "-1"], "argument --class-idx: must be a whole number >= 0"),
    ("sample", ["CKPT", "--device", "tpu"], "argument --device: device 'tpu': not a device"),
    ("project", ["CKPT", "--target", "t.png", "--class-idx", "x"], "argument --class-idx: must be a whole number"),
    ("morph", ["CKPT", "--source", "1", "--target", "2", "--psi", "x"], "argument --psi: must be a finite number"),
])
def test_bad_numbers_and_devices_are_refused_while_parsing_naming_the_flag(tmp_path, capsys, command, flags, message):
    """Refused by the parser, before any data is read or folder made (--data names a folder that is not there)."""
    where = {"train": ["--data", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")]}.get(
        command, ["--out", str(tmp_path / "run")])
    with pytest.raises(SystemExit) as exit_:
        cli.main([command, *flags, *where])
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1, "one line, no usage block"
    assert message in err[0] and err[0].startswith(f"{cli.PROG} {command}: error: ")
    assert not (tmp_path / "run").exists()

