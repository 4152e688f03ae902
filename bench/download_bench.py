"""Benchmark: our downloader against the reference script's approach, on a latency-bound web.

    .venv/bin/python bench/download_bench.py [--images 500] [--latency 0.2 1.0]

A server process serves real-sized JPEGs (made from ../shared/data/lesions, or generated when
that folder is absent) from 20 loopback addresses, 127.0.0.2 to 127.0.0.21, adding the latency to
each response, so that per-host limits behave as on the real web. It runs once per latency (200 ms
and 1 s by default). Our downloader runs with its default settings (plus --allow-private, needed
for loopback); the baseline does exactly what the reference download script did: a pool of 8
threads, and per URL sleep 0.1 s, plain GET, cv2.imdecode(..., IMREAD_UNCHANGED), crop by slicing,
cv2.imwrite of the PNG (OpenCV's default compression). Both must produce crops of the same sizes
(pixel values may differ by a little: Pillow and OpenCV decode JPEGs with different IDCTs).

Besides the ratio it reports what bounds ours: CPU per image (ours, the baseline, the server
process), the CPU-bound ceiling (cores / CPU per image), the latency floor (rounds of 20 hosts x 4
connections), and the fixed start-up cost of a run. Target: >= 5x the baseline's images/s at
200 ms, peak memory under 1 GB. The last line is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import io
import json
import math
import multiprocessing
import os
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
from bench._django import REPO, peak_rss_mb, setup
from cansite.cli import positive_float, positive_int

LESIONS = REPO.parent / "shared" / "data" / "lesions"
HOSTS = [f"127.0.0.{i}" for i in range(2, 22)]
PER_HOST = 4  # DownloadOptions' default: the latency floor is one round trip per HOSTS x PER_HOST images


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
        url = f"http://{HOSTS[i % len(HOSTS)]}:{port}/{i}.jpg"
        rows.append((f"{i:05d}", "melanoma" if i % 2 else "nevus", box, url))
    path.write_text("".join(f"{no} {label} {b[0]} {b[1]} {b[2]} {b[3]} {url}\n" for no, label, b, url in rows))
    return rows


def baseline(rows: list[tuple], out: Path) -> tuple[float, float]:
    """The reference script's way: 8 threads; per URL sleep, plain GET, OpenCV decode, crop, imwrite.
    Returns the seconds taken and the CPU seconds this process spent."""
    import cv2
    import requests

    def one(row):
        no, label, (x, y, w, h), url = row
        time.sleep(0.1)
        image = cv2.imdecode(np.frombuffer(requests.get(url, timeout=30).content, np.uint8), cv2.IMREAD_UNCHANGED)
        height, width = image.shape[:2]
        crop = image[int((y - h / 2) * height):int((y + h / 2) * height),
                     int((x - w / 2) * width):int((x + w / 2) * width)]
        (out / label).mkdir(parents=True, exist_ok=True)
        cv2.imwrite(str(out / label / f"{no}.png"), crop)

    started, cpu = time.perf_counter(), cpu_seconds()
    with ThreadPoolExecutor(8) as pool:
        list(pool.map(one, rows))
    return time.perf_counter() - started, cpu_seconds() - cpu


def ours(manifest: Path, name: str) -> tuple[float, float, dict]:
    """Our download of a freshly imported manifest: seconds, CPU seconds, and the summary's figures."""
    from datasets.downloader import DownloadOptions, download_images
    from datasets.models import Dataset
    from datasets.services import import_manifest

    import_manifest(path=manifest, name=name)
    started, cpu = time.perf_counter(), cpu_seconds()
    summary = download_images(dataset=Dataset.objects.get(name=name), options=DownloadOptions(allow_private=True))
    return time.perf_counter() - started, cpu_seconds() - cpu, {"ok": summary.ok,
                                                                 "failed": dict(summary.failures_by_reason)}


def startup_seconds() -> float:
    """A run with nothing to fetch: claim, recovery, plan, thread pool, release."""
    from datasets.downloader import DownloadOptions, download_images
    from datasets.models import Dataset

    dataset = Dataset.objects.create(name="bench-empty", kind=Dataset.Kind.MANIFEST, source="-")
    started = time.perf_counter()
    download_images(dataset=dataset, options=DownloadOptions(allow_private=True))
    return time.perf_counter() - started


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU of another process (the server), from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def compare(rows: list[tuple], ours_dir: Path, base: Path) -> int:
    """Largest pixel difference between our crops and the baseline's; sizes must match exactly."""
    worst = 0
    for no, label, _, _ in rows:
        a = np.asarray(Image.open(ours_dir / label / f"{no}.png"), dtype=np.int16)
        b = np.asarray(Image.open(base / label / f"{no}.png"), dtype=np.int16)
        if a.shape != b.shape:
            raise SystemExit(f"crop {label}/{no}: ours {a.shape} vs baseline {b.shape}")
        worst = max(worst, int(np.abs(a - b).max()))
    return worst


def measure(work: Path, images: int, latency: float, port: int) -> dict:
    """One latency: serve, run ours, run the baseline, compare; the figures as a dict."""
    ready, mean_size = multiprocessing.Event(), multiprocessing.Value("d", 0.0)
    server = multiprocessing.Process(target=serve, args=(images, port, latency, ready, mean_size), daemon=True)
    server.start()
    if not ready.wait(300):
        raise SystemExit("the image server did not start")
    name = f"bench{round(latency * 1000)}"
    try:
        rows = write_manifest(work / f"{name}.csv", images, port)
        server_cpu = process_cpu_seconds(server.pid)
        ours_s, ours_cpu, ours_summary = ours(work / f"{name}.csv", name)
        server_ours = process_cpu_seconds(server.pid) - server_cpu
        base_dir = Path(tempfile.mkdtemp(dir=work)) / "baseline"
        base_s, base_cpu = baseline(rows, base_dir)
    finally:
        server.terminate()
    cores = os.cpu_count() or 1
    per_image = lambda seconds: round(seconds * 1000 / images, 1)  # noqa: E731
    return {
        "latency_ms": round(latency * 1000), "images": images, "mean_kb": round(mean_size.value / 1024),
        "ours_per_s": round(images / ours_s, 1), "baseline_per_s": round(images / base_s, 1),
        "ratio": round(base_s / ours_s, 2), "ours_s": round(ours_s, 2), "baseline_s": round(base_s, 2),
        "ours_cpu_ms_per_image": per_image(ours_cpu), "baseline_cpu_ms_per_image": per_image(base_cpu),
        "server_cpu_ms_per_image": per_image(server_ours),
        # Cores our run kept busy on average (others' load on a shared machine leaves fewer free), and
        # the CPU-bound ceiling with every core on our work and the server's: no faster than this.
        "ours_cores_used": round(ours_cpu / ours_s, 2),
        "cpu_bound_per_s": round(cores * images / (ours_cpu + server_ours), 1),
        "ceiling_ratio": round(cores * images / (ours_cpu + server_ours) / (images / base_s), 2),
        "latency_floor_s": round(math.ceil(images / (len(HOSTS) * PER_HOST)) * latency, 2),
        "max_pixel_diff": compare(rows, work / "media" / "datasets" / name, base_dir), "ours": ours_summary,
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--images", type=positive_int, default=500, help="Images to serve and fetch (default 500).")
    parser.add_argument("--latency", type=positive_float, nargs="+", default=[0.2, 1.0],
                        help="Seconds added to each response, one run per value (default 0.2 1.0).")
    parser.add_argument("--port", type=positive_int, default=18080, help="Port on each of the 20 addresses.")
    args = parser.parse_args()
    work = setup()
    load = os.getloadavg()[0]
    startup = startup_seconds()
    results = [measure(work, args.images, latency, args.port + i) for i, latency in enumerate(args.latency)]
    cores = os.cpu_count()
    print(f"{args.images} JPEGs on {len(HOSTS)} hosts, {cores} cores (load average {load:.1f} before the start); "
          f"start-up of a run {startup:.2f}s")
    for r in results:
        print(f"{r['latency_ms']:>5} ms: ours {r['ours_per_s']:6.1f} img/s ({r['ours_s']}s), baseline "
              f"{r['baseline_per_s']:5.1f} img/s ({r['baseline_s']}s): {r['ratio']}x; CPU per image: ours "
              f"{r['ours_cpu_ms_per_image']} ms, server {r['server_cpu_ms_per_image']} ms, baseline "
              f"{r['baseline_cpu_ms_per_image']} ms; ours kept {r['ours_cores_used']} cores busy; CPU-bound "
              f"ceiling {r['cpu_bound_per_s']} img/s ({r['ceiling_ratio']}x), latency floor {r['latency_floor_s']}s; "
              f"largest pixel difference {r['max_pixel_diff']}")
    print(json.dumps({"images": args.images, "cores": cores, "load_average": round(load, 1),
                      "startup_s": round(startup, 3), "peak_rss_mb": round(peak_rss_mb(), 1), "runs": results}))


if __name__ == "__main__":
    main()
