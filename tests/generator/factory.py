"""Data for the generator's tests: a small folder of painted lesion images, imported as a dataset, and a tiny run."""
from pathlib import Path

import numpy as np
from django.core.management import call_command
from PIL import Image

from generator.models import TrainingRun

KIMG = 0.032  # four steps of the tiny config's batch of 8


def make_lesion_folder(root: Path, per_label: int = 8) -> Path:
    rng = np.random.default_rng(0)
    for label, colour in (("melanoma", (60, 30, 30)), ("nevus", (150, 100, 60))):
        (root / label).mkdir(parents=True)
        for i in range(per_label):
            pixels = np.clip(np.array(colour) + rng.normal(0, 20, (40, 40, 3)), 0, 255).astype(np.uint8)
            Image.fromarray(pixels).save(root / label / f"{i}.png")
    return root


def train(name="run1", **extra) -> TrainingRun:
    """`train_gan --now` of the tiny config for KIMG; extra flags as keywords (dataset="lesions")."""
    args = ["train_gan", "--name", name, "--config", "tiny", "--kimg", str(KIMG), "--now"]
    for key, value in extra.items():
        args += [f"--{key.replace('_', '-')}", str(value)]
    call_command(*args)
    return TrainingRun.objects.get(name=name)
