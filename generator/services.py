"""Generator workflows: create and train runs, sample seeds into datasets, project, morph.

The pure package generator.gan does the work; these functions pick the data, write progress to
the run row, and register outputs. torch is imported inside the functions that need it, so that
the web process and the RQ worker's parent never load it (a forked work-horse must be the first to
touch CUDA: "Cannot re-initialize CUDA in forked subprocess").
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError

from cansite.jobs import ProgressWriter as JobProgressWriter
from cansite.jobs import drive
from common.labels import normalise_label
from datasets.export import export_dataset
from datasets.models import Dataset, dataset_name_validator

from .models import Checkpoint, TrainingRun


class RunError(ValueError):
    """A run cannot be created or continued as asked; the message names the flag or field."""


def resolve_config(config_name: str, overrides: dict, *, fine_tune: bool = False,
                   network: dict | None = None) -> dict:
    """The run's stored config: generator.gan.recipe.resolve, plus the --freeze-d bound."""
    from generator.gan.config import ConfigError, config_dict
    from generator.gan.recipe import resolve

    try:
        gan_cfg, train_cfg = resolve(config_name, overrides, fine_tune=fine_tune, network=network)
    except ConfigError as exc:
        raise RunError(str(exc)) from None
    check_freeze_d(gan_cfg, train_cfg.freeze_d)
    return config_dict(gan_cfg, train_cfg)


def parent_network(parent: TrainingRun) -> dict:
    """A fine-tune keeps the network its weights were trained as (an imported network's shape and
    classes, an old run's discriminator), with the named config's training schedule."""
    from dataclasses import asdict

    from generator.gan.config import gan_config_from_dict

    return asdict(gan_config_from_dict(parent.config["gan"]))


def check_freeze_d(gan_cfg, freeze_d: int) -> None:
    """--freeze-d counts the discriminator's block layers: refuse more than it has now, not when
    training starts (the network is built on the meta device: shapes only, no memory, no time)."""
    import torch

    from generator.gan.networks import Discriminator

    with torch.device("meta"):
        count = len(Discriminator(gan_cfg).block_layers())
    if not 0 <= freeze_d <= count:
        raise RunError(f"--freeze-d: the {gan_cfg.resolution} px discriminator has {count} block layers; "
                       f"got {freeze_d}")


def check_run_name(name: str) -> None:
    try:
        dataset_name_validator(name)
    except ValidationError:
        raise RunError(f"--name: {name!r} is not a run name (1-64 letters, digits, '_', '.' or '-', "
                       "starting with a letter or digit: it names a folder)") from None


def check_processes(config: dict, processes: int | None) -> None:
    """--processes must split the batch into whole minibatch-stddev groups (see generator.gan.distributed)."""
    from generator.gan.config import ConfigError, gan_config_from_dict, train_config_from_dict
    from generator.gan.train import split_group

    if processes is None:
        return
    try:
        split_group(train_config_from_dict(config["train"]), gan_config_from_dict(config["gan"]), processes)
    except ConfigError as exc:
        raise RunError(f"--processes: {exc}") from None


def training_processes(run: TrainingRun, device=None) -> int:
    """The run's --processes, else one process per GPU of this host (as many as split the batch), else 1.
    Every GPU only for a device that names none of them: "auto" (or None) and "cuda", by common.devices."""
    import torch

    from common.devices import resolve_device
    from generator.gan.config import ConfigError

    asked = run.config.get("processes")
    chosen = resolve_device(device)
    gpus = torch.cuda.device_count() if chosen.type == "cuda" and chosen.index is None else 0
    if asked:
        if gpus and asked > gpus:
            raise RunError(f"--processes: {asked} processes, one per GPU, but this host has {gpus} GPUs")
        return int(asked)
    for count in range(gpus, 1, -1):
        try:
            check_processes(run.config, count)
            return count
        except (RunError, ConfigError):
            continue
    return 1


def create_run(*, name: str, dataset: Dataset, config_name: str, label: str = "", overrides: dict | None = None,
               parent: TrainingRun | None = None, init_checkpoint: str = "",
               processes: int | None = None) -> TrainingRun:
    """Validate everything, then create the queued run (nothing is created when a check fails)."""
    run = plan_run(name=name, dataset=dataset, config_name=config_name, label=label, overrides=overrides,
                   parent=parent, init_checkpoint=init_checkpoint, processes=processes)
    run.save()
    return run


def plan_run(*, name: str, dataset: Dataset, config_name: str, label: str = "", overrides: dict | None = None,
             parent: TrainingRun | None = None, init_checkpoint: str = "",
             processes: int | None = None) -> TrainingRun:
    """The run create_run would save, validated and unsaved (`train_gan --dry-run` prints its config).

    Starting from a parent run or a checkpoint file is a fine-tune (NVIDIA's --resume): the recipe's
    fine-tune rule applies, and a parent's network shape is kept.
    """
    check_run_name(name)
    if TrainingRun.objects.filter(name=name).exists():
        raise RunError(f"--name: a run named {name!r} exists (train it again to continue it)")
    label = normalise_label(label) if label else ""  # as the dataset's labels were, at import
    if label and not dataset.images.ok().filter(label=label).exists():
        labels = sorted(set(dataset.images.ok().values_list("label", flat=True)))
        raise RunError(f"--label: {dataset.name} has no downloaded images labelled {label!r} (labels: {labels})")
    if not dataset.images.ok().exists():
        raise RunError(f"--dataset: {dataset.name} has no downloaded images yet (run download_images first)")
    network = None
    if parent is not None:
        if not parent.latest_checkpoint:
            raise RunError(f"--resume: run {parent.name!r} has no checkpoint yet")
        init_checkpoint = parent.latest_checkpoint
        network = parent_network(parent)
    if init_checkpoint and not Path(init_checkpoint).is_file():
        raise RunError(f"--resume: {init_checkpoint} does not exist")
    config = {**resolve_config(config_name, overrides or {}, fine_tune=bool(init_checkpoint), network=network),
              "processes": processes}
    check_processes(config, processes)
    run = TrainingRun(name=name, dataset=dataset, label=label, config_name=config_name, config=config,
                      parent=parent, init_checkpoint=init_checkpoint, total_kimg=config["train"]["kimg"])
    run.full_clean(exclude=["config", "loss_history", "losses", "metrics"])
    return run


def continue_run(run: TrainingRun, *, kimg: float | None = None, processes: int | None = None) -> TrainingRun:
    """Queue a stopped run again: it resumes from its last checkpoint (optionally to more kimg, in
    another number of processes: every process keeps the same random stream, so that is exact too)."""
    run.config = continued_config(run, kimg=kimg, processes=processes)
    run.total_kimg = run.total_kimg if kimg is None else kimg
    run.requeue()
    run.save()
    return run


def continued_config(run: TrainingRun, *, kimg: float | None = None, processes: int | None = None) -> dict:
    """The config a continuation of `run` trains with: its own, to the new kimg (nothing resolved again)."""
    if run.is_active and not run.is_stale():
        raise RunError(f"run {run.name!r} is {run.status}; cancel it first or wait")
    if run.dataset_id is None:
        raise RunError(f"--name: run {run.name!r} was imported, not trained here: start a new run from it "
                       f"with --resume {run.name}")
    total = run.total_kimg if kimg is None else kimg
    if run.kimg >= total:
        raise RunError(f"--kimg: run {run.name!r} already trained {run.kimg:g} kimg; ask for more")
    check_processes(run.config, processes)
    return {**run.config, "train": {**run.config["train"], "kimg": total},
            "processes": processes or run.config.get("processes")}


def training_data_dir(run: TrainingRun) -> Path:
    """The run's images squared and resized to the config's resolution, cached for later runs."""
    # Squaring and resizing LESION130k at 512 px takes many minutes: keep the heartbeat fresh meanwhile.
    return prepared_images(run.dataset, run.label, run.resolution, beat=run.beat)


def prepared_images(dataset: Dataset, label: str, resolution: int, *, beat=None) -> Path:
    """A dataset's images (one label, or all) squared and resized, cached under MEDIA_ROOT/gan-data."""
    folder = Path(settings.MEDIA_ROOT) / "gan-data" / dataset.name / f"{label or 'all'}-{resolution}px"
    summary = export_dataset(dataset=dataset, dest=folder, square=True, size=resolution,
                             labels=[label] if label else None, progress=beat)
    if summary.written + summary.skipped == 0:
        raise RunError(f"dataset {dataset.name}{f' label {label}' if label else ''} has no images")
    return folder


def train_run(*, run_id: int, job_id: str = "", job=None, device=None) -> str:
    """Train a run to its kimg; returns its final status. Resumes from its latest checkpoint."""

    def work(run: TrainingRun) -> bool:
        from generator.gan.checkpoint import latest_checkpoint
        from generator.gan.config import gan_config_from_dict, train_config_from_dict
        from generator.gan.train import train

        data_dir = training_data_dir(run)
        resume = latest_checkpoint(run.out_dir)
        # Several processes: this one is rank 0, writes progress and heartbeats and reads the cancel flag.
        result = train(train_config_from_dict(run.config["train"]), gan_config_from_dict(run.config["gan"]),
                       data_dir, run.out_dir, resume_from=resume,
                       init_from=None if resume else (run.init_checkpoint or None),
                       progress_fn=ProgressWriter(run, job), abort_fn=run.cancel_flag(), device=device,
                       processes=training_processes(run, device))
        return result["status"] == "done"

    return drive(TrainingRun, run_id, job_id, work, related=("dataset",), ended={"eta_s": None})


class ProgressWriter(JobProgressWriter):
    """progress_fn for the training loop: the run row, its checkpoints, and the RQ job's meta."""

    fields = ("kimg", "augment_p", "sec_per_kimg", "eta_s")
    meta = ("kimg", "total_kimg", "sec_per_kimg", "eta_s", "augment_p", "losses")

    def extra(self, info: dict) -> dict:
        run, values = self.row, {}
        if info.get("losses"):
            run.record_losses(info["kimg"], info["losses"])
            values.update(losses=info["losses"], loss_history=run.loss_history)
        if info.get("checkpoint"):
            values.update(self.record_checkpoint(info))
        return values

    def record_checkpoint(self, info: dict) -> dict:
        grid = Path(info["grid"]).relative_to(settings.MEDIA_ROOT).as_posix() if info.get("grid") else ""
        Checkpoint.objects.update_or_create(run=self.row, path=info["checkpoint"],
                                            defaults={"kimg": info["kimg"], "grid": grid})
        return {"latest_checkpoint": info["checkpoint"], "latest_grid": grid}


def checkpoint_of(run: TrainingRun) -> str:
    if not run.latest_checkpoint or not Path(run.latest_checkpoint).is_file():
        raise RunError(f"--run: {run.name!r} has no checkpoint yet")
    return run.latest_checkpoint
