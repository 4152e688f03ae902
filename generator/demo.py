"""The generator's part of `make demo`: a short `tiny` run on the demo dataset, and a few hundred seeds."""
from __future__ import annotations

from pathlib import Path

from django.conf import settings

from datasets.models import Dataset

from . import services
from .models import TrainingRun
from .outputs import generate_samples

RUN_NAME = "demo-tiny"


def demo_step(*, write, dataset_name: str = "DEMO", kimg: float = 0.4, seeds: int = 200) -> None:
    """Train (or finish training) the demo run, then sample its seeds as the DEMO-GAN dataset."""
    run = TrainingRun.objects.filter(name=RUN_NAME).first()
    if run is None:
        run = services.create_run(name=RUN_NAME, dataset=Dataset.objects.get(name=dataset_name),
                                  config_name="tiny", overrides={"kimg": kimg})
    elif run.status != TrainingRun.Status.DONE:
        services.continue_run(run)
    if run.status != TrainingRun.Status.DONE:
        write(f"training {RUN_NAME} ({kimg:g} kimg of the tiny config on {dataset_name}, CPU: a minute or two)")
        services.train_run(run_id=run.id, job_id=f"demo-{run.id}")
        run.refresh_from_db()
    summary = generate_samples(run=run, seeds=list(range(seeds)), out_dir=Path(settings.VAR_DIR) / "demo" / "gan",
                               dataset_name="DEMO-GAN")
    write(f"{RUN_NAME}: {run.status} at {run.kimg:.2f} kimg; DEMO-GAN: {summary.files} generated images")
