"""The generator's part of `make demo`, the paper's pipeline in miniature on the CPU: a `tiny`
run pretrained on the whole demo dataset, fine-tuned once per class with the first discriminator
layers frozen, and a hundred seeds sampled from each into the synthetic dataset DEMO-GAN."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from datasets.models import Dataset

from . import services
from .models import TrainingRun
from .outputs import generate_samples

PRETRAIN = "demo-tiny"
LABELS = ("melanoma", "nevus")


def trained(name: str, write, **create) -> TrainingRun:
    """The run of that name trained to the end: created, continued or left as it is."""
    run = TrainingRun.objects.filter(name=name).first()
    if run is None:
        run = services.create_run(name=name, config_name="tiny", **create)
    elif run.status != TrainingRun.Status.DONE:
        services.continue_run(run)
    if run.status != TrainingRun.Status.DONE:
        write(f"training {name} ({run.total_kimg:g} kimg of the tiny config on the CPU)")
        services.train_run(run_id=run.id, job_id=f"demo-{run.id}")
        run.refresh_from_db()
    return run


def demo_step(*, write, dataset_name: str = "DEMO", seeds: int = 100) -> None:
    dataset = Dataset.objects.get(name=dataset_name)
    parent = trained(PRETRAIN, write, dataset=dataset, overrides={"kimg": 2.0})
    out = Path(settings.VAR_DIR) / "demo" / "gan"
    for label in LABELS:
        run = trained(f"{PRETRAIN}-{label}", write, dataset=dataset, label=label, parent=parent,
                      overrides={"kimg": 0.5, "freeze_d": 4})
        summary = generate_samples(run=run, seeds=list(range(seeds)), out_dir=out, dataset_name="DEMO-GAN")
    write(f"DEMO-GAN: {summary.files} generated images ({', '.join(f'{k} {v}' for k, v in summary.labels.items())})")
