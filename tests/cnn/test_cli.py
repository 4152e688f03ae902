"""The classifier's pure command line refuses bad flags, files and folders in one line, naming the flag,
before it writes anything (OUT/config.json included)."""

from __future__ import annotations

from pathlib import Path

import pytest
from PIL import Image

from classifier.cnn import cli


def make_lesion_folder(root: Path) -> Path:
    """ROOT/melanoma and ROOT/nevus with one small image each: enough to scan, nothing to train on."""
    for label in ("melanoma", "nevus"):
        (root / label).mkdir(parents=True)
        Image.new("RGB", (8, 8), (200, 80, 60)).save(root / label / "a.png")
    return root


def refusal(capsys, argv: list[str]) -> str:
    """The one line main() exits with (status 2); fails on a traceback or a usage block."""
    with pytest.raises(SystemExit) as exit_:
        cli.main(argv)
    err = capsys.readouterr().err.strip().splitlines()
    assert exit_.value.code == 2 and len(err) == 1, f"one line, no usage block: {err}"
    assert err[0].startswith(f"{cli.PROG} {argv[0]}: error: ")
    return err[0]


@pytest.mark.parametrize(("command", "flags", "message"), [
    ("train", ["--val-fraction", "1"], "argument --val-fraction: must be a number from 0 up to (not including) 1"),
    ("train", ["--val-fraction", "nan"], "argument --val-fraction: must be a number from 0"),
    ("train", ["--workers", "-2"], "argument --workers: must be -1 (auto) or a whole number >= 0, got '-2'"),
    ("train", ["--workers", "x"], "argument --workers: must be -1 (auto) or a whole number >= 0, got 'x'"),
    ("train", ["--batch", "1"], "argument --batch: must be a whole number >= 2, got '1'"),
    ("train", ["--batch", "٣"], "argument --batch: must be a whole number >= 2, got '٣'"),
    ("train", ["--epochs", "0"], "argument --epochs: must be a whole number >= 1"),
    ("train", ["--lr", "inf"], "argument --lr: must be a finite number > 0, got 'inf'"),
    ("train", ["--weight-decay", "-0.1"], "argument --weight-decay: must be a finite number >= 0"),
    ("train", ["--img-size", "16"], "argument --img-size: must be a whole number >= 32, got '16'"),
    ("train", ["--seed", str(2**32)], "argument --seed: must be a whole number from 0 to 4294967295"),
    ("train", ["--device", "tpu"], "argument --device: device 'tpu': not a device"),
    ("evaluate", ["--batch", "0"], "argument --batch: must be a whole number >= 1, got '0'"),
    ("evaluate", ["--device", "cuda:99"], "argument --device: device 'cuda:99': "),
])
def test_bad_numbers_and_devices_are_refused_while_parsing_naming_the_flag(tmp_path, capsys, command, flags,
                                                                           message):
    where = {"train": ["--train", str(tmp_path / "nowhere"), "--out", str(tmp_path / "run")],
             "evaluate": ["--checkpoint", "c.pt", "--test", str(tmp_path / "nowhere")]}[command]
    assert message in refusal(capsys, [command, *flags, *where])
    assert not (tmp_path / "run").exists()


@pytest.mark.parametrize(("flags", "message"), [
    (["--train", "{tmp}/nowhere"], "--train: {tmp}/nowhere is not a folder"),
    (["--train", "{tmp}/empty"], "--train: no melanoma/nevus images under {tmp}/empty"),
    (["--arch", "no_such_net", "--from-scratch"], "--arch: 'no_such_net' is not a timm architecture"),
    (["--arch", "resnet18"], "--arch: weights 'imagenet-lite0' fit arch 'tf_efficientnet_lite0' only"),
    (["--pretrained-weights", "{tmp}/none.pth"], "--pretrained-weights: {tmp}/none.pth is not a file"),
    (["--pretrained-weights", "{tmp}/junk.pth"], "--pretrained-weights: {tmp}/junk.pth is not a readable state dict"),
])
def test_bad_training_files_are_one_line_and_create_nothing(tmp_path, capsys, flags, message):
    make_lesion_folder(tmp_path / "lesions")
    (tmp_path / "empty" / "melanoma").mkdir(parents=True)
    (tmp_path / "junk.pth").write_bytes(b"not a torch file at all")
    flags = [f.format(tmp=tmp_path) for f in flags]
    data = [] if "--train" in flags else ["--train", str(tmp_path / "lesions")]
    line = refusal(capsys, ["train", *data, *flags, "--out", str(tmp_path / "run")])
    assert message.format(tmp=tmp_path) in line
    assert not (tmp_path / "run").exists(), "refused before OUT/config.json was written"


@pytest.mark.parametrize(("flags", "message"), [
    (["--checkpoint", "{tmp}/none.pt"], "--checkpoint: {tmp}/none.pt is not a file"),
    (["--test", "{tmp}/nowhere"], "--test: {tmp}/nowhere is not a folder"),
    (["--report", "{tmp}/no/report.json"], "--report: folder {tmp}/no does not exist"),
    (["--checkpoint", "{tmp}/junk.pt"], "{tmp}/junk.pt is not a readable cansite-cnn/1 checkpoint"),
    (["--checkpoint", "{tmp}/half.pt"], "{tmp}/half.pt is not a readable cansite-cnn/1 checkpoint"),
])
def test_bad_evaluation_files_are_one_line(tmp_path, capsys, flags, message):
    import torch

    make_lesion_folder(tmp_path / "lesions")
    (tmp_path / "junk.pt").write_bytes(b"\x80\x05junk")
    torch.save({"model": torch.zeros(4096)}, tmp_path / "whole.pt")
    whole = (tmp_path / "whole.pt").read_bytes()
    (tmp_path / "half.pt").write_bytes(whole[: len(whole) // 2])  # a copy cut short
    flags = [f.format(tmp=tmp_path) for f in flags]
    given = {"--checkpoint": str(tmp_path / "junk.pt"), "--test": str(tmp_path / "lesions")}
    given.update(dict(zip(flags[::2], flags[1::2], strict=True)))
    line = refusal(capsys, ["evaluate", *[part for pair in given.items() for part in pair]])
    assert message.format(tmp=tmp_path) in line
