"""Plain helpers for the seed-page tests: a tiny untrained checkpoint, a run that owns it, a publication."""
from __future__ import annotations

from dataclasses import asdict
from pathlib import Path

from django.core.management import call_command

from datasets.models import Dataset
from generator.models import TrainingRun
from seeds.models import Publication

TINY = dict(resolution=32, channel_max=32, z_dim=32, w_dim=32, mapping_layers=2)


def make_checkpoint(path: Path, weights_seed: int = 0) -> Path:
    """A 32 px generator with random weights, saved in our checkpoint format (no training: fast)."""
    import torch

    from generator.gan.checkpoint import save_checkpoint
    from generator.gan.config import get_config
    from generator.gan.networks import Generator

    gan_cfg, train_cfg = get_config("tiny", **TINY)
    torch.manual_seed(weights_seed)
    G = Generator(gan_cfg).eval()
    return save_checkpoint(path, {"gan_config": asdict(gan_cfg), "train_config": asdict(train_cfg),
                                  "G": G.state_dict(), "G_ema": G.state_dict(), "counters": {"kimg": 1.0}})


def make_run(name: str, media_root: Path, *, label: str = "melanoma", weights_seed: int = 0) -> TrainingRun:
    dataset = Dataset.objects.get_or_create(name="lesions", defaults={"kind": Dataset.Kind.FOLDER,
                                                                      "source": "/tmp/lesions"})[0]
    ckpt = make_checkpoint(media_root / "gan-runs" / name / "checkpoint-000001.000kimg.pt", weights_seed)
    from generator.gan.config import config_dict, get_config

    return TrainingRun.objects.create(name=name, dataset=dataset, label=label, config_name="tiny",
                                      config=config_dict(*get_config("tiny", **TINY)), total_kimg=1.0, kimg=1.0,
                                      latest_checkpoint=str(ckpt), status="done")


def publish(run: str, seeds: str = "0-4", *args: str) -> Publication:
    call_command("publish_seeds", "--run", run, "--seeds", seeds, "--now", "-v", "0", *args)
    return Publication.objects.filter(run__name=run).latest("id")
