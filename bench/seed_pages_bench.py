"""Benchmark: seed pages, from publishing to serving.

    .venv/bin/python bench/seed_pages_bench.py [--pages 2000] [--seconds 8] [--concurrency 8]

1. Publishing: a `tiny` generator (random weights, 32 px) renders --pages seeds on the CPU through
   seeds.services.publish (PNG + WebP per seed, atomic writes): images/s. With CUDA, the `paper`
   config (512 px) renders 64 seeds on the GPU too.
2. Export: export_seed_pages of those --pages seed pages (plus their images, run index, sitemap)
   cold, then again with nothing changed: pages/s and the ratio (target: the re-run >= 20x faster).
   Peak memory: the export_seed_pages command run cold in a child process (its max RSS).
3. Serving: gunicorn with the production settings (DEBUG off, manifest static files, PostgreSQL;
   plain HTTP on loopback, so SSL redirect is off) serves cached seed pages and their WebP images
   through the live view, and the same image files copied into STATIC_ROOT for whitenoise; a
   load generator on 127.0.0.1 (--concurrency threads, keep-alive, bounded by --seconds and
   --max-requests per target) measures requests/s and p99 for each (target: the live images within
   2x of whitenoise). Targets alternate twice and the figures are the means.

A fresh PostgreSQL database (cansite_seeds_bench, dropped and re-created) and a temporary folder
are used. The last line is one JSON object with the figures.
"""
from __future__ import annotations

import argparse
import http.client
import json
import os
import re
import resource
import shutil
import subprocess
import sys
import threading
import time
from dataclasses import asdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from bench._django import REPO, setup
from bench._server import collect_static, fresh_database, production_env, start_gunicorn, stop

DB_NAME = "cansite_seeds_bench"
RUN = "bench-mel"


def make_run(work: Path, name: str, config: str, **overrides):
    """A run whose latest checkpoint is a randomly initialised generator of the named config."""
    import torch

    from datasets.models import Dataset
    from generator.gan.checkpoint import save_checkpoint
    from generator.gan.config import config_dict, get_config
    from generator.gan.networks import Generator
    from generator.models import TrainingRun

    gan_cfg, train_cfg = get_config(config, **overrides)
    torch.manual_seed(0)
    G = Generator(gan_cfg).eval()
    ckpt = save_checkpoint(work / name / "checkpoint-000001.000kimg.pt",
                           {"gan_config": asdict(gan_cfg), "G_ema": G.state_dict()})
    dataset = Dataset.objects.get_or_create(name="bench", defaults={"kind": "folder", "source": str(work)})[0]
    return TrainingRun.objects.create(name=name, dataset=dataset, label="melanoma", config_name=config,
                                      config=config_dict(gan_cfg, train_cfg), total_kimg=1.0, kimg=1.0,
                                      latest_checkpoint=str(ckpt), status="done")


def publish_rate(run, seeds: int, device: str) -> float:
    from seeds import services

    pub = services.create_publication(run=run, seeds=f"0-{seeds - 1}")
    started = time.perf_counter()
    assert services.publish(publication_id=pub.id, job_id="bench", device=device) == "done"
    return seeds / (time.perf_counter() - started)


def bench_export(work: Path, pages: int) -> dict:
    from seeds.export import export_seed_pages

    out = work / "site"
    started = time.perf_counter()
    cold = export_seed_pages(runs=[RUN], seeds=f"0-{pages - 1}", out=out)
    cold_s = time.perf_counter() - started
    started = time.perf_counter()
    again = export_seed_pages(runs=[RUN], seeds=f"0-{pages - 1}", out=out)
    again_s = time.perf_counter() - started
    assert again.written == 0 and again.skipped == cold.written
    peak_mb = command_peak_rss_mb([sys.executable, "manage.py", "export_seed_pages", "--runs", RUN, "--seeds",
                                   f"0-{pages - 1}", "--out", str(work / "site-rss"), "-v", "0"])
    return {"export_pages": pages, "export_files": cold.written, "export_cold_s": round(cold_s, 3),
            "export_cold_pages_per_s": round(pages / cold_s, 1), "export_rerun_s": round(again_s, 4),
            "export_rerun_speedup": round(cold_s / again_s, 1), "export_bytes": cold.bytes,
            "export_peak_rss_mb": peak_mb}


def command_peak_rss_mb(argv: list[str]) -> float:
    """The command's own peak RSS (VmHWM, polled: a child's ru_maxrss would include this process's)."""
    child = subprocess.Popen(argv, cwd=REPO, stdout=subprocess.DEVNULL)
    peak = 0
    while child.poll() is None:
        try:
            status = Path(f"/proc/{child.pid}/status").read_text()
            peak = max(peak, int(re.search(r"VmHWM:\s+(\d+) kB", status).group(1)))
        except (OSError, AttributeError):
            pass
        time.sleep(0.02)
    assert child.returncode == 0, "the export command failed"
    return round(peak / 1024, 1)


def start_server(work: Path, port: int, workers: int, threads: int) -> subprocess.Popen:
    env = production_env(work)
    collect_static(env)
    copy_images_to_static(work)  # before gunicorn starts: whitenoise indexes STATIC_ROOT at start-up
    return start_gunicorn(env, port, workers, threads)


SERVED = 50  # distinct pages and images requested, round-robin


def image_names() -> list[tuple[str, str]]:
    """(live URL, static URL) of the page images of the first SERVED seeds."""
    from seeds import keys
    from seeds.models import Publication

    pub = Publication.objects.filter(run__name=RUN).latest("id")
    out = []
    for seed in range(SERVED):
        path = keys.image_path(pub.checkpoint_sha256, pub.psi, pub.noise_mode, keys.seed_file(seed, "webp"))
        out.append((f"/thismoledoesnotexist/_img/{path}", f"/static/seedbench/{path.replace('/', '-')}"))
    return out


def copy_images_to_static(work: Path) -> None:
    from seeds import keys

    folder = work / "static" / "seedbench"
    folder.mkdir(parents=True, exist_ok=True)
    for live, static in image_names():
        shutil.copyfile(keys.root() / live.split("/_img/", 1)[1], folder / static.rsplit("/", 1)[1])


def load(port: int, paths: list[str], concurrency: int, seconds: float, max_requests: int) -> dict:
    """Each thread: one keep-alive connection, GETs round-robin, until the time or the count is spent."""
    latencies: list[float] = []
    errors = [0]
    lock, counter = threading.Lock(), [0]
    deadline = time.monotonic() + seconds

    def worker(offset: int) -> None:
        conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
        mine, i = [], offset
        while time.monotonic() < deadline:
            with lock:
                if counter[0] >= max_requests:
                    break
                counter[0] += 1
            started = time.perf_counter()
            try:
                conn.request("GET", paths[i % len(paths)])
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except (OSError, http.client.HTTPException):
                conn.close()
                conn, ok = http.client.HTTPConnection("127.0.0.1", port, timeout=30), False
            mine.append(time.perf_counter() - started)
            errors[0] += not ok
            i += 1
        with lock:
            latencies.extend(mine)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker, args=(k,)) for k in range(concurrency)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - started
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))] if latencies else 0.0
    return {"requests": len(latencies), "rps": len(latencies) / elapsed, "p99_ms": 1000 * p99, "errors": errors[0]}


def bench_serving(work: Path, args) -> dict:
    names = image_names()
    targets = {"page": [f"/thismoledoesnotexist/{RUN}/{seed}/" for seed in range(SERVED)],
               "image_live": [live for live, _ in names], "image_whitenoise": [static for _, static in names]}
    server = start_server(work, args.port, args.workers, args.threads)
    try:
        for paths in targets.values():  # warm: every page into each worker's cache, files into the page cache
            load(args.port, paths, args.concurrency, 120.0, 4 * SERVED * args.workers)
        runs: dict[str, list[dict]] = {name: [] for name in targets}
        for _ in range(2):
            for name, paths in targets.items():
                runs[name].append(load(args.port, paths, args.concurrency, args.seconds, args.max_requests))
    finally:
        stop(server)
    figures = {}
    for name, results in runs.items():
        figures[f"{name}_rps"] = round(sum(r["rps"] for r in results) / len(results), 1)
        figures[f"{name}_p99_ms"] = round(sum(r["p99_ms"] for r in results) / len(results), 2)
        figures[f"{name}_errors"] = sum(r["errors"] for r in results)
    figures["image_live_vs_whitenoise_rps"] = round(figures["image_live_rps"] / figures["image_whitenoise_rps"], 3)
    figures["page_vs_whitenoise_rps"] = round(figures["page_rps"] / figures["image_whitenoise_rps"], 3)
    return figures


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--pages", type=int, default=2000, help="Seeds published and exported (default 2000).")
    parser.add_argument("--seconds", type=float, default=8.0, help="Seconds per serving measurement (default 8).")
    parser.add_argument("--max-requests", type=int, default=50_000, help="Requests per measurement at most.")
    parser.add_argument("--concurrency", type=int, default=8, help="Client threads (default 8).")
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers (default 2).")
    parser.add_argument("--threads", type=int, default=4, help="Threads per gunicorn worker (default 4).")
    parser.add_argument("--torch-threads", type=int, default=1,
                        help="torch CPU threads for publishing (default 1: the cores are shared with the server "
                             "and other work; more threads on 32 px images mostly add contention).")
    parser.add_argument("--port", type=int, default=8767, help="Loopback port for gunicorn (default 8767).")
    args = parser.parse_args()
    work = setup(fresh_database(DB_NAME))
    import torch

    torch.set_num_threads(args.torch_threads)
    figures = {"torch_threads": torch.get_num_threads(), "cpu_count": os.cpu_count()}
    run = make_run(work, RUN, "tiny")
    figures["publish_tiny_cpu_images_per_s"] = round(publish_rate(run, args.pages, "cpu"), 1)
    print(f"publishing (tiny, CPU): {figures['publish_tiny_cpu_images_per_s']} images/s", flush=True)
    if torch.cuda.is_available():
        paper = make_run(work, "bench-paper", "paper")
        figures["publish_paper_cuda_images_per_s"] = round(publish_rate(paper, 64, "cuda"), 1)
    figures.update(bench_export(work, args.pages))
    print(f"export of {args.pages} pages: cold {figures['export_cold_s']} s, no-change re-run "
          f"{figures['export_rerun_s']} s ({figures['export_rerun_speedup']}x)", flush=True)
    figures.update(bench_serving(work, args))
    figures["rss_mb"] = round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)
    shutil.rmtree(work, ignore_errors=True)
    print(json.dumps(figures))


if __name__ == "__main__":
    main()
