"""Command line for the pure package, for researchers working without the web app.

    python -m classifier.cnn.cli train --train data/asan data/snu --out runs/exp1
    python -m classifier.cnn.cli train --train data/gan5000 --out runs/scratch --from-scratch
    python -m classifier.cnn.cli evaluate --checkpoint runs/exp1/final.pt --test data/mednode

``train`` writes the resolved config to ``OUT/config.json`` before it starts and the
checkpoints into OUT; ``evaluate`` prints the metrics as JSON (or writes them with
``--report``). The Django commands call the same functions.
"""

from __future__ import annotations

import argparse
import json
import logging
import sys
from dataclasses import asdict, fields
from pathlib import Path

from common.devices import device_flag
from common.files import atomic_write_text
from common.flags import (
    OneLineParser,
    non_negative_float,
    number_type,
    positive_float,
    positive_int,
    seed_number,
)

from .checkpoint import json_safe, read_torch_file
from .data import scan_dirs
from .evaluate import evaluate
from .models import check_start
from .train import MIN_BATCH, MIN_IMG_SIZE, TrainConfig, train

PROG = "python -m classifier.cnn.cli"
DEFAULTS = TrainConfig()

# The shared checked types (common.flags): a bad number is a one-line usage error naming the flag,
# before any folder is read or written; the limits are TrainConfig's own.
RECIPE_FLAGS = [
    ("epochs", positive_int, "training epochs"),
    ("batch", number_type(int, f"a whole number >= {MIN_BATCH}", lambda v: v >= MIN_BATCH), "batch size"),
    ("lr", positive_float, "learning rate"),
    ("weight_decay", non_negative_float, "weight decay"),
    ("img_size", number_type(int, f"a whole number >= {MIN_IMG_SIZE}", lambda v: v >= MIN_IMG_SIZE),
     "square image side in pixels"),
    ("seed", seed_number, "random seed"),
]
# 1 would hold every image out and leave nothing to train on.
val_fraction_type = number_type(float, "a number from 0 up to (not including) 1", lambda v: 0 <= v < 1)
workers_type = number_type(int, "-1 (auto) or a whole number >= 0", lambda v: v >= -1)
# What a bad file raises once the run has started (a damaged checkpoint, weights that do not fit
# the arch, every image unreadable): bad input, so one line, not a traceback.
BAD_INPUT = (ValueError, OSError)


def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train a classifier on one or more image folders")
    data = p.add_argument_group("data")
    data.add_argument("--train", nargs="+", required=True,
                      help="DIR/<melanoma|nevus>/ folders; several make a union")
    data.add_argument("--out", required=True, help="output folder for checkpoints (resumes if it holds last.pt)")
    data.add_argument("--val-fraction", type=val_fraction_type, default=0.0,
                      help="stratified share held out to pick the Youden threshold (default 0: use the training set)")
    data.add_argument("--cache-dir", default=DEFAULTS.cache_dir, help="decoded-image cache (default OUT/image-cache)")
    model = p.add_argument_group("model")
    model.add_argument("--arch", default=DEFAULTS.arch, help=f"timm architecture (default {DEFAULTS.arch})")
    start = model.add_mutually_exclusive_group()
    start.add_argument("--pretrained-weights", metavar="PATH", default=None,
                       help="start from this state dict instead of the packaged ImageNet lite0 weights")
    start.add_argument("--from-scratch", action="store_true",
                       help="random initialisation (not comparable with the paper)")
    recipe = p.add_argument_group("recipe")
    recipe.add_argument("--recipe", choices=("reference", "strong"), default=DEFAULTS.recipe,
                        help="reference: the paper's flips, no schedule; strong: + rotation, jitter, balancing, cosine")
    for name, kind, help_ in RECIPE_FLAGS:
        default = getattr(DEFAULTS, name)
        recipe.add_argument("--" + name.replace("_", "-"), type=kind, default=default,
                            help=f"{help_} (default {default})")
    recipe.add_argument("--optimizer", choices=("radam", "adamw"), default=DEFAULTS.optimizer,
                        help=f"optimizer (default {DEFAULTS.optimizer})")
    run = p.add_argument_group("runtime")
    run.add_argument("--device", default=DEFAULTS.device, type=device_flag,
                     help="auto, cpu, cuda or cuda:N (default auto)")
    run.add_argument("--workers", type=workers_type, default=DEFAULTS.workers, help="DataLoader workers (-1: auto)")
    run.add_argument("--no-amp", action="store_true", help="full precision on CUDA")


def _eval_parser(sub) -> None:
    p = sub.add_parser("evaluate", help="metrics of a checkpoint on a labelled folder")
    p.add_argument("--checkpoint", required=True, help="a final.pt written by train")
    p.add_argument("--test", nargs="+", required=True, help="DIR/<melanoma|nevus>/ folders")
    p.add_argument("--report", default=None, help="write the full report (with per-image scores) to this JSON file")
    p.add_argument("--device", default="auto", type=device_flag, help="auto, cpu, cuda or cuda:N (default auto)")
    p.add_argument("--batch", type=positive_int, default=64, help="batch size (default 64)")


def config_from_args(args) -> TrainConfig:
    weights = None if args.from_scratch else (args.pretrained_weights or DEFAULTS.weights)
    values = {f.name: getattr(args, f.name) for f in fields(TrainConfig) if hasattr(args, f.name)}
    return TrainConfig(**{**values, "weights": weights, "amp": not args.no_amp})


def _print_progress(d: dict) -> None:
    if d.get("phase") == "train" and d["step"] % max(1, d["steps_per_epoch"] // 4) == 0:
        print(f"epoch {d['epoch']}/{d['epochs']} step {d['step']} loss {d['loss']:.4f} "
              f"{d['images_per_s']:.1f} img/s", file=sys.stderr)


def _refusal(args) -> str | None:
    """The first flag that names a missing file or folder, or a start the model cannot make: checked
    before OUT/config.json (or anything else) is written."""
    if args.command == "train":
        folders, files = ("--train", args.train), [("--pretrained-weights", args.pretrained_weights)]
        if Path(args.out).exists() and not Path(args.out).is_dir():
            return f"--out: {args.out} is a file, not a folder"
        try:
            check_start(args.arch, None if args.from_scratch else (args.pretrained_weights or DEFAULTS.weights))
        except ValueError as exc:
            return f"--arch: {exc}"
    else:
        folders, files = ("--test", args.test), [("--checkpoint", args.checkpoint)]
        if args.report and not Path(args.report).absolute().parent.is_dir():
            return f"--report: folder {Path(args.report).absolute().parent} does not exist"
    for flag, path in files:
        if path and not Path(path).is_file():
            return f"{flag}: {path} is not a file"
    if args.command == "train" and args.pretrained_weights:
        try:  # a state dict is small: read it now rather than after every image is decoded
            read_torch_file(args.pretrained_weights, what="state dict file")
        except ValueError as exc:
            return f"--pretrained-weights: {exc}"
    flag, dirs = folders
    for path in dirs:
        if not Path(path).is_dir():
            return f"{flag}: {path} is not a folder"
    try:  # a listing, no decoding: cheap beside the run it saves from a late failure
        scan_dirs(dirs)
    except ValueError as exc:
        return f"{flag}: {exc}"
    return None


def run_train(args) -> int:
    cfg = config_from_args(args)
    atomic_write_text(Path(args.out) / "config.json", json.dumps(asdict(cfg), indent=2))
    result = train(cfg, args.train, args.out, val_fraction=args.val_fraction, progress_fn=_print_progress)
    print(f"trained {result['epoch']} epochs on {result['n_train']} images: {result['checkpoint']} "
          f"(Youden threshold {result['youden_threshold']})")
    return 0


def run_evaluate(args) -> int:
    report = evaluate(args.checkpoint, args.test, device=args.device, batch=args.batch)
    if args.report:
        atomic_write_text(args.report, json.dumps(json_safe(report), indent=2))
    summary = {k: report["at_05"][k] for k in ("n", "auc", "auc_ci", "acc", "sens", "spec", "ppv", "npv")}
    print(json.dumps(summary))
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    _train_parser(sub)
    _eval_parser(sub)
    return parser


def main(argv=None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    refusal = _refusal(args)
    if refusal:
        parser.exit(2, f"{PROG} {args.command}: error: {refusal}\n")
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(message)s")
    try:
        return run_train(args) if args.command == "train" else run_evaluate(args)
    except BAD_INPUT as exc:  # a damaged checkpoint, weights that do not fit the arch: one line
        parser.exit(2, f"{PROG} {args.command}: error: {exc}\n")


if __name__ == "__main__":
    raise SystemExit(main())
