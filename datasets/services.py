"""Dataset workflows: import a manifest, import a folder-per-class set, export for training.

Downloads live in datasets.downloader. Commands and views call these; they never print.
"""

from __future__ import annotations

import hashlib
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from PIL import Image, UnidentifiedImageError

from .bulk import fast_insert
from .manifest import (
    MAX_MALFORMED_SHARE,
    ManifestError,
    Rejected,
    Row,
    read_manifest,
    sniff,
)
from .models import DOWNLOAD_FIELDS, Dataset, ImageRecord, dataset_name_validator

# Lookups of existing rows go in chunks under SQLite's default limit of bound parameters.
CHUNK = 900
INSERT_CHUNK = 5000
REJECT_SAMPLE = 20
MISSING_SAMPLE = 20
LABEL_ALIASES = {
    "malignantmelanoma": "melanoma",
    "melanoma": "melanoma",
    "melanocyticnevus": "nevus",
    "melanocyticnaevus": "nevus",
    "nevus": "nevus",
    "naevus": "nevus",
}
IMAGE_SUFFIXES = {".jpg", ".jpeg", ".png", ".bmp", ".gif", ".tif", ".tiff", ".webp"}


class DatasetImportError(ValueError):
    """A whole import was refused (bad name, wrong kind of dataset); nothing was changed."""


def normalise_label(name: str) -> str:
    key = "".join(ch for ch in name.lower() if ch.isalnum())
    return LABEL_ALIASES.get(key, name)


def validated_name(name: str) -> str:
    try:
        dataset_name_validator(name)
    except ValidationError as exc:
        raise DatasetImportError(f"dataset name {name!r}: {' '.join(exc.messages)}") from None
    return name


def dataset_for_import(name: str, kind: str, source: Path) -> tuple[Dataset, bool]:
    dataset, created = Dataset.objects.get_or_create(name=validated_name(name),
                                                     defaults={"kind": kind, "source": str(source)})
    if dataset.kind != kind:
        raise DatasetImportError(f"dataset {name!r} exists and is a {dataset.kind} dataset, not a {kind} one")
    if not created and dataset.source != str(source):
        dataset.source = str(source)
        dataset.save(update_fields=["source", "updated_at"])
    return dataset, created


@dataclass
class ImportSummary:
    dataset: str
    lines: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    rejected: int = 0
    rejected_by_reason: Counter = field(default_factory=Counter)
    rejections: list[Rejected] = field(default_factory=list)  # the first few, for display
    invalidated: int = 0
    missing: int = 0
    missing_sample: list[str] = field(default_factory=list)
    malformed: int = 0
    had_rows: bool = True  # False for a new dataset: no existing rows to look up

    def as_dict(self) -> dict:
        return {
            "dataset": self.dataset, "lines": self.lines, "imported": self.imported, "updated": self.updated,
            "unchanged": self.unchanged, "rejected": self.rejected,
            "rejected_by_reason": dict(sorted(self.rejected_by_reason.items())),
            "invalidated": self.invalidated, "missing": self.missing, "missing_sample": self.missing_sample,
        }

    def reject(self, rejection: Rejected) -> None:
        self.rejected += 1
        self.rejected_by_reason[rejection.reason] += 1
        self.malformed += rejection.malformed
        if len(self.rejections) < REJECT_SAMPLE:
            self.rejections.append(rejection)


def import_manifest(*, path: Path, name: str | None = None,
                    on_reject: Callable[[Rejected], None] | None = None) -> ImportSummary:
    """Import or re-import a manifest; all or nothing, streaming, in bulk."""
    path = Path(path)
    if not path.is_file():
        raise ManifestError(f"{path}: no such file")
    sniff(path)
    name = validated_name(name or path.stem)
    summary = ImportSummary(dataset=name)
    stale_files: list[str] = []
    with transaction.atomic():
        dataset, _ = dataset_for_import(name, Dataset.Kind.MANIFEST, path.resolve())
        summary.had_rows = dataset.images.exists()
        first_line: dict[str, int] = {}
        chunk: list[Row] = []
        for item in read_manifest(path):
            summary.lines += 1
            if isinstance(item, Row) and item.no in first_line:
                item = Rejected(item.line, "duplicate-no", f"no {item.no} already on line {first_line[item.no]}")
            if isinstance(item, Rejected):
                summary.reject(item)
                if on_reject:
                    on_reject(item)
                continue
            first_line[item.no] = item.line
            chunk.append(item)
            if len(chunk) >= (CHUNK if summary.had_rows else INSERT_CHUNK):
                apply_rows(dataset, chunk, summary, stale_files)
                chunk = []
        apply_rows(dataset, chunk, summary, stale_files)
        refuse_if_not_a_manifest(path, summary)
        count_missing(dataset, first_line, summary)
    transaction.on_commit(lambda: remove_files(stale_files))
    return summary


def refuse_if_not_a_manifest(path: Path, summary: ImportSummary) -> None:
    if summary.lines == 0:
        raise ManifestError(f"{path}: not a manifest (no data lines)")
    if summary.malformed > summary.lines * MAX_MALFORMED_SHARE:
        first = next((r for r in summary.rejections if r.malformed), None)
        example = f"; line {first.line}: {first.detail}" if first else ""
        raise ManifestError(f"{path}: not a manifest ({summary.malformed} of {summary.lines} lines are not "
                            f"'no label x y w h url'{example}); nothing imported")


def apply_rows(dataset: Dataset, rows: list[Row], summary: ImportSummary, stale_files: list[str]) -> None:
    if not rows:
        return
    existing = {r.no: r for r in dataset.images.filter(no__in=[row.no for row in rows])} if summary.had_rows else {}
    new, changed = [], []
    for row in rows:
        record = existing.get(row.no)
        if record is None:
            new.append({"dataset_id": dataset.id, "no": row.no, "label": row.label, "line": row.line, "x": row.x,
                        "y": row.y, "w": row.w, "h": row.h, "url": row.url})
            summary.imported += 1
        elif edit_record(record, row, summary, stale_files):
            changed.append(record)
    fast_insert(ImageRecord, new)
    if changed:
        ImageRecord.objects.bulk_update(changed, EDITABLE_FIELDS, batch_size=CHUNK)


def edit_record(record: ImageRecord, row: Row, summary: ImportSummary, stale_files: list[str]) -> bool:
    """Bring a row up to date with its manifest line; returns whether it needs saving."""
    moved = record.line != row.line
    record.line = row.line
    if (record.label, record.url, record.box) == (row.label, row.url, (row.x, row.y, row.w, row.h)):
        summary.unchanged += 1  # a line number that moved (rows added above) is not an edit
        return moved
    summary.updated += 1
    if record.status != ImageRecord.Status.PENDING or record.file:
        summary.invalidated += 1
        if record.file:
            stale_files.append(record.file)
        record.reset_download()
    record.label, record.url, record.x, record.y, record.w, record.h = (row.label, row.url, row.x, row.y, row.w, row.h)
    return True


EDITABLE_FIELDS = ["label", "line", "x", "y", "w", "h", "url", *DOWNLOAD_FIELDS]


def count_missing(dataset: Dataset, present: dict[str, int] | set[str], summary) -> None:
    """Rows in the database that the new file no longer lists: reported, never deleted."""
    for no in dataset.images.values_list("no", flat=True).iterator(chunk_size=5000):
        if no not in present:
            summary.missing += 1
            if len(summary.missing_sample) < MISSING_SAMPLE:
                summary.missing_sample.append(no)


def remove_files(relative_paths: list[str]) -> None:
    for relative in relative_paths:
        (Path(settings.MEDIA_ROOT) / relative).unlink(missing_ok=True)


@dataclass
class FolderSummary:
    dataset: str
    files: int = 0
    imported: int = 0
    updated: int = 0
    unchanged: int = 0
    unreadable: int = 0
    unreadable_files: list[tuple[str, str]] = field(default_factory=list)
    labels: Counter = field(default_factory=Counter)
    missing: int = 0
    missing_sample: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "files": self.files, "imported": self.imported, "updated": self.updated,
                "unchanged": self.unchanged, "unreadable": self.unreadable, "labels": dict(sorted(self.labels.items())),
                "unreadable_files": [f"{path}: {why}" for path, why in self.unreadable_files],
                "missing": self.missing, "missing_sample": self.missing_sample}


def import_folder(*, path: Path, name: str, kind: str = Dataset.Kind.FOLDER,
                  on_unreadable: Callable[[str, str], None] | None = None) -> FolderSummary:
    """Import PATH/<label>/<image> (a public test set); each file is checked by decoding it."""
    root = Path(path).resolve()
    if not root.is_dir():
        raise DatasetImportError(f"{path}: not a folder")
    label_dirs = sorted(d for d in root.iterdir() if d.is_dir() and not d.name.startswith("."))
    if not label_dirs:
        raise DatasetImportError(f"{path}: no class folders (expected {path}/<label>/<image>)")
    summary = FolderSummary(dataset=validated_name(name))
    with transaction.atomic():
        dataset, _ = dataset_for_import(name, kind, root)
        existing = {r.no: r for r in dataset.images.all()}
        seen: set[str] = set()
        for label_dir in label_dirs:
            label = normalise_label(label_dir.name)
            for file in sorted(f for f in label_dir.iterdir() if f.is_file() and not f.name.startswith(".")):
                no = f"{label_dir.name}/{file.name}"
                seen.add(no)
                record = existing.get(no) or ImageRecord(dataset=dataset, no=no)
                if not upsert_file(record, file, label, summary) and on_unreadable:
                    on_unreadable(str(file), record.failure_detail)
        count_missing(dataset, seen, summary)
    return summary


def upsert_file(record: ImageRecord, file: Path, label: str, summary: FolderSummary) -> bool:
    """Create or refresh the row of one file; returns whether the file decodes."""
    summary.files += 1
    summary.labels[label] += 1
    data = file.read_bytes()
    digest = hashlib.sha256(data).hexdigest()
    if record.pk and (record.sha256, record.label, record.source_path) == (digest, label, str(file)):
        summary.unchanged += 1
    else:
        summary.updated += bool(record.pk)
        summary.imported += not record.pk
        record.reset_download()
        record.label, record.source_path, record.sha256, record.bytes = label, str(file), digest, len(data)
        try:
            record.width, record.height = inspect_image(file)
            record.original_width, record.original_height = record.width, record.height
            record.status = ImageRecord.Status.OK
        except (OSError, SyntaxError, ValueError, UnidentifiedImageError, Image.DecompressionBombError) as exc:
            record.status, record.failure_reason = ImageRecord.Status.FAILED, "unreadable"
            record.failure_detail = f"{type(exc).__name__}: {exc}"
        record.save()
    if record.status == ImageRecord.Status.FAILED:
        summary.unreadable += 1
        summary.unreadable_files.append((str(file), record.failure_detail))
        return False
    return True


def inspect_image(file: Path) -> tuple[int, int]:
    """Decode the whole file (a truncated JPEG only shows when decoded) and return its upright size."""
    with Image.open(file) as image:
        size = image.size
        if image.format == "JPEG":
            image.draft("RGB", (max(size[0] // 8, 1), max(size[1] // 8, 1)))  # fast, still reads every byte
        image.load()
        orientation = image.getexif().get(0x0112, 1)
    return (size[1], size[0]) if orientation in (5, 6, 7, 8) else size
