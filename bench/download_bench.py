"""Benchmark: our downloader against the reference script's approach, on a latency-bound web.

    .venv/bin/python bench/download_bench.py [--images 500] [--latency 0.2]

A server process serves real-sized JPEGs (made from ../shared/data/lesions, or generated when
that folder is absent) from 20 loopback addresses, 127.0.0.2 to 127.0.0.21, adding 200 ms per
response, so that per-host limits behave as on the real web. Our downloader runs with its
default settings (plus --allow-private, needed for loopback); the baseline does what the
reference download script did: a pool of 8 threads, and per URL sleep 0.1 s, plain GET, decode,
crop, PNG write with Pillow's defaults. Both must produce the same crops (same sizes, pixel
values within 1). Target: >= 5x the baseline's images/s, peak memory under 1 GB.
The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import multiprocessing
import random
import resource
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import numpy as np
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._django import REPO, peak_rss_mb, setup  # noqa: E402

LESIONS = REPO.parent / "shared" / "data" / "lesions"
HOSTS = [f"127.0.0.{i}" for i in range(2, 22)]


def make_jpegs(count: int, seed: int = 0) -> list[bytes]:
    """Distinct real-sized JPEGs: lesion photos flipped, rotated and re-cropped, or generated."""
    rng = random.Random(seed)
    sources = sorted(LESIONS.glob("*/*.jpg"))
    images = []
    for i in range(count):
        if sources:
            with Image.open(sources[i % len(sources)]) as im:
                im = im.convert("RGB")
            w, h = im.size
            left, top = rng.randrange(0, max(w // 8, 1)), rng.randrange(0, max(h // 8, 1))
            im = im.crop((left, top, w - rng.randrange(0, max(w // 8, 1)), h - rng.randrange(0, max(h // 8, 1))))
            im = im.transpose(rng.choice([Image.Transpose.FLIP_LEFT_RIGHT, Image.Transpose.FLIP_TOP_BOTTOM,
                                          Image.Transpose.ROTATE_180]))
        else:
            from datasets.demo import paint_lesion

            im, _ = paint_lesion(i, "melanoma" if i % 2 else "nevus", (1024, 768))
        buffer = io.BytesIO()
        im.save(buffer, "JPEG", quality=90)
        images.append(buffer.getvalue())
    return images


def serve(count: int, port: int, latency: float, ready, sizes) -> None:
    """Runs in its own process, so that neither the servers nor the test images' memory and CPU
    count against the clients (the JPEGs are made here too)."""
    bodies = make_jpegs(count)
    sizes.value = sum(map(len, bodies)) / len(bodies)

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, *args):
            pass

        def do_GET(self):
            time.sleep(latency)
            body = bodies[int(self.path.strip("/").split(".")[0])]
            self.send_response(200)
            self.send_header("Content-Type", "image/jpeg")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    class Server(ThreadingHTTPServer):
        daemon_threads = True
        request_queue_size = 256

        def handle_error(self, *args):
            pass

    import threading

    servers = [Server((host, port), Handler) for host in HOSTS]
    for server in servers:
        threading.Thread(target=server.serve_forever, daemon=True).start()
    ready.set()
    while True:
        time.sleep(3600)


def write_manifest(path: Path, count: int, port: int, seed: int = 1) -> list[tuple]:
    rng = random.Random(seed)
    rows = []
    for i in range(count):
        box = (round(rng.uniform(0.35, 0.65), 3), round(rng.uniform(0.35, 0.65), 3),
               round(rng.uniform(0.3, 0.7), 3), round(rng.uniform(0.3, 0.7), 3))
        rows.append((f"{i:05d}", "melanoma" if i % 2 else "nevus", box, f"http://{HOSTS[i % len(HOSTS)]}:{port}/{i}.jpg"))
    path.write_text("".join(f"{no} {label} {b[0]} {b[1]} {b[2]} {b[3]} {url}\n" for no, label, b, url in rows))
    return rows


def baseline(rows: list[tuple], out: Path) -> float:
    """The reference script's way: 8 threads; per URL sleep, plain GET, decode, crop, save."""
    import requests

    def one(row):
        no, label, (x, y, w, h), url = row
        time.sleep(0.1)
        image = Image.open(io.BytesIO(requests.get(url, timeout=30).content)).convert("RGB")
        width, height = image.size
        box = (int((x - w / 2) * width), int((y - h / 2) * height), int((x + w / 2) * width), int((y + h / 2) * height))
        (out / label).mkdir(parents=True, exist_ok=True)
        image.crop(box).save(out / label / f"{no}.png")

    started = time.perf_counter()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, rows))
    return time.perf_counter() - started


def ours(manifest: Path) -> tuple[float, dict]:
    from datasets.downloader import DownloadOptions, download_images
    from datasets.models import Dataset
    from datasets.services import import_manifest

    import_manifest(path=manifest, name="bench")
    started, cpu = time.perf_counter(), cpu_seconds()
    summary = download_images(dataset=Dataset.objects.get(name="bench"), options=DownloadOptions(allow_private=True))
    return time.perf_counter() - started, {"ok": summary.ok, "failed": dict(summary.failures_by_reason),
                                           "cpu_ms_per_image": round((cpu_seconds() - cpu) * 1000 / summary.rows, 1)}


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def compare(rows: list[tuple], media: Path, base: Path) -> int:
    """Largest pixel difference between our crops and the baseline's; sizes must match exactly."""
    worst = 0
    for no, label, _, _ in rows:
        a = np.asarray(Image.open(media / "datasets" / "bench" / label / f"{no}.png"), dtype=np.int16)
        b = np.asarray(Image.open(base / label / f"{no}.png"), dtype=np.int16)
        if a.shape != b.shape:
            raise SystemExit(f"crop {label}/{no}: ours {a.shape} vs baseline {b.shape}")
        worst = max(worst, int(np.abs(a - b).max()))
    return worst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=int, default=500, help="Images to serve and fetch (default 500).")
    parser.add_argument("--latency", type=float, default=0.2, help="Seconds added to each response (default 0.2).")
    parser.add_argument("--port", type=int, default=18080, help="Port on each of the 20 addresses (default 18080).")
    args = parser.parse_args()
    work = setup()
    ready, mean_size = multiprocessing.Event(), multiprocessing.Value("d", 0.0)
    server = multiprocessing.Process(target=serve, args=(args.images, args.port, args.latency, ready, mean_size),
                                     daemon=True)
    server.start()
    if not ready.wait(300):
        raise SystemExit("the image server did not start")
    try:
        rows = write_manifest(work / "bench.csv", args.images, args.port)
        ours_s, ours_summary = ours(work / "bench.csv")
        ours_rss = peak_rss_mb()
        base_s = baseline(rows, Path(tempfile.mkdtemp(dir=work)) / "baseline")
    finally:
        server.terminate()
    base_dir = next(work.glob("tmp*/baseline"))
    worst = compare(rows, work / "media", base_dir)
    mean_kb = mean_size.value / 1024
    print(f"{args.images} JPEGs (mean {mean_kb:.0f} KB) on {len(HOSTS)} hosts, {args.latency * 1000:.0f} ms latency")
    print(f"ours:     {args.images / ours_s:7.1f} img/s ({ours_s:.1f}s) {ours_summary}")
    print(f"baseline: {args.images / base_s:7.1f} img/s ({base_s:.1f}s)")
    print(f"largest pixel difference between the two sets of crops: {worst}")
    print(json.dumps({"images": args.images, "ours_per_s": round(args.images / ours_s, 1),
                      "baseline_per_s": round(args.images / base_s, 1), "ratio": round(base_s / ours_s, 2),
                      "max_pixel_diff": worst, "peak_rss_mb": round(ours_rss, 1)}))


if __name__ == "__main__":
    main()
