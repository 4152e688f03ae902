"""GAN training runs and their checkpoints.

A TrainingRun is one StyleGAN2-ADA training (pretraining, or a fine-tune from a parent run or a
checkpoint file) on a dataset, optionally one label of it. The pure package generator.gan does the
work; the run row holds what people watch: status, kimg, speed, losses, augmentation p, samples.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models

from cansite.status import JobRecord, JobStatus
from datasets.models import Dataset, dataset_name_validator

LOSS_HISTORY_MAX = 2000  # points kept for the loss curves; older ones are thinned out


class TrainingRunQuerySet(models.QuerySet):
    def active(self):
        return self.filter(status__in=[JobStatus.QUEUED, JobStatus.RUNNING])


class TrainingRun(JobRecord):
    name = models.CharField(max_length=64, unique=True, validators=[dataset_name_validator])
    dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="gan_runs", null=True, blank=True,
                                help_text="Blank for a run imported from a network snapshot.")
    label = models.CharField(max_length=64, blank=True, help_text="Train on this label only; blank: all.")
    config_name = models.CharField(max_length=32)
    config = models.JSONField(help_text="The resolved GAN and training configs: {'gan': ..., 'train': ...}.")
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="fine_tunes")
    init_checkpoint = models.CharField(max_length=500, blank=True, help_text="Weights a fine-tune starts from.")

    kimg = models.FloatField(default=0.0)
    total_kimg = models.FloatField()
    sec_per_kimg = models.FloatField(null=True, blank=True)
    eta_s = models.FloatField(null=True, blank=True)
    augment_p = models.FloatField(default=0.0)
    losses = models.JSONField(default=dict, blank=True, help_text="Mean losses over the last report.")
    loss_history = models.JSONField(default=list, blank=True, help_text="[kimg, {loss: value}] points.")
    metrics = models.JSONField(default=list, blank=True, help_text="[{kimg, metric: value, ...}] evaluations.")
    latest_checkpoint = models.CharField(max_length=500, blank=True)
    latest_grid = models.CharField(max_length=500, blank=True, help_text="Sample grid, relative to MEDIA_ROOT.")
    imported_from = models.CharField(max_length=255, blank=True,
                                     help_text="File name of the StyleGAN2-ADA snapshot this run was imported from.")
    source_sha256 = models.CharField(max_length=64, blank=True, help_text="SHA-256 of that snapshot file.")

    objects = TrainingRunQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    @property
    def out_dir(self) -> Path:
        return Path(settings.MEDIA_ROOT) / "gan-runs" / self.name

    @property
    def resolution(self) -> int:
        return int(self.config["gan"]["resolution"])

    @property
    def is_imported(self) -> bool:
        return bool(self.source_sha256)

    @property
    def discriminator_version(self) -> int:
        """2: the reference StyleGAN2 discriminator; 1: ours before it (configs without the field)."""
        return int(self.config.get("gan", {}).get("d_architecture", 1))

    def record_losses(self, kimg: float, losses: dict) -> None:
        history = self.loss_history + [[round(kimg, 4), {k: round(v, 5) for k, v in losses.items()}]]
        if len(history) > LOSS_HISTORY_MAX:
            history = history[::2]  # keep the whole curve at half the density
        self.loss_history = history


class Checkpoint(models.Model):
    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="checkpoints")
    kimg = models.FloatField()
    path = models.CharField(max_length=500)
    grid = models.CharField(max_length=500, blank=True, help_text="Relative to MEDIA_ROOT.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["run", "kimg"]
        constraints = [models.UniqueConstraint(fields=["run", "path"], name="unique_checkpoint_path")]

    def __str__(self) -> str:
        return f"{self.run.name} @ {self.kimg:g} kimg"


class Generation(JobRecord):
    """One `generate` request: a run's seeds sampled into a folder and registered as a synthetic
    dataset. The job takes its id; everything it needs is here, so that nothing is lost in the queue."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="generations")
    seeds = models.TextField(help_text="The --seeds text, e.g. 0-2499 or 1,5,9.")
    psi = models.FloatField(default=1.0)
    noise_mode = models.CharField(max_length=16, default="const")
    class_value = models.CharField(max_length=64, blank=True, help_text="--class of a conditional run; blank: none.")
    batch = models.PositiveIntegerField(default=16, help_text="Images per forward pass.")
    out_dir = models.CharField(max_length=500, help_text="Images go to OUT/<label>/.")
    dataset_name = models.CharField(max_length=64, help_text="The synthetic dataset the images are registered as.")
    done = models.PositiveIntegerField(default=0)
    total = models.PositiveIntegerField(default=0)
    summary = models.JSONField(default=dict, blank=True, help_text="What the folder import registered.")

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return f"{self.run} seeds {self.seeds} -> {self.dataset_name}"
