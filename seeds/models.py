"""Seed pages: what a generator run publishes, one permanent page per (run, seed).

A Publication renders a seed range of a run's checkpoint (at a psi, extra psi values and a noise mode)
as a job. Its images are stored under a key of checkpoint sha256 + psi + noise mode + seed
(`keys.py`), so a new checkpoint adds images beside the old ones and never overwrites them. A page
shows the latest finished publication that covers its seed. A SeedProfile holds what a run publishes
with every range: the other class's run (its counterpart), extra psi values and morph pairs.
"""
from __future__ import annotations

from django.db import models
from django.db.models import Q

from cansite.status import JobRecord, JobStatus
from generator.models import TrainingRun

NOISE_MODES = ("const", "random", "none")


class SeedProfile(models.Model):
    """How a run is published (kept here rather than on TrainingRun, which belongs to the generator)."""

    run = models.OneToOneField(TrainingRun, on_delete=models.CASCADE, related_name="seed_profile")
    counterpart = models.ForeignKey(TrainingRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="+",
                                    help_text="The other class's run: its page for the same seed is linked.")
    extra_psi = models.JSONField(default=list, blank=True, help_text="Psi values shown as a strip on each page.")
    morph = models.CharField(max_length=200, blank=True, help_text="Morph pairs, e.g. '0-9:next,3:42'.")
    morph_frames = models.PositiveSmallIntegerField(default=12)

    def __str__(self) -> str:
        return f"seed profile of {self.run.name}"


class PublicationQuerySet(models.QuerySet):
    def done(self):
        return self.filter(status=JobStatus.DONE)

    def covering(self, seed: int):
        return self.filter(seed_lo__lte=seed, seed_hi__gte=seed)

    def latest_first(self):
        return self.order_by("-finished_at", "-id")


class Publication(JobRecord):
    """One rendering of a seed range of a run's checkpoint, as a job."""

    run = models.ForeignKey(TrainingRun, on_delete=models.CASCADE, related_name="seed_publications")
    checkpoint = models.CharField(max_length=500, help_text="The checkpoint file rendered (the run's latest).")
    checkpoint_sha256 = models.CharField(max_length=64, blank=True, help_text="Set by the job before rendering.")
    kimg = models.FloatField(help_text="Training progress of the checkpoint.")
    resolution = models.PositiveIntegerField()
    seed_lo = models.BigIntegerField()
    seed_hi = models.BigIntegerField(help_text="Included.")
    psi = models.FloatField(default=1.0)
    extra_psi = models.JSONField(default=list, blank=True)
    noise_mode = models.CharField(max_length=8, default="const")
    morph_pairs = models.JSONField(default=list, blank=True, help_text="[[a, b], ...] rendered as morph frames.")
    morph_frames = models.PositiveSmallIntegerField(default=12)
    done = models.PositiveIntegerField(default=0, help_text="Images rendered or found so far.")
    total = models.PositiveIntegerField(default=0)

    objects = PublicationQuerySet.as_manager()

    class Meta:
        ordering = ["-created_at"]
        constraints = [
            models.CheckConstraint(condition=Q(seed_lo__gte=0) & Q(seed_hi__gte=models.F("seed_lo")),
                                   name="seed_range_in_order"),
        ]

    def __str__(self) -> str:
        return f"{self.run.name} seeds {self.seed_lo}-{self.seed_hi} psi {self.psi:g}"

    @property
    def seed_count(self) -> int:
        return self.seed_hi - self.seed_lo + 1

    @property
    def progress_pct(self) -> float:
        return 100.0 * self.done / self.total if self.total else 0.0

    def has_seed(self, seed: int) -> bool:
        return self.seed_lo <= seed <= self.seed_hi

    def has_morph(self, a: int, b: int) -> bool:
        return [a, b] in self.morph_pairs
