"""Training throughput of EfficientNet-Lite0 at 224 px: real data pipeline vs ready tensors.

    .venv/bin/python bench/cnn_bench.py                 # CPU, plus CUDA when present
    .venv/bin/python bench/cnn_bench.py --images DIR    # any DIR/<melanoma|nevus>/ folder

Both measurements run the same model, optimizer and ``train.train_step`` in the same
process. "pipeline" feeds it through the real path: decoded-image cache on disk ->
ImageDataset with the reference flips -> DataLoader -> device -> normalisation.
"memory" feeds it one ready batch that already sits on the device. The two are measured
in alternating blocks, and each figure is the median over its blocks, so that other load
on the machine hits both alike. Target: the pipeline keeps at least 85% of the
in-memory rate.

Images: the MED-NODE photos at ../shared/data/lesions when present, else generated
JPEGs. The list is repeated so that one epoch covers the whole measurement (worker
start-up belongs to the first epoch, not to steady-state throughput). Peak memory is
resource.getrusage's maximum resident set size of this process and of its workers.
The last line printed is one JSON object with the figures.
"""

from __future__ import annotations

import argparse
import json
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

REPO = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(REPO))

from classifier.cnn.data import (  # noqa: E402
    ImageCache,
    ImageDataset,
    make_loader,
    scan_dirs,
    train_transform,
)
from classifier.cnn.models import Normalize, create_model  # noqa: E402
from classifier.cnn.train import train_step  # noqa: E402

LESIONS = REPO.parent / "shared" / "data" / "lesions"
LOADER_BATCHES = 10  # batches timed for the loader-only rate


def generated_images(root: Path, n: int = 64) -> Path:
    """n random 900 x 700 JPEGs in ROOT/{melanoma,nevus}/ (about the lesions' median size)."""
    rng = np.random.default_rng(0)
    for i in range(n):
        folder = root / ("melanoma" if i % 2 else "nevus")
        folder.mkdir(parents=True, exist_ok=True)
        base = rng.integers(0, 256, (70, 90, 3), dtype=np.uint8)  # smooth-ish, compresses like a photo
        Image.fromarray(base).resize((900, 700), Image.BICUBIC).save(folder / f"{i:04d}.jpg", quality=90)
    return root


def peak_rss_mb() -> float:
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    return (own + workers) / 1024.0  # Linux reports kilobytes


def _sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def measure(device: torch.device, items, cache, *, batch: int, steps: int, rounds: int, workers: int,
            warmup: int) -> dict:
    """Images/s through the pipeline and from memory, in alternating blocks."""
    torch.manual_seed(0)
    model, start = create_model()
    model.to(device=device, memory_format=torch.channels_last).train()
    opt = torch.optim.RAdam(model.parameters(), lr=1e-3)
    norm = Normalize(start.mean, start.std).to(device)
    repeat = -(-(batch * (steps * rounds + warmup + 1 + LOADER_BATCHES)) // len(items))  # one epoch covers it all
    dataset = ImageDataset(items * repeat, cache, train_transform("reference"))
    loader = iter(make_loader(dataset, batch=batch, train=True, workers=workers, pin_memory=device.type == "cuda"))
    x_mem, y_mem = next(loader)
    x_mem, y_mem = x_mem.to(device), y_mem.to(device)  # ready on the device: no loading at all
    amp = device.type == "cuda"
    for _ in range(warmup):  # allocator, kernels, worker start
        train_step(model, opt, norm, *next(loader), device=device, amp=amp)
        train_step(model, opt, norm, x_mem, y_mem, device=device, amp=amp)
    rates = {"pipeline": [], "memory": []}
    for _ in range(rounds):
        for name in rates:
            _sync(device)
            t0 = time.perf_counter()
            for _ in range(steps):
                x, y = next(loader) if name == "pipeline" else (x_mem, y_mem)
                train_step(model, opt, norm, x, y, device=device, amp=amp)
            _sync(device)
            rates[name].append(batch * steps / (time.perf_counter() - t0))
    # Medians of the blocks: one block slowed by someone else's job does not decide it.
    pipe, mem = float(np.median(rates["pipeline"])), float(np.median(rates["memory"]))
    return {"pipeline_img_per_s": pipe, "memory_img_per_s": mem, "ratio": pipe / mem,
            "loader_only_img_per_s": loader_rate(loader, norm, device, batch, LOADER_BATCHES)}


def loader_rate(loader, norm, device: torch.device, batch: int, n: int) -> float:
    """Images/s of the data path alone (cache -> flips -> batch -> device -> normalised).

    Not the target, a diagnosis: with workers=0 (the CPU case) loading and training take
    turns, so the expected ratio is about 1 / (1 + memory rate / this rate).
    """
    _sync(device)
    t0 = time.perf_counter()
    for _ in range(n):
        x, _ = next(loader)
        norm(x.to(device, non_blocking=True, memory_format=torch.channels_last))
    _sync(device)
    return batch * n / (time.perf_counter() - t0)


def main(argv=None) -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--images", type=Path, default=None,
                   help="DIR/<melanoma|nevus>/ folder (default: the lesions, else generated JPEGs)")
    p.add_argument("--cpu-batch", type=int, default=16, help="CPU batch size (default 16: short blocks, more of them)")
    p.add_argument("--cpu-steps", type=int, default=1, help="CPU steps per block (default 1)")
    p.add_argument("--cpu-rounds", type=int, default=10, help="CPU blocks of each kind, alternating (default 10)")
    p.add_argument("--cuda-batch", type=int, default=64, help="CUDA batch size (default 64, the reference's)")
    p.add_argument("--cuda-steps", type=int, default=40, help="CUDA steps per block (default 40)")
    p.add_argument("--cuda-workers", type=int, default=8, help="CUDA DataLoader workers (default 8)")
    p.add_argument("--cuda-rounds", type=int, default=5, help="CUDA blocks of each kind, alternating (default 5)")
    p.add_argument("--no-cpu", action="store_true", help="skip the CPU measurement")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(prefix="cnn-bench-") as tmp:
        source = args.images or (LESIONS if LESIONS.is_dir() else generated_images(Path(tmp) / "images"))
        items = scan_dirs(source)
        cache = ImageCache(Path(tmp) / "cache", 224)
        t0 = time.perf_counter()
        bad, _decoded = cache.warm([path for path, _ in items], workers=0)
        cache_s = time.perf_counter() - t0
        items = [it for it in items if it[0] not in set(bad)]
        print(f"{len(items)} images from {source}; decoded into the cache in {cache_s:.1f} s", flush=True)
        result = {"images": len(items), "cache_build_s": round(cache_s, 2), "torch_threads": torch.get_num_threads()}
        if not args.no_cpu:
            cpu = measure(torch.device("cpu"), items, cache, batch=args.cpu_batch, steps=args.cpu_steps,
                          rounds=args.cpu_rounds, workers=0, warmup=1)
            print(f"cpu: pipeline {cpu['pipeline_img_per_s']:.1f} img/s, memory {cpu['memory_img_per_s']:.1f} img/s, "
                  f"ratio {cpu['ratio']:.3f} (batch {args.cpu_batch}); data path alone "
                  f"{cpu['loader_only_img_per_s']:.0f} img/s", flush=True)
            result.update({k: round(v, 3) for k, v in cpu.items()}, cpu_batch=args.cpu_batch)
        if torch.cuda.is_available():
            cuda = measure(torch.device("cuda"), items, cache, batch=args.cuda_batch, steps=args.cuda_steps,
                           rounds=args.cuda_rounds, workers=args.cuda_workers, warmup=5)
            print(f"cuda ({torch.cuda.get_device_name()}): pipeline {cuda['pipeline_img_per_s']:.0f} img/s, "
                  f"memory {cuda['memory_img_per_s']:.0f} img/s, ratio {cuda['ratio']:.3f}; data path alone "
                  f"{cuda['loader_only_img_per_s']:.0f} img/s", flush=True)
            result.update({f"cuda_{k}": round(v, 3) for k, v in cuda.items()}, cuda_batch=args.cuda_batch,
                          cuda_device=torch.cuda.get_device_name())
        result["peak_rss_mb"] = round(peak_rss_mb(), 1)
        result["target_ratio"] = 0.85
        print(json.dumps(result))


if __name__ == "__main__":
    main()
