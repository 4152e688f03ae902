"""Exports: a set as visitors receive it (files + truth.csv, catch test patterns included and named by
their kind), and rows as CSV text."""
from __future__ import annotations

import csv
import io
from pathlib import Path

from django.conf import settings

from common.files import atomic_write_bytes

from .models import TuringSet

TRUTH_COLUMNS = ["token", "kind", "truth", "class", "origin_dataset", "origin_item"]  # kind: lesion or catch


class ExportError(ValueError):
    """The export was refused; nothing was written."""


def export_set(*, number: int, dest: str | Path) -> int:
    """Write set `number`'s served files as DEST/<token>.jpg and DEST/truth.csv; returns the image count."""
    turing_set = TuringSet.objects.current().filter(number=number).first()
    if turing_set is None:
        raise ExportError(f"N: there is no set {number} (build them with build_turing_sets)")
    folder = Path(dest)
    if folder.exists() and (not folder.is_dir() or any(folder.iterdir())):
        raise ExportError(f"DIR: {folder} exists and is not an empty folder")
    images = list(turing_set.images.order_by("token"))
    missing = [i.token for i in images if not (Path(settings.MEDIA_ROOT) / i.file).is_file()]
    if missing:
        raise ExportError(f"set {number}: {len(missing)} served files are missing under MEDIA_ROOT "
                          f"(first {missing[0]})")
    for image in images:
        atomic_write_bytes(folder / f"{image.token}.jpg", (Path(settings.MEDIA_ROOT) / image.file).read_bytes())
    rows = [[i.token, i.kind, i.truth, i.label, i.origin_dataset, i.origin_item] for i in images]
    atomic_write_bytes(folder / "truth.csv", csv_text(TRUTH_COLUMNS, rows).encode())
    return len(images)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")  # what spreadsheets read as the start of a formula


def csv_cell(value):
    """A text cell that a spreadsheet would run as a formula (a dataset or item name, say), with a quote
    put before it (the OWASP CSV injection rule); numbers stay numbers, so -0.3 stays -0.3."""
    if isinstance(value, str) and value.startswith(FORMULA_STARTS):
        return "'" + value
    return value


def csv_text(columns: list[str], rows) -> str:
    """Every CSV the Turing app writes goes through here. Lines end in CRLF (RFC 4180): the csv module
    quotes only fields holding a character of the line ending, and a lone CR in a cell must be quoted."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\r\n")
    writer.writerow([csv_cell(c) for c in columns])
    writer.writerows([csv_cell(value) for value in row] for row in rows)
    return buffer.getvalue()
