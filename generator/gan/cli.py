"""Command line for training: python -m generator.gan.train --config tiny --data DIR --out DIR --kimg 0.5

Flags left out keep the named config's value; the resolved configs are written
to OUT/config.json before training starts. Progress prints one line per report.
"""

from __future__ import annotations

import argparse
import json

from .config import CONFIGS, ConfigError, config_dict
from .recipe import resolve

# (flag, field, type, help); default None means "keep the named config's value".
OVERRIDES = [
    ("--kimg", "kimg", float, "train until this many thousand real images were shown (fractions allowed)"),
    ("--batch", "batch", int, "global batch size, split across GPUs"),
    ("--gamma", "gamma", float, "R1 regularisation weight"),
    ("--glr", "glr", float, "generator learning rate"),
    ("--dlr", "dlr", float, "discriminator learning rate"),
    ("--freeze-d", "freeze_d", int, "freeze the first N discriminator layers (fine-tuning)"),
    ("--seed", "seed", int, "random seed"),
    ("--ada-target", "ada_target", float, "ADA target for E[sign(D(real))]"),
    ("--augment-p", "augment_p", float, "initial augmentation probability"),
    ("--checkpoint-every", "checkpoint_every_kimg", float, "write a checkpoint every N kimg"),
    ("--workers", "num_workers", int, "data loading processes per GPU"),
    ("--mixed-precision", "mixed_precision", str, "auto (bf16 on CUDA), on or off"),
    ("--resolution", "resolution", int, "image side in pixels"),
    ("--num-classes", "num_classes", int, "classes for a conditional model (0 = unconditional)"),
]


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="python -m generator.gan.train", description=__doc__.splitlines()[0])
    paths = parser.add_argument_group("data and output")
    paths.add_argument("--data", required=True, help="folder of images, DATA/<label>/*.png|jpg")
    paths.add_argument("--out", required=True, help="run folder for checkpoints, grids and config.json")
    paths.add_argument("--device", default=None, help="cpu, cuda or cuda:N (default: cuda when available)")
    paths.add_argument("--threads", type=int, default=None,
                       help="torch CPU threads (default: torch's choice; 1 is often faster on a busy CPU)")
    start = parser.add_argument_group("starting point").add_mutually_exclusive_group()
    start.add_argument("--resume", default=None, help="checkpoint of this run to continue exactly (default: none)")
    start.add_argument("--init-from", default=None,
                       help="checkpoint whose weights start a fine-tune (default: none, random init)")
    cfg = parser.add_argument_group("configuration (unset flags keep the named config's value)")
    cfg.add_argument("--config", default="tiny", choices=sorted(CONFIGS), help="named config (default: %(default)s)")
    for flag, name, kind, text in OVERRIDES:
        cfg.add_argument(flag, dest=name, type=kind, default=None, help=f"{text} (default: from --config)")
    cfg.add_argument("--mirror", dest="mirror", action=argparse.BooleanOptionalAction, default=None,
                     help="add x-flipped copies of the data (default: from --config)")
    parser.add_argument("--dry-run", action="store_true",
                        help="print the resolved options as one JSON object ({gan, train}) and exit")
    return parser


def main(argv: list[str] | None = None) -> dict:
    from .train import train  # imported here so --help stays fast

    args = build_parser().parse_args(argv)
    if args.threads:
        import torch

        torch.set_num_threads(args.threads)
    names = [name for _, name, _, _ in OVERRIDES] + ["mirror"]
    try:  # --init-from starts a new run from other weights: the recipe's fine-tune rule applies
        gan_cfg, train_cfg = resolve(args.config, {name: getattr(args, name) for name in names},
                                     fine_tune=bool(args.init_from))
    except ConfigError as exc:
        raise SystemExit(f"error: {exc}") from None
    if args.dry_run:
        print(json.dumps(config_dict(gan_cfg, train_cfg)))
        return {"status": "dry-run"}

    def progress(info: dict) -> None:
        losses = " ".join(f"{k}={v:.3f}" for k, v in info["losses"].items())
        speed = f"{info['sec_per_kimg']:.1f}s/kimg" if info["sec_per_kimg"] else "-"
        extra = f" -> {info['checkpoint']}" if "checkpoint" in info else ""
        print(f"kimg {info['kimg']:.3f}/{info['total_kimg']} {speed} p={info['augment_p']:.3f} {losses}{extra}",
              flush=True)

    result = train(train_cfg, gan_cfg, args.data, args.out, resume_from=args.resume, init_from=args.init_from,
                   progress_fn=progress, device=args.device)
    if "checkpoint" in result:  # only rank 0 writes files, so only rank 0 has something to say
        print(json.dumps({k: result[k] for k in ("status", "kimg", "checkpoint", "grid") if k in result}))
    return result


if __name__ == "__main__":
    main()
