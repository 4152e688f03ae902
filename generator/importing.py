"""Import a network snapshot from NVIDIA's StyleGAN2-ADA training (the CAN paper's c10000.pkl,
m500.pkl, n500.pkl, mn500.pkl) as a finished run, so that every tool that takes a run takes it.

The file is read by generator.gan.snapshot's restricted unpickler (nothing in it runs), converted
to our own plain-data checkpoint under MEDIA_ROOT/gan-runs/<name>/, and registered as a done run
with no training dataset, marked imported, with the file's SHA-256. Everything is checked before
anything is written; a failure after the checkpoint is written removes it again.

    run = import_stylegan(path="c10000.pkl", name="can-c10000")
"""

from __future__ import annotations

import re
import shutil
from pathlib import Path

from django.db import IntegrityError, transaction
from django.utils import timezone

from cansite.status import JobStatus
from common.files import sha256_of
from common.labels import normalise_label

from .models import Checkpoint, TrainingRun
from .services import RunError, check_run_name

SAFE_NAME = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$")  # labels and class names become folder names
KIMG_IN_NAME = re.compile(r"(\d+)\.pkl$", re.IGNORECASE)  # network-snapshot-000500.pkl, m500.pkl
IMPORTED_CONFIG = "imported"  # config_name of a run whose networks match no named config


def kimg_from_name(name: str) -> float | None:
    match = KIMG_IN_NAME.search(name)
    return float(match.group(1)) if match else None


def check_request(*, path: Path, name: str, label: str) -> None:
    check_run_name(name)
    if TrainingRun.objects.filter(name=name).exists():
        raise RunError(f"--name: a run named {name!r} exists")
    if label and not SAFE_NAME.match(label):
        raise RunError(f"--label: {label!r} is not a label (1-64 letters, digits, '_', '.' or '-')")
    if not path.is_file():
        raise RunError(f"{path}: no such file")
    out_dir = TrainingRun(name=name).out_dir
    if out_dir.exists() and any(out_dir.iterdir()):
        raise RunError(f"--name: the run folder {out_dir} exists and is not empty")


def class_names(num_classes: int, classes: list[str] | None) -> list[str]:
    """Names of a conditional network's classes in index order (default: "0", "1", ...)."""
    if not num_classes:
        if classes:
            raise RunError("--classes: this network is unconditional (it has no classes)")
        return []
    names = [normalise_label(c) for c in classes] if classes else [str(i) for i in range(num_classes)]
    bad = next((n for n in names if not SAFE_NAME.match(n)), None)
    if bad is not None:
        raise RunError(f"--classes: {bad!r} is not a class name (letters, digits, '_', '.' or '-')")
    if len(names) != num_classes or len(set(names)) != len(names):
        raise RunError(f"--classes: this network has {num_classes} classes; give {num_classes} distinct names")
    return names


def run_config(snap, kimg: float | None) -> tuple[str, dict]:
    """The named config whose networks are the snapshot's (so `train_gan --resume` can match it),
    with the snapshot's augmentation p and x-flips; else the default training settings."""
    from dataclasses import asdict, replace

    from generator.gan.config import CONFIGS, TrainConfig
    from generator.gan.recipe import with_derived

    config_name, train_cfg = next(((n, t) for n, (g, t) in CONFIGS.items() if g == snap.gan_cfg),
                                  (IMPORTED_CONFIG, TrainConfig()))
    train_cfg = replace(train_cfg, augment_p=snap.augment_p, kimg=kimg or train_cfg.kimg,
                        mirror=bool(snap.training_set.get("xflip", train_cfg.mirror)))
    return config_name, {"gan": asdict(snap.gan_cfg), "train": asdict(with_derived(train_cfg))}


def import_stylegan(*, path, name: str, label: str = "", classes: list[str] | None = None) -> TrainingRun:
    """Register the snapshot at `path` as the finished, imported run `name` (see the module docstring)."""
    from generator.gan.config import train_config_from_dict
    from generator.gan.snapshot import SnapshotError, checkpoint_payload, read_snapshot

    path = Path(path)
    check_request(path=path, name=name, label=label)
    label = normalise_label(label) if label else ""
    try:
        snap = read_snapshot(path)
    except SnapshotError as exc:
        raise RunError(f"{path.name}: {exc}") from None
    except OSError as exc:
        raise RunError(f"{path}: cannot be read ({exc.strerror or exc})") from None
    names = class_names(snap.gan_cfg.num_classes, classes)
    kimg = kimg_from_name(path.name)
    config_name, config = run_config(snap, kimg)
    if names:
        config["classes"] = names
    source = {"file": path.name, "sha256": sha256_of(path), "format": "stylegan2-ada network snapshot"}
    run = TrainingRun(name=name, label=label, config_name=config_name, config=config, total_kimg=kimg or 0.0,
                      kimg=kimg or 0.0, augment_p=snap.augment_p, status=JobStatus.DONE, finished_at=timezone.now(),
                      imported_from=path.name[:255], source_sha256=source["sha256"])
    payload = checkpoint_payload(snap, train_cfg=train_config_from_dict(config["train"]), kimg=kimg or 0.0,
                                 labels=names or [label or "synthetic"], source=source)
    return register(run, payload)


def register(run: TrainingRun, payload: dict) -> TrainingRun:
    """Save the row and write its checkpoint in one transaction: the row's unique name is claimed
    first (a second import of the same name waits, then fails, writing nothing), and a failed
    write leaves neither a row nor a folder behind."""
    from generator.gan.checkpoint import checkpoint_name, save_checkpoint

    out_dir, created = run.out_dir, False
    try:
        with transaction.atomic():
            try:
                run.save()
            except IntegrityError:
                raise RunError(f"--name: a run named {run.name!r} exists") from None
            created = not out_dir.exists()
            try:
                ckpt = save_checkpoint(out_dir / checkpoint_name(payload["counters"]["images_seen"]), payload,
                                       summary={"source": payload["source"]})
            except OSError as exc:
                raise RunError(f"--name: cannot write the run's checkpoint ({exc.strerror or exc})") from None
            run.latest_checkpoint = str(ckpt)
            run.save(update_fields=["latest_checkpoint"])
            Checkpoint.objects.create(run=run, kimg=run.kimg, path=str(ckpt))
    except BaseException:
        if created:
            shutil.rmtree(out_dir, ignore_errors=True)
        raise
    return run


def summary(run: TrainingRun) -> dict:
    """What `import_stylegan --json` prints."""
    gan = run.config["gan"]
    return {"run": run.name, "resolution": gan["resolution"], "classes": run.config.get("classes", []),
            "num_classes": gan["num_classes"], "config": run.config_name, "parameters": parameter_count(run),
            "sha256": run.source_sha256, "kimg": run.kimg, "augment_p": run.augment_p,
            "checkpoint": run.latest_checkpoint}


def parameter_count(run: TrainingRun) -> dict:
    import torch

    from generator.gan.config import gan_config_from_dict
    from generator.gan.networks import Discriminator, Generator, count_parameters

    cfg = gan_config_from_dict(run.config["gan"])
    with torch.device("meta"):  # shapes only
        return {"G": count_parameters(Generator(cfg)), "D": count_parameters(Discriminator(cfg))}
