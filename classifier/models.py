"""CNN experiments (one training), their evaluations on test sets, benchmarks and published figures.

An Experiment trains one model on a union of datasets (its `train_key`, names joined by '+') with
fixed hyper-parameters and a repeat index. A Benchmark names rows (training specs, possibly
unions) and columns (test sets); the cell (row S, test T) reads the evaluations on T of the
experiments trained on S minus T (leave-one-out, as in the paper).
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.db import models

from cansite.status import JobRecord
from datasets.models import Dataset


def train_key(names) -> str:
    """The identity of a training union: its dataset names, sorted, joined by '+'."""
    return "+".join(sorted(set(names)))


class Experiment(JobRecord):
    train_key = models.CharField(max_length=500, db_index=True, help_text="Training datasets joined by '+'.")
    train_datasets = models.ManyToManyField(Dataset, related_name="experiments")
    arch = models.CharField(max_length=64)
    weights = models.CharField(max_length=500, blank=True, help_text="'imagenet-lite0', a path, or blank: scratch.")
    recipe = models.CharField(max_length=16, default="reference")
    epochs = models.PositiveIntegerField()
    batch = models.PositiveIntegerField()
    lr = models.FloatField()
    img_size = models.PositiveIntegerField(default=224)
    repeat = models.PositiveIntegerField(default=0)
    seed = models.BigIntegerField()
    start_weights = models.JSONField(default=dict, blank=True, help_text="What the run started from, as recorded.")

    epoch = models.PositiveIntegerField(default=0)
    loss = models.FloatField(null=True, blank=True)
    images_per_s = models.FloatField(null=True, blank=True)
    history = models.JSONField(default=list, blank=True)
    checkpoint = models.CharField(max_length=500, blank=True)
    youden_threshold = models.FloatField(null=True, blank=True)
    train_seconds = models.FloatField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(
            fields=["train_key", "arch", "weights", "recipe", "epochs", "batch", "lr", "img_size", "repeat"],
            name="unique_experiment_setting")]

    def __str__(self) -> str:
        return f"#{self.id} {self.train_key} r{self.repeat}"

    @property
    def out_dir(self) -> Path:
        return Path(settings.MEDIA_ROOT) / "cnn-runs" / f"experiment-{self.id}"

    @property
    def from_scratch(self) -> bool:
        return not self.weights

    @property
    def comparable_with_paper(self) -> bool:
        """The paper started from ImageNet weights; a run from scratch is a different experiment."""
        return not self.from_scratch


class Evaluation(models.Model):
    experiment = models.ForeignKey(Experiment, on_delete=models.CASCADE, related_name="evaluations")
    test_dataset = models.ForeignKey(Dataset, on_delete=models.PROTECT, related_name="evaluations")
    done = models.BooleanField(default=False)
    n = models.PositiveIntegerField(default=0)
    auc = models.FloatField(null=True, blank=True)
    metrics = models.JSONField(default=dict, blank=True, help_text="{'at_05': {...}, 'at_youden': {...}}")
    scores = models.JSONField(default=list, blank=True, help_text="[[image record id, label, probability], ...]")
    error = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["experiment", "test_dataset"], name="one_evaluation_per_test")]

    def __str__(self) -> str:
        return f"{self.experiment} on {self.test_dataset.name}"


class Benchmark(models.Model):
    """A matrix to run and show: training specs (rows) x test sets (columns) x repeats."""

    name = models.CharField(max_length=64, unique=True)
    rows = models.JSONField(help_text="Training specs, e.g. ['asan+snu+pad', 'CAN2000'].")
    tests = models.JSONField(help_text="Test dataset names (columns).")
    repeats = models.PositiveIntegerField(default=1)
    settings = models.JSONField(default=dict, help_text="arch, weights, recipe, epochs, batch, lr, img_size.")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class ReportedResult(models.Model):
    """A published figure (e.g. the paper's Table 2), shown beside the measured rows."""

    train_spec = models.CharField(max_length=500, help_text="Row label, e.g. 'CAN5600'.")
    test_name = models.CharField(max_length=64, help_text="Column: the test dataset's name.")
    auc = models.FloatField()
    auc_sd = models.FloatField(null=True, blank=True)
    source = models.CharField(max_length=200, default="JAMA Dermatology 2023, Table 2")

    class Meta:
        constraints = [models.UniqueConstraint(fields=["train_spec", "test_name", "source"], name="one_reported_value")]

    def __str__(self) -> str:
        return f"{self.train_spec} on {self.test_name}: {self.auc} ({self.source})"
