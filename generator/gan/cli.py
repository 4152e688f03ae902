"""The GAN package's one command line, for researchers working without the web app.

    python -m generator.gan.cli train --config tiny --data DIR --out runs/a --kimg 0.5
    python -m generator.gan.cli train --continue runs/a --kimg 1      # continue exactly, to 1 kimg
    python -m generator.gan.cli train --resume runs/a --data DIR --out runs/b --freeze-d 13   # fine-tune
    python -m generator.gan.cli train --processes 2 ...                # 2 processes (gloo on the CPU)
    torchrun --nproc_per_node 4 -m generator.gan.cli train --config paper --data DIR --out runs/p
    python -m generator.gan.cli sample CKPT --seeds 0-99 --out DIR [--psi 0.7]
    python -m generator.gan.cli project CKPT --target IMAGE --out DIR [--steps 1000]
    python -m generator.gan.cli morph CKPT --source 42 --target DIR/projected_w.npz --out DIR

`--resume X` starts a NEW run from the weights of X (a checkpoint, or a run folder's latest),
as NVIDIA's `--resume` does; `--continue DIR` carries on the interrupted run in DIR exactly
(its checkpoint's configs, optimizers, p and RNG). Flags left out keep the named config's (or
the continued run's) value; the resolved configs are written to OUT/config.json before training
starts. The Django commands call the same functions.
"""

from __future__ import annotations

import argparse
import json
from dataclasses import dataclass, replace
from pathlib import Path

from common.devices import device_flag
from common.flags import (
    OneLineParser,
    finite_float,
    non_negative_float,
    non_negative_int,
    positive_float,
    positive_int,
    ranged_float,
    seed_number,
)

from .config import CONFIGS, MIXED_PRECISION_CHOICES, ConfigError, GANConfig, TrainConfig, config_dict, field_names
from .networks import NOISE_MODES
from .recipe import resolve

PROG = "python -m generator.gan.cli"

# (flag, field, type, help); default None means "keep the named config's value". The types are the
# shared checked ones (common.flags): a bad number is a one-line usage error naming the flag, before
# any data is read; what a type cannot say (a power-of-two resolution) the config's validate() says.
OVERRIDES = [
    ("--kimg", "kimg", positive_float, "train until this many thousand real images were shown (fractions allowed)"),
    ("--batch", "batch", positive_int, "global batch size, split across processes"),
    ("--gamma", "gamma", non_negative_float, "R1 regularisation weight"),
    ("--glr", "glr", positive_float, "generator learning rate"),
    ("--dlr", "dlr", positive_float, "discriminator learning rate"),
    ("--freeze-d", "freeze_d", non_negative_int, "freeze the first N discriminator layers (fine-tuning)"),
    ("--seed", "seed", seed_number, "random seed"),
    ("--ada-target", "ada_target", ranged_float(0.0, 1.0), "ADA target for E[sign(D(real))]"),
    ("--augment-p", "augment_p", ranged_float(0.0, 1.0), "initial augmentation probability"),
    ("--checkpoint-every", "checkpoint_every_kimg", positive_float, "write a checkpoint every N kimg"),
    ("--workers", "num_workers", non_negative_int, "data loading processes per training process"),
    ("--resolution", "resolution", positive_int, "image side in pixels, a power of two >= 8"),
    ("--num-classes", "num_classes", non_negative_int, "classes for a conditional model (0 = unconditional)"),
]
DEVICE_HELP = "auto, cpu, cuda or cuda:N (default: cuda when available)"


# ---- train ----------------------------------------------------------------------------------------

def _train_parser(sub) -> None:
    p = sub.add_parser("train", help="train, fine-tune (--resume) or continue (--continue) a run")
    paths = p.add_argument_group("data and output")
    paths.add_argument("--data", default=None, help="folder of images, DATA/<label>/*.png|jpg "
                       "(default with --continue: the run's own)")
    paths.add_argument("--out", default=None, help="run folder for checkpoints, grids and config.json")
    paths.add_argument("--device", default=None, type=device_flag, help=DEVICE_HELP)
    paths.add_argument("--threads", type=positive_int, default=None,
                       help="torch CPU threads (default: torch's choice; 1 is often faster on a busy CPU)")
    paths.add_argument("--processes", type=positive_int, default=1,
                       help="training processes on this host, one per GPU (gloo on the CPU) (default: 1)")
    start = p.add_argument_group("starting point").add_mutually_exclusive_group()
    start.add_argument("--resume", metavar="CKPT|RUN_DIR", default=None,
                       help="start a new run from these weights (fine-tune; default: random init)")
    start.add_argument("--continue", dest="continue_dir", metavar="RUN_DIR", default=None,
                       help="continue the run in RUN_DIR exactly from its latest checkpoint")
    cfg = p.add_argument_group("configuration (unset flags keep the named config's value)")
    cfg.add_argument("--config", default=None, choices=sorted(CONFIGS),
                     help="named config (default: tiny, or the continued run's)")
    for flag, name, kind, text in OVERRIDES:
        cfg.add_argument(flag, dest=name, type=kind, default=None, help=f"{text} (default: from --config)")
    cfg.add_argument("--mixed-precision", dest="mixed_precision", default=None, choices=MIXED_PRECISION_CHOICES,
                     help="auto (bf16 on CUDA), on or off (default: from --config)")
    cfg.add_argument("--mirror", dest="mirror", action=argparse.BooleanOptionalAction, default=None,
                     help="add x-flipped copies of the data (default: from --config)")
    p.add_argument("--dry-run", action="store_true",
                   help="print the resolved options as one JSON object ({gan, train}) and exit")


@dataclass(frozen=True)
class TrainPlan:
    """Everything `train()` will be called with, resolved and checked before anything is written."""
    gan_cfg: GANConfig
    train_cfg: TrainConfig
    data_dir: str
    out_dir: str
    resume_from: str | None = None  # continue exactly
    init_from: str | None = None  # fine-tune from these weights


def _overrides(args) -> dict:
    names = [name for _, name, _, _ in OVERRIDES] + ["mixed_precision", "mirror"]
    return {name: getattr(args, name) for name in names if getattr(args, name) is not None}


def _checkpoint_in(path: str, flag: str) -> str:
    from .checkpoint import latest_checkpoint

    if Path(path).is_dir():
        found = latest_checkpoint(path)
        if found is None:
            raise ConfigError(f"{flag}: {path} holds no checkpoint-*.pt yet")
        return str(found)
    if not Path(path).is_file():
        raise ConfigError(f"{flag}: {path} is neither a checkpoint nor a run folder")
    return path


def _continued_plan(args) -> TrainPlan:
    from .checkpoint import load_checkpoint
    from .config import gan_config_from_dict, train_config_from_dict

    if args.config or args.out not in (None, args.continue_dir):
        raise ConfigError("--continue: the run keeps its own config and folder; leave out --config and --out")
    ckpt_path = _checkpoint_in(args.continue_dir, "--continue")
    ckpt = load_checkpoint(ckpt_path)
    overrides = _overrides(args)
    gan_cfg = replace(gan_config_from_dict(ckpt["gan_config"]),
                      **{k: v for k, v in overrides.items() if k in field_names(GANConfig)})
    train_cfg = replace(train_config_from_dict(ckpt["train_config"]),
                        **{k: v for k, v in overrides.items() if k in field_names(TrainConfig)})
    data_dir = args.data
    if data_dir is None:
        config_file = Path(args.continue_dir) / "config.json"
        data_dir = json.loads(config_file.read_text())["data_dir"] if config_file.is_file() else None
    if data_dir is None:
        raise ConfigError(f"--data: {args.continue_dir} has no config.json naming its data; give --data")
    return TrainPlan(gan_cfg.validate(), train_cfg.validate(), data_dir, args.continue_dir, resume_from=ckpt_path)


def resolve_train(args) -> TrainPlan:
    """The train command's flags as one plan; ConfigError (naming the flag) when they do not fit."""
    if args.continue_dir:
        return _continued_plan(args)
    if args.data is None or args.out is None:
        raise ConfigError(f"{'--data' if args.data is None else '--out'}: required (unless --continue)")
    init_from = _checkpoint_in(args.resume, "--resume") if args.resume else None
    # --resume starts a new run from other weights: the recipe's fine-tune rule applies.
    gan_cfg, train_cfg = resolve(args.config or "tiny", _overrides(args), fine_tune=bool(init_from))
    return TrainPlan(gan_cfg, train_cfg, args.data, args.out, init_from=init_from)


def _print_progress(info: dict) -> None:
    losses = " ".join(f"{k}={v:.3f}" for k, v in info["losses"].items())
    speed = f"{info['sec_per_kimg']:.1f}s/kimg" if info["sec_per_kimg"] else "-"
    extra = f" -> {info['checkpoint']}" if "checkpoint" in info else ""
    print(f"kimg {info['kimg']:.3f}/{info['total_kimg']} {speed} p={info['augment_p']:.3f} {losses}{extra}",
          flush=True)


def run_train(args) -> dict:
    from .train import train  # imported here so --help stays fast

    plan = resolve_train(args)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    if args.dry_run:
        print(json.dumps(config_dict(plan.gan_cfg, plan.train_cfg)))
        return {"status": "dry-run"}
    result = train(plan.train_cfg, plan.gan_cfg, plan.data_dir, plan.out_dir, resume_from=plan.resume_from,
                   init_from=plan.init_from, progress_fn=_print_progress, device=args.device,
                   processes=args.processes)
    if "checkpoint" in result:  # only rank 0 writes files, so only rank 0 has something to say
        print(json.dumps({k: result[k] for k in ("status", "kimg", "checkpoint", "grid") if k in result}))
    return result


# ---- sample, project, morph ---------------------------------------------------------------------

def _render_flags(p, *, psi: str | None) -> None:
    """What the rendering commands share: --psi and --noise-mode (unless `psi` is None), --class-idx, --device."""
    if psi is not None:
        p.add_argument("--psi", type=finite_float, default=1.0, help=f"{psi} (default: %(default)s)")
        p.add_argument("--noise-mode", default="const", choices=NOISE_MODES,
                       help="noise inputs (default: %(default)s)")
    p.add_argument("--class-idx", type=non_negative_int, default=None,
                   help="class for conditional models (default: none)")
    p.add_argument("--device", default=None, type=device_flag, help=DEVICE_HELP)


def _sample_parser(sub) -> None:
    p = sub.add_parser("sample", help="write seedNNNN.png images from a checkpoint")
    p.add_argument("checkpoint", help="a checkpoint .pt written by train (or imported)")
    p.add_argument("--seeds", default="0-15", help="seeds, e.g. '0-2500' or '1,5,9' (default: %(default)s)")
    p.add_argument("--out", required=True, help="output folder")
    p.add_argument("--batch-size", type=positive_int, default=16,
                   help="images between progress reports; each image is still rendered alone, so this never "
                        "changes a byte (default: %(default)s)")
    _render_flags(p, psi="truncation psi")


def run_sample(args) -> list:
    from .sample import generate_images
    from .seeds import parse_seeds

    paths = generate_images(args.checkpoint, parse_seeds(args.seeds), args.out, psi=args.psi,
                            noise_mode=args.noise_mode, class_idx=args.class_idx,
                            batch_size=args.batch_size, device=args.device)
    print(f"wrote {len(paths)} images to {args.out}")
    return paths


def _project_parser(sub) -> None:
    p = sub.add_parser("project", help="find the w whose image reproduces a target image")
    p.add_argument("checkpoint", help="a checkpoint .pt with a discriminator (written by train)")
    p.add_argument("--target", required=True, help="image to reproduce (squared and resized to fit)")
    p.add_argument("--out", required=True, help="output folder: projected_w.npz, projected.png, target.png")
    p.add_argument("--steps", type=positive_int, default=1000, help="optimisation steps (default: %(default)s)")
    _render_flags(p, psi=None)


def run_project(args) -> dict:
    from .project import project

    result = project(args.checkpoint, args.target, args.out, steps=args.steps, class_idx=args.class_idx,
                     device=args.device)
    history = result["loss_history"]
    print(f"projected {args.target}: loss {history[0]:.4f} -> {history[-1]:.4f}, in {args.out}")
    return result


def _morph_parser(sub) -> None:
    p = sub.add_parser("morph", help="frames on a straight line in W between two seeds or projections")
    p.add_argument("checkpoint", help="a checkpoint .pt")
    p.add_argument("--source", required=True, help="a seed (e.g. 42) or a projected_w.npz")
    p.add_argument("--target", required=True, help="a seed or a projected_w.npz")
    p.add_argument("--out", required=True, help="output folder: frameNNNN.png and morph.gif")
    p.add_argument("--frames", type=positive_int, default=30, help="frames, both ends included (default: %(default)s)")
    _render_flags(p, psi="truncation psi for seeds")


def run_morph(args) -> dict:
    from .morph import morph

    result = morph(args.checkpoint, args.source, args.target, args.out, frames=args.frames, psi=args.psi,
                   noise_mode=args.noise_mode, class_idx=args.class_idx, device=args.device)
    print(f"{len(result['frames'])} frames and {result['animation']}")
    return result


COMMANDS = {"train": (_train_parser, run_train), "sample": (_sample_parser, run_sample),
            "project": (_project_parser, run_project), "morph": (_morph_parser, run_morph)}


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineParser(prog=PROG, description=__doc__.splitlines()[0])
    sub = parser.add_subparsers(dest="command", required=True)
    for add_parser, _ in COMMANDS.values():
        add_parser(sub)
    return parser


def main(argv: list[str] | None = None):
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return COMMANDS[args.command][1](args)
    except (ConfigError, ValueError, FileNotFoundError) as exc:  # bad input: one line, no traceback
        parser.exit(2, f"{PROG} {args.command}: error: {exc}\n")


if __name__ == "__main__":
    main()
