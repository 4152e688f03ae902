"""The demo dataset: generated lesion-like photographs, served on 127.0.0.1, downloaded for real.

The demo cannot rely on ../shared (nor on the internet), so it paints its own pictures: skin-toned
backgrounds with one pigmented blob each, round and even for "nevus", irregular and multi-coloured
for "melanoma". A local HTTP server serves them, a manifest lists them with crop boxes (plus two
rows that fail on purpose, to show failure reasons), and the real importer and downloader run.
"""

from __future__ import annotations

import functools
import io
import threading
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image, ImageFilter

from common.files import atomic_write_bytes, atomic_write_text

from .downloader import DownloadOptions, DownloadSummary, download_images
from .models import Dataset
from .services import ImportSummary, import_manifest

DEMO_NAME = "DEMO"
PREFERRED_PORT = 8765


def paint_lesion(seed: int, label: str, size: tuple[int, int] = (480, 360)) -> tuple[Image.Image, tuple]:
    """One photograph and the normalised box (x, y, w, h) around its lesion."""
    rng = np.random.default_rng(seed)
    width, height = size
    skin = np.array([224, 172, 140]) + rng.integers(-25, 20, 3)
    yy, xx = np.mgrid[0:height, 0:width].astype(np.float32)
    shade = 1 - 0.15 * (yy / height) + rng.normal(0, 0.02, (height, width))
    image = np.clip(skin[None, None, :] * shade[:, :, None], 0, 255)
    cx, cy = width * rng.uniform(0.35, 0.65), height * rng.uniform(0.35, 0.65)
    radius = min(width, height) * rng.uniform(0.12, 0.22)
    angle = np.arctan2(yy - cy, xx - cx)
    wobble = 0.05 if label == "nevus" else 0.3
    edge = radius * (1 + sum(rng.uniform(0, wobble) * np.sin(k * angle + rng.uniform(0, 6)) for k in (2, 3, 5, 7)))
    inside = np.hypot(xx - cx, yy - cy) < edge
    colours = [[110, 70, 45]] if label == "nevus" else [[60, 35, 30], [25, 20, 30], [130, 60, 60], [90, 90, 110]]
    blotches = rng.integers(0, len(colours), (height // 24 + 1, width // 24 + 1)).repeat(24, 0).repeat(24, 1)
    painted = Image.fromarray(np.array(colours, np.uint8)[blotches[:height, :width]])
    blotchy = painted.filter(ImageFilter.GaussianBlur(8))
    pigment = np.asarray(blotchy, np.float32) + rng.normal(0, 6, (height, width, 3))
    image[inside] = pigment[inside]
    picture = Image.fromarray(image.astype(np.uint8)).filter(ImageFilter.GaussianBlur(1.5))
    side = 2.6 * radius
    box = (cx / width, cy / height, min(side / width, 1.0), min(side / height, 1.0))
    return picture, tuple(round(v, 4) for v in box)


def write_demo_files(folder: Path, count: int, first_seed: int = 0) -> list[tuple[str, str, tuple]]:
    """JPEGs under folder/images and the rows that describe them: (file name, label, box)."""
    (folder / "images").mkdir(parents=True, exist_ok=True)
    rows = []
    for index in range(first_seed, first_seed + count):
        label = "melanoma" if index % 2 else "nevus"
        picture, box = paint_lesion(index, label)
        name = f"{label}-{index:03d}.jpg"
        if not (folder / "images" / name).exists():
            buffer = io.BytesIO()
            picture.save(buffer, "JPEG", quality=90)
            atomic_write_bytes(folder / "images" / name, buffer.getvalue())  # never a partial file that exists
        rows.append((name, label, box))
    atomic_write_text(folder / "images" / "oops.html", "<!doctype html><html><body>Not here</body></html>")
    return rows


def start_server(folder: Path) -> ThreadingHTTPServer:
    class Quiet(SimpleHTTPRequestHandler):
        def log_message(self, *args):
            pass

    handler = functools.partial(Quiet, directory=str(folder))
    try:
        server = ThreadingHTTPServer(("127.0.0.1", PREFERRED_PORT), handler)
    except OSError:  # port taken: any free one (the URLs then change, and re-download)
        server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def write_manifest(path: Path, base_url: str, rows: list[tuple[str, str, tuple]]) -> Path:
    lines = ["## cansite demo manifest: generated images served on 127.0.0.1",
             "## no label x_center y_center width height url"]
    for index, (name, label, box) in enumerate(rows):
        lines.append(f"{index:05d} {label} {box[0]} {box[1]} {box[2]} {box[3]} {base_url}/images/{name}")
    lines.append(f"{len(rows):05d} nevus 0.5 0.5 0.5 0.5 {base_url}/images/missing photo.jpg")
    lines.append(f"{len(rows) + 1:05d} melanoma 0.5 0.5 0.5 0.5 {base_url}/images/oops.html")
    atomic_write_text(path, "\n".join(lines) + "\n")
    return path


def build_demo_dataset(*, folder: Path, count: int = 60, name: str = DEMO_NAME, first_seed: int = 0,
                       progress=None) -> tuple[ImportSummary, DownloadSummary]:
    rows = write_demo_files(folder, count, first_seed)
    server = start_server(folder)
    try:
        base_url = f"http://127.0.0.1:{server.server_address[1]}"
        imported = import_manifest(path=write_manifest(folder / f"{name}.csv", base_url, rows), name=name)
        dataset = Dataset.objects.get(name=name)
        dataset.description = "Generated lesion-like photographs served by the demo's own local web server."
        dataset.save(update_fields=["description"])
        options = DownloadOptions(workers=8, timeout=10, retries=1, allow_private=True)
        downloaded = download_images(dataset=dataset, options=options, progress=progress)
    finally:
        server.shutdown()
        server.server_close()
    return imported, downloaded


def demo_step(*, write, images: int = 60, test_images: int = 40, folder: Path | None = None) -> None:
    """DEMO (training) and DEMO-TEST (other seeds, for the classifier benchmark)."""
    from django.conf import settings

    folder = folder or Path(settings.VAR_DIR) / "demo"
    for name, count, first_seed in ((DEMO_NAME, images, 0), (f"{DEMO_NAME}-TEST", test_images, 10_000)):
        imported, downloaded = build_demo_dataset(folder=folder, count=count, name=name, first_seed=first_seed)
        failures = ", ".join(f"{reason} {n}" for reason, n in downloaded.failures_by_reason.items()) or "none"
        write(f"{name}: {imported.lines} manifest lines ({imported.imported} new, {imported.unchanged} unchanged); "
              f"download {downloaded.ok} ok, {downloaded.failed} failed ({failures}), "
              f"{downloaded.already_done} already done")
