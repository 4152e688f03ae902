"""Generator workflows: create and train runs, sample seeds into datasets, project, morph.

The pure package generator.gan does the work; these functions pick the data, write progress to
the run row, and register outputs. torch is imported inside the functions that need it, so that
the web process and the RQ worker's parent never load it (a forked work-horse must be the first to
touch CUDA: "Cannot re-initialize CUDA in forked subprocess").
"""

from __future__ import annotations

import traceback
from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.db.models import Q
from django.utils import timezone

from cansite.queues import throttled
from datasets.export import export_dataset
from datasets.models import Dataset

from .models import Checkpoint, TrainingRun

ABORT_POLL_S = 1.0


class RunError(ValueError):
    """A run cannot be created or continued as asked; the message names the flag or field."""


def resolve_config(config_name: str, overrides: dict) -> dict:
    from generator.gan.config import ConfigError, config_dict, get_config

    try:
        gan_cfg, train_cfg = get_config(config_name, **{k: v for k, v in overrides.items() if v is not None})
    except ConfigError as exc:
        raise RunError(str(exc)) from None
    return config_dict(gan_cfg, train_cfg)


def create_run(*, name: str, dataset: Dataset, config_name: str, label: str = "", overrides: dict | None = None,
               parent: TrainingRun | None = None, init_checkpoint: str = "") -> TrainingRun:
    if TrainingRun.objects.filter(name=name).exists():
        raise RunError(f"--name: a run named {name!r} exists (train it again to continue it)")
    if label and not dataset.images.ok().filter(label=label).exists():
        labels = sorted(set(dataset.images.ok().values_list("label", flat=True)))
        raise RunError(f"--label: {dataset.name} has no downloaded images labelled {label!r} (labels: {labels})")
    if parent is not None:
        if not parent.latest_checkpoint:
            raise RunError(f"--resume: run {parent.name!r} has no checkpoint yet")
        init_checkpoint = parent.latest_checkpoint
    if init_checkpoint and not Path(init_checkpoint).is_file():
        raise RunError(f"--from-checkpoint: {init_checkpoint} does not exist")
    config = resolve_config(config_name, overrides or {})
    run = TrainingRun(name=name, dataset=dataset, label=label, config_name=config_name, config=config,
                      parent=parent, init_checkpoint=init_checkpoint, total_kimg=config["train"]["kimg"])
    run.full_clean(exclude=["config", "loss_history", "losses", "metrics"])
    run.save()
    return run


def continue_run(run: TrainingRun, *, kimg: float | None = None) -> TrainingRun:
    """Queue a stopped run again: it resumes from its last checkpoint (optionally to more kimg)."""
    if run.is_active and not run.is_stale():
        raise RunError(f"run {run.name!r} is {run.status}; cancel it first or wait")
    if kimg is not None:
        run.config = {**run.config, "train": {**run.config["train"], "kimg": kimg}}
        run.total_kimg = kimg
    if run.kimg >= run.total_kimg:
        raise RunError(f"--kimg: run {run.name!r} already trained {run.kimg:g} kimg; ask for more")
    run.status, run.cancel_requested, run.error, run.finished_at = TrainingRun.Status.QUEUED, False, "", None
    run.save()
    return run


def training_data_dir(run: TrainingRun) -> Path:
    """The run's images squared and resized to the config's resolution, cached for later runs."""
    resolution = run.resolution
    folder = Path(settings.MEDIA_ROOT) / "gan-data" / run.dataset.name / f"{run.label or 'all'}-{resolution}px"
    summary = export_dataset(dataset=run.dataset, dest=folder, square=True, size=resolution,
                             labels=[run.label] if run.label else None)
    if summary.written + summary.skipped == 0:
        raise RunError(f"dataset {run.dataset.name}{f' label {run.label}' if run.label else ''} has no images")
    return folder


def claim(run_id: int, job_id: str) -> bool:
    """Take the run for this job. A job may run twice: only a queued run, a run this same job
    id held before its worker died (RQ retried it), or a silent one is taken."""
    stale = timezone.now() - timedelta(minutes=5)
    takeable = Q(status=TrainingRun.Status.QUEUED) | Q(status=TrainingRun.Status.RUNNING) & (
        Q(job_id=job_id) & ~Q(job_id="") | Q(heartbeat__lt=stale) | Q(heartbeat__isnull=True))
    return bool(TrainingRun.objects.filter(takeable, id=run_id).update(
        status=TrainingRun.Status.RUNNING, heartbeat=timezone.now(), job_id=job_id, started_at=timezone.now()))


def train_run(*, run_id: int, job_id: str = "", job=None, device=None) -> str:
    """Train a run to its kimg; returns its final status. Resumes from its latest checkpoint."""
    from generator.gan.checkpoint import latest_checkpoint
    from generator.gan.config import gan_config_from_dict, train_config_from_dict
    from generator.gan.train import train

    if not claim(run_id, job_id):
        return "skipped"
    run = TrainingRun.objects.select_related("dataset").get(id=run_id)
    try:
        data_dir = training_data_dir(run)
        resume = latest_checkpoint(run.out_dir)
        result = train(train_config_from_dict(run.config["train"]), gan_config_from_dict(run.config["gan"]),
                       data_dir, run.out_dir, resume_from=resume,
                       init_from=None if resume else (run.init_checkpoint or None),
                       progress_fn=ProgressWriter(run, job), abort_fn=abort_flag(run.id), device=device)
    except Exception:
        TrainingRun.objects.filter(id=run.id).update(status=TrainingRun.Status.FAILED, error=traceback.format_exc(),
                                                     finished_at=timezone.now())
        raise
    status = TrainingRun.Status.DONE if result["status"] == "done" else TrainingRun.Status.CANCELLED
    TrainingRun.objects.filter(id=run.id).update(status=status, finished_at=timezone.now(), eta_s=None)
    return status


def abort_flag(run_id: int):
    return throttled(lambda: TrainingRun.objects.filter(id=run_id, cancel_requested=True).exists(), ABORT_POLL_S)


class ProgressWriter:
    """progress_fn for the training loop: the run row, its checkpoints, and the RQ job's meta."""

    def __init__(self, run: TrainingRun, job=None):
        self.run, self.job = run, job

    def __call__(self, info: dict) -> None:
        run = self.run
        run.kimg, run.augment_p = info["kimg"], info["augment_p"]
        run.sec_per_kimg, run.eta_s = info.get("sec_per_kimg"), info.get("eta_s")
        if info.get("losses"):
            run.losses = info["losses"]
            run.record_losses(info["kimg"], info["losses"])
        if info.get("checkpoint"):
            self.record_checkpoint(info)
        run.heartbeat = timezone.now()
        run.save(update_fields=["kimg", "augment_p", "sec_per_kimg", "eta_s", "losses", "loss_history",
                                "latest_checkpoint", "latest_grid", "heartbeat"])
        if self.job is not None:
            self.job.meta["progress"] = {k: info.get(k) for k in ("kimg", "total_kimg", "sec_per_kimg", "eta_s",
                                                                   "augment_p", "losses")}
            self.job.save_meta()

    def record_checkpoint(self, info: dict) -> None:
        grid = Path(info["grid"]).relative_to(settings.MEDIA_ROOT).as_posix() if info.get("grid") else ""
        self.run.latest_checkpoint, self.run.latest_grid = info["checkpoint"], grid
        Checkpoint.objects.update_or_create(run=self.run, path=info["checkpoint"],
                                            defaults={"kimg": info["kimg"], "grid": grid})


def request_cancel(run: TrainingRun) -> bool:
    """Ask a run to stop at its next step (it keeps a checkpoint); a queued run stops at once."""
    if run.status == TrainingRun.Status.QUEUED:
        return bool(TrainingRun.objects.filter(id=run.id, status=TrainingRun.Status.QUEUED).update(
            status=TrainingRun.Status.CANCELLED, cancel_requested=True, finished_at=timezone.now()))
    return bool(TrainingRun.objects.filter(id=run.id, status=TrainingRun.Status.RUNNING).update(cancel_requested=True))


def checkpoint_of(run: TrainingRun) -> str:
    if not run.latest_checkpoint or not Path(run.latest_checkpoint).is_file():
        raise RunError(f"--run: {run.name!r} has no checkpoint yet")
    return run.latest_checkpoint
