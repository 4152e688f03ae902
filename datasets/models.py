"""Datasets and their image records.

A Dataset is a manifest of web images with crop boxes (CAN2000, CAN5600, LESION130k), a
folder-per-class test set (MED-NODE, Asan, ...), or a synthetic set: from the generator, or images
generated elsewhere (the paper's GAN5000) imported as a folder or zip with a provenance note.
An ImageRecord is one row: its label, box and URL, and what the downloader made of it.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.validators import RegexValidator
from django.db import IntegrityError, models, transaction
from django.db.models import Count, Q

from cansite.status import JobRecord, JobStatus

from .manifest import MAX_LABEL_LENGTH, MAX_NO_LENGTH
from .sources import ImageSource

dataset_name_validator = RegexValidator(
    r"^[A-Za-z0-9][A-Za-z0-9_.-]{0,63}$",
    "Use letters, digits, '_', '.' and '-' (it names a folder on disk).",
)

# Failure reasons worth another try on the next run: the server or network may recover.
TRANSIENT_REASONS = {"timeout", "connection-error", "http-429", "http-5xx"}


class Dataset(models.Model):
    class Kind(models.TextChoices):
        MANIFEST = "manifest", "Manifest of web images"
        FOLDER = "folder", "Folder per class"
        SYNTHETIC = "synthetic", "Synthetic (generated)"

    name = models.CharField(max_length=64, unique=True, validators=[dataset_name_validator])
    kind = models.CharField(max_length=16, choices=Kind.choices)
    source = models.TextField(help_text="Manifest file or folder it was imported from.")
    description = models.TextField(blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def running_download(self) -> DownloadRun | None:
        return self.downloads.filter(status=JobStatus.RUNNING).first()

    def counts_by_status(self) -> dict[str, int]:
        rows = self.images.values("status").annotate(n=Count("id"))
        counts = dict.fromkeys(ImageRecord.Status.values, 0)
        counts.update({row["status"]: row["n"] for row in rows})
        return counts

    def counts_by_label(self) -> list[dict]:
        ok = Q(status=ImageRecord.Status.OK)
        return list(
            self.images.values("label").annotate(total=Count("id"), ok=Count("id", filter=ok)).order_by("label")
        )


class DownloadRun(JobRecord):
    """One run of the downloader on a dataset, a job like every other (cansite.jobs.drive): its holder,
    heartbeat and cancel flag. At most one runs per dataset (a database constraint); a second run is
    refused while the first is alive, or takes it over when it was asked with --force."""

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="downloads")
    options = models.JSONField(default=dict, blank=True, help_text="The DownloadOptions of the run.")
    force = models.BooleanField(default=False, help_text="Take over a live run of the dataset when this one starts.")
    summary = models.JSONField(default=dict, blank=True, help_text="What the run fetched so far, and when it ended.")

    class Meta:
        ordering = ["-created_at"]
        constraints = [models.UniqueConstraint(fields=["dataset"], condition=Q(status="running"),
                                               name="one_running_download_per_dataset")]

    def __str__(self) -> str:
        return f"download {self.pk} of {self.dataset}"

    @classmethod
    def claim(cls, pk: int, job_id: str, *, also: Q | None = None) -> bool:
        """JobRecord.claim, false too when another run of the dataset holds it: the constraint refuses
        the second running row (in a savepoint, so that the caller's transaction stays usable)."""
        try:
            with transaction.atomic():
                return super().claim(pk, job_id, also=also)
        except IntegrityError:
            return False


class ImageRecordQuerySet(models.QuerySet):
    def ok(self):
        return self.filter(status=ImageRecord.Status.OK)

    def failed(self):
        return self.filter(status=ImageRecord.Status.FAILED)

    def to_download(self, *, retry_failed: bool = False):
        """Rows a download run should fetch: pending, plus failed ones worth retrying."""
        failed = Q(status=ImageRecord.Status.FAILED)
        if not retry_failed:
            failed &= Q(failure_reason__in=TRANSIENT_REASONS)
        return self.filter(Q(status=ImageRecord.Status.PENDING) | failed)

    def failures_by_reason(self) -> list[dict]:
        return list(self.failed().values("failure_reason").annotate(n=Count("id")).order_by("-n", "failure_reason"))


class ImageRecord(models.Model):
    class Status(models.TextChoices):
        PENDING = "pending", "Pending"
        DOWNLOADING = "downloading", "Downloading"
        OK = "ok", "OK"
        FAILED = "failed", "Failed"

    dataset = models.ForeignKey(Dataset, on_delete=models.CASCADE, related_name="images")
    no = models.CharField(max_length=MAX_NO_LENGTH, help_text="The manifest's row number, or the file name.")
    label = models.CharField(max_length=MAX_LABEL_LENGTH)
    line = models.PositiveIntegerField(null=True, blank=True, help_text="Line in the manifest.")
    x = models.FloatField(null=True, blank=True)
    y = models.FloatField(null=True, blank=True)
    w = models.FloatField(null=True, blank=True)
    h = models.FloatField(null=True, blank=True)
    url = models.TextField(blank=True)
    source_path = models.TextField(blank=True, help_text="Original file, or the zip holding it, for folders.")
    archive_member = models.TextField(blank=True, help_text="Its member name in the zip at source_path.")

    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    file = models.CharField(max_length=255, blank=True, help_text="Crop, relative to MEDIA_ROOT.")
    width = models.PositiveIntegerField(null=True, blank=True)
    height = models.PositiveIntegerField(null=True, blank=True)
    original_width = models.PositiveIntegerField(null=True, blank=True)
    original_height = models.PositiveIntegerField(null=True, blank=True)
    sha256 = models.CharField(max_length=64, blank=True, help_text="Of the original bytes.")
    http_status = models.PositiveSmallIntegerField(null=True, blank=True)
    attempts = models.PositiveSmallIntegerField(default=0)
    bytes = models.PositiveBigIntegerField(null=True, blank=True)
    elapsed_s = models.FloatField(null=True, blank=True)
    failure_reason = models.CharField(max_length=32, blank=True)
    failure_detail = models.TextField(blank=True)
    fetched_at = models.DateTimeField(null=True, blank=True)

    objects = ImageRecordQuerySet.as_manager()

    class Meta:
        constraints = [models.UniqueConstraint(fields=["dataset", "no"], name="unique_no_per_dataset")]
        indexes = [
            models.Index(fields=["dataset", "status"]),
            models.Index(fields=["dataset", "label"]),
        ]
        ordering = ["dataset", "line", "no"]

    def __str__(self) -> str:
        return f"{self.dataset.name}/{self.no}"

    @property
    def box(self) -> tuple[float, float, float, float] | None:
        if self.x is None:
            return None
        return (self.x, self.y, self.w, self.h)

    def image_source(self) -> ImageSource | None:
        """Where the image to show or export is: the crop for downloaded rows, the original (a file,
        or a member of a zip archive) for folders. Every reader opens the bytes through it."""
        if self.file:
            return ImageSource(Path(settings.MEDIA_ROOT) / self.file)
        return ImageSource(Path(self.source_path), self.archive_member) if self.source_path else None

    def reset_download(self) -> None:
        """Forget the download (the URL or box changed): back to pending, fields cleared."""
        for name, value in BLANK_DOWNLOAD.items():
            setattr(self, name, value)
        self.status = self.Status.PENDING


DOWNLOAD_FIELDS = [
    "status", "file", "width", "height", "original_width", "original_height", "sha256", "http_status",
    "attempts", "bytes", "elapsed_s", "failure_reason", "failure_detail", "fetched_at",
]
# What a row's download fields hold before anything was fetched: no file, no failure, nothing measured.
BLANK_DOWNLOAD = {name: {"file": "", "sha256": "", "failure_reason": "", "failure_detail": "", "attempts": 0}.get(name)
                  for name in DOWNLOAD_FIELDS}
