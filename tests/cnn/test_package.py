"""The package stays pure (no Django, Redis or web code) and its command line parses."""

import argparse
import subprocess
import sys
from pathlib import Path

import pytest

from classifier.cnn import cli

REPO = Path(__file__).resolve().parents[2]


def test_the_package_never_imports_django_or_redis():
    code = ("import sys; import classifier.cnn.cli, classifier.cnn.train, classifier.cnn.evaluate; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] in ('django', 'redis', 'rq', 'django_rq')))")
    out = subprocess.run([sys.executable, "-c", code], cwd=REPO, capture_output=True, text=True, check=True,
                         env={"PATH": "/usr/bin:/bin", "PYTHONPATH": str(REPO)})
    assert out.stdout.strip() == "[]"


def parse_train(*args):
    parser = argparse.ArgumentParser()
    cli._train_parser(parser.add_subparsers(dest="command"))
    return cli.config_from_args(parser.parse_args(["train", "--train", "a", "b", "--out", "o", *args]))


def test_the_command_line_defaults_to_the_reference_recipe():
    cfg = parse_train()
    assert (cfg.arch, cfg.weights, cfg.recipe, cfg.epochs, cfg.batch, cfg.lr, cfg.optimizer, cfg.weight_decay,
            cfg.img_size) == ("tf_efficientnet_lite0", "imagenet-lite0", "reference", 30, 64, 0.001, "radam", 0.0, 224)


def test_the_command_line_chooses_the_starting_weights():
    assert parse_train("--from-scratch").weights is None
    assert parse_train("--pretrained-weights", "w.pth").weights == "w.pth"
    with pytest.raises(SystemExit):
        parse_train("--from-scratch", "--pretrained-weights", "w.pth")
    assert parse_train("--recipe", "strong", "--epochs", "3", "--lr", "0.0003").lr == 0.0003
