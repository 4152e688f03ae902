"""Dataset workflows: import a manifest, import a folder-per-class set, export for training.

Downloads live in datasets.downloader. Commands and views call these; they never print.
"""

from __future__ import annotations

import zipfile
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from common.files import sha256_and_size
from common.labels import normalise_label

from . import archives, folders
from .bulk import fast_insert
from .download.imaging import ImageFailure
from .folders import Skipped
from .manifest import (
    MAX_MALFORMED_SHARE,
    ManifestError,
    Rejected,
    Row,
    read_manifest,
    sniff,
)
from .models import DOWNLOAD_FIELDS, Dataset, ImageRecord, dataset_name_validator
from .sources import ImageSource

# Lookups of existing rows go in chunks under SQLite's default limit of bound parameters.
CHUNK = 900
INSERT_CHUNK = 5000
REJECT_SAMPLE = 20
MISSING_SAMPLE = 20


class DatasetImportError(ValueError):
    """A whole import was refused (bad name, wrong kind of dataset); nothing was changed."""


def validated_name(name: str) -> str:
    try:
        dataset_name_validator(name)
    except ValidationError as exc:
        raise DatasetImportError(f"dataset name {name!r}: {' '.join(exc.messages)}") from None
    return name


def dataset_for_import(name: str, kind: str, source: Path) -> tuple[Dataset, bool]:
    """Get or create the dataset, inside the import's transaction. Its first statement writes, on
    purpose: on PostgreSQL it locks the dataset's row (two imports of one dataset run one after the
    other); on SQLite it takes the write lock before anything is read, so that a download recording
    results meanwhile cannot make this transaction's later writes fail on a stale WAL snapshot."""
    Dataset.objects.filter(name=name).update(updated_at=timezone.now())
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
        raise ManifestError(f"{path}: {'a folder, not a manifest file' if path.is_dir() else 'no such file'}")
    try:
        sniff(path)
    except OSError as exc:  # unreadable: permissions, a FIFO, an I/O error
        raise ManifestError(f"{path}: cannot read it ({exc.strerror or exc})") from None
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
    # Locked (PostgreSQL) until the import commits: a download's compare-and-set on these rows waits
    # and then sees the new URL, instead of landing between this read and the write below.
    existing = ({r.no: r for r in dataset.images.filter(no__in=[row.no for row in rows]).select_for_update()}
                if summary.had_rows else {})
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
    skipped: list[Skipped] = field(default_factory=list)  # not imported: links out, other files, nested folders
    labels: Counter = field(default_factory=Counter)
    missing: int = 0
    missing_sample: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "files": self.files, "imported": self.imported, "updated": self.updated,
                "unchanged": self.unchanged, "unreadable": self.unreadable, "labels": dict(sorted(self.labels.items())),
                "unreadable_files": [f"{path}: {why}" for path, why in self.unreadable_files],
                "skipped": len(self.skipped), "skipped_files": [f"{s.path}: {s.why}" for s in self.skipped],
                "missing": self.missing, "missing_sample": self.missing_sample}


def import_folder(*, path: Path, name: str, kind: str = Dataset.Kind.FOLDER, subdir: str = "",
                  note: str | None = None, on_unreadable: Callable[[str, str], None] | None = None,
                  on_skipped: Callable[[Skipped], None] | None = None) -> FolderSummary:
    """Import PATH/<label>/<image> (a public test set, or images generated elsewhere with `kind`
    synthetic); each image is checked by decoding it. PATH may be a zip archive, read in place;
    `subdir` picks the folder inside PATH that holds the class folders. `note` says where the
    images come from (shown on the dataset page). Only files inside PATH are read (datasets.folders
    and datasets.archives say what is skipped and why); everything is validated before a row is written."""
    summary = FolderSummary(dataset=validated_name(name))
    source, classes, found, summary.skipped = scan_source(Path(path), subdir)
    if not classes:
        where = f"{path}/{subdir}" if subdir else str(path)
        raise DatasetImportError(f"PATH {path}: no class folders (expected {where}/<label>/<image>)")
    for skipped in summary.skipped:
        if on_skipped:
            on_skipped(skipped)
    with transaction.atomic():
        dataset, _ = dataset_for_import(name, kind, source)
        if note is not None and dataset.description != note:
            dataset.description = note
            dataset.save(update_fields=["description", "updated_at"])
        existing = {r.no: r for r in dataset.images.all()}
        for item in found:
            record = existing.get(item.no) or ImageRecord(dataset=dataset, no=item.no)
            if not upsert_file(record, item.source, normalise_label(item.folder), summary) and on_unreadable:
                on_unreadable(str(item.source), record.failure_detail)
        count_missing(dataset, {item.no for item in found}, summary)
    return summary


def scan_source(path: Path, subdir: str) -> tuple[Path, list, list, list[Skipped]]:
    """(what the dataset records as its source, class folders, images, skipped) of a folder or a zip."""
    if subdir and (archives.unsafe(subdir) or subdir.strip("/") == ""):
        raise DatasetImportError(f"--subdir {subdir}: not a plain folder name inside PATH")
    root = path.resolve()
    if root.is_file():
        if not zipfile.is_zipfile(root):
            raise DatasetImportError(f"PATH {path}: not a folder, and not a zip archive")
        try:
            infos = archives.read_directory(root, subdir)
        except archives.ArchiveError as exc:
            raise DatasetImportError(str(exc)) from None
        classes, members, skipped = archives.scan(root, infos, subdir)
        return root / subdir.strip("/") if subdir else root, sorted(classes), members, skipped
    folder = (root / subdir).resolve() if subdir else root
    if not root.is_dir():
        raise DatasetImportError(f"PATH {path}: not a folder or a zip archive")
    if not folder.is_dir() or not folder.is_relative_to(root):
        raise DatasetImportError(f"--subdir {subdir}: no such folder in {path}")
    try:
        classes, found, skipped = folders.scan(folder)
    except OSError as exc:
        raise DatasetImportError(f"PATH {path}: cannot read the folder ({exc.strerror or exc})") from None
    return folder, classes, [archives.Member(f.folder, f.name, ImageSource(f.path)) for f in found], skipped


def upsert_file(record: ImageRecord, source: ImageSource, label: str, summary: FolderSummary) -> bool:
    """Create or refresh the row of one image file or zip member; returns whether it decodes."""
    summary.files += 1
    summary.labels[label] += 1
    where = (str(source.path), source.member)
    try:
        with source.open() as f:
            digest, size = sha256_and_size(f)
            unchanged = record.pk and (record.sha256, record.label, record.source_path, record.archive_member) == (
                digest, label, *where)
            if not unchanged:
                record.reset_download()
                record.label, record.sha256, record.bytes = label, digest, size
                record.source_path, record.archive_member = where
                f.seek(0)
                record.width, record.height = folders.inspect_image(f)
                record.original_width, record.original_height = record.width, record.height
                record.status = ImageRecord.Status.OK
    except (OSError, ImageFailure, zipfile.BadZipFile) as exc:
        record.reset_download()
        record.label, record.sha256 = label, ""
        record.source_path, record.archive_member = where
        record.status = ImageRecord.Status.FAILED
        record.failure_reason = exc.reason if isinstance(exc, ImageFailure) else "unreadable"
        record.failure_detail = exc.detail if isinstance(exc, ImageFailure) else f"{type(exc).__name__}: {exc}"
        unchanged = False
    if unchanged:
        summary.unchanged += 1
    else:
        summary.updated += bool(record.pk)
        summary.imported += not record.pk
        record.save()
    if record.status == ImageRecord.Status.FAILED:
        summary.unreadable += 1
        summary.unreadable_files.append((str(source), record.failure_detail))
        return False
    return True
