"""Export a dataset's good images as DEST/<label>/<file>, the layout GAN and CNN training read.

With `square` and `size`, each image is squared off (a centred square with the side of its
shorter edge) and resized to size x size with Lanczos, as GAN training at 512 px and the test
sets need. Re-running skips files already exported from an unchanged source, so it resumes.
"""

from __future__ import annotations

from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np
from PIL import Image, ImageOps

from common.files import atomic_write_bytes

from .download.imaging import encode_png, to_rgb
from .downloader import safe_component
from .models import Dataset, ImageRecord

# A square export larger than this is a typo, not a training size (8192 px is 200 MB per image in memory).
MAX_SIZE = 8192


@dataclass
class ExportSummary:
    dataset: str
    dest: str
    written: int = 0
    skipped: int = 0
    failed: int = 0
    failures: list[str] = field(default_factory=list)

    def as_dict(self) -> dict:
        return {"dataset": self.dataset, "dest": self.dest, "written": self.written, "skipped": self.skipped,
                "failed": self.failed, "failures": self.failures[:20]}


def square_resize(image: Image.Image, size: int) -> Image.Image:
    width, height = image.size
    side = min(width, height)
    left, top = (width - side) // 2, (height - side) // 2
    return image.crop((left, top, left + side, top + side)).resize((size, size), Image.Resampling.LANCZOS)


def export_target(dest: Path, record: ImageRecord, square: bool) -> Path:
    if record.file:  # a downloaded crop, already a PNG
        name = f"{safe_component(record.no)}.png"
    else:  # a folder dataset's original file: kept as it is unless squared
        original = record.image_source().name  # a zip member's own name, not the archive's
        name = f"{safe_component(Path(original).stem)}.png" if square else safe_component(original)
    return dest / safe_component(record.label) / name


def export_one(record: ImageRecord, target: Path, square: bool, size: int | None, overwrite: bool) -> bool:
    """Write one file; False when an up-to-date export is already there."""
    source = record.image_source()
    if source is None:
        raise FileNotFoundError("the row names no image file")
    if not overwrite and target.exists() and target.stat().st_mtime >= source.mtime():
        return False
    if not square:
        atomic_write_bytes(target, source.read_bytes())
        return True
    with source.open() as f, Image.open(f) as image:
        rgb = Image.fromarray(to_rgb(ImageOps.exif_transpose(image)))
    atomic_write_bytes(target, encode_png(np.asarray(square_resize(rgb, size))))
    return True


def export_dataset(*, dataset: Dataset, dest: Path, square: bool = False, size: int | None = None,
                   overwrite: bool = False, workers: int = 4, labels: list[str] | None = None,
                   progress: Callable[[ExportSummary], None] | None = None) -> ExportSummary:
    if square and not size:
        raise ValueError("--square needs --size N")
    if size and not square:
        raise ValueError("--size needs --square (images keep their own size otherwise)")
    if size is not None and not 1 <= size <= MAX_SIZE:
        raise ValueError(f"--size must be 1 to {MAX_SIZE} pixels, got {size}")
    dest = Path(dest)
    try:  # refused up front with its reason, not once per image
        dest.mkdir(parents=True, exist_ok=True)
    except OSError as exc:
        raise ValueError(f"{dest}: cannot write there ({exc.strerror or exc})") from None
    summary = ExportSummary(dataset=dataset.name, dest=str(dest))
    records = dataset.images.ok().order_by("label", "no")
    records = list(records.filter(label__in=labels) if labels else records)
    targets = [export_target(dest, record, square) for record in records]
    with ThreadPoolExecutor(max(1, workers)) as pool:
        futures = [pool.submit(export_one, r, t, square, size, overwrite) for r, t in zip(records, targets)]
        for record, future in zip(records, futures):
            try:
                if future.result():
                    summary.written += 1
                else:
                    summary.skipped += 1
            except (OSError, ValueError, Image.DecompressionBombError) as exc:
                summary.failed += 1
                summary.failures.append(f"{record.no}: {type(exc).__name__}: {exc}")
            if progress:
                progress(summary)
    return summary
