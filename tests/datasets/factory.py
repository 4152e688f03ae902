"""Plain helpers that make test data: manifests, datasets, rows."""
from __future__ import annotations

from pathlib import Path

from datasets.models import Dataset, ImageRecord


def manifest_line(no: str, label: str, url: str, box=(0.5, 0.5, 0.5, 0.5)) -> str:
    return f"{no} {label} {box[0]} {box[1]} {box[2]} {box[3]} {url}"


def write_manifest(path: Path, lines: list[str], header: bool = True) -> Path:
    text = "## no label x_center y_center width height url\n" if header else ""
    path.write_text(text + "\n".join(lines) + "\n", encoding="utf-8")
    return path


def make_dataset(name: str = "demo", kind: str = Dataset.Kind.MANIFEST) -> Dataset:
    return Dataset.objects.create(name=name, kind=kind, source=f"/tmp/{name}.csv")


def make_row(dataset: Dataset, no: str, url: str, label: str = "nevus", box=(0.5, 0.5, 1.0, 1.0),
             line: int | None = None, **fields) -> ImageRecord:
    return ImageRecord.objects.create(dataset=dataset, no=no, label=label, url=url, line=line or int(no),
                                      x=box[0], y=box[1], w=box[2], h=box[3], **fields)
