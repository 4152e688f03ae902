"""Benchmark of our StyleGAN2-ADA: training speed, sampling speed, peak memory.

    python bench/gan_bench.py                 # tiny on the CPU (about a minute), plus paper on CUDA if present
    python bench/gan_bench.py --threads 2 --train-steps 64   # default: 1 thread, see --threads

What is measured: whole training steps as `train()` runs them (G main, D main, lazy
R1 and path length at their intervals, EMA, ADA bookkeeping) with augmentation at a
fixed p = 0.2, on one synthetic batch kept on the device, so data loading is left
out (in real runs loader processes overlap it). Sampling is `synthesize()`: fp32,
const noise, batches of 16, uint8 images on the host. Peak memory is the process's
maximum resident set (resource.getrusage) and, on CUDA, torch's peak allocation.

Target for `paper` (512 px, batch 16) on one H100: at most 30 s/kimg (NVIDIA's
reference code: 41 s/kimg on an A100, 72.5 on a V100, from its README).
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import platform
import resource
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere in the checkout

from generator.gan import distributed as ddp  # noqa: E402
from generator.gan.config import get_config  # noqa: E402
from generator.gan.data import ImageFolder  # noqa: E402
from generator.gan.networks import Generator  # noqa: E402
from generator.gan.sample import synthesize  # noqa: E402
from generator.gan.train import build_run, train_step  # noqa: E402

H100_TARGET_S_PER_KIMG = 30.0


def sync(device: torch.device) -> None:
    if device.type == "cuda":
        torch.cuda.synchronize(device)


def one_image_folder(root: Path, resolution: int) -> ImageFolder:
    """build_run wants a dataset for its label list; one grey image is enough."""
    (root / "x").mkdir(parents=True, exist_ok=True)
    Image.fromarray(np.full((resolution, resolution, 3), 128, np.uint8)).save(root / "x" / "0.png")
    return ImageFolder(root, resolution)


def bench_training(name: str, device: torch.device, steps: int, warmup: int, **overrides) -> dict:
    gan_cfg, train_cfg = get_config(name, augment_p=0.2, ada_target=None, **overrides)
    env = ddp.setup(device, train_cfg.mixed_precision)
    with tempfile.TemporaryDirectory() as tmp:
        run = build_run(train_cfg, gan_cfg, one_image_folder(Path(tmp), gan_cfg.resolution), Path(tmp), env)
    reals = torch.rand(train_cfg.batch, gan_cfg.img_channels, gan_cfg.resolution, gan_cfg.resolution,
                       device=env.device) * 2 - 1
    for _ in range(warmup):  # cuDNN autotuning, oneDNN primitive caches, allocator growth
        train_step(run, reals, None)
    sync(env.device)
    start = time.perf_counter()
    for _ in range(steps):
        train_step(run, reals, None)
    sync(env.device)
    seconds = time.perf_counter() - start
    s_per_kimg = seconds / (steps * train_cfg.batch / 1000)
    return {"config": name, "resolution": gan_cfg.resolution, "batch": train_cfg.batch, "steps": steps,
            "mixed_precision": env.amp, "s_per_kimg": round(s_per_kimg, 3),
            "kimg_per_hour": round(3600 / s_per_kimg, 3)}


@torch.no_grad()
def bench_sampling(name: str, device: torch.device, images: int, batch: int = 16) -> dict:
    gan_cfg, _ = get_config(name)
    G = Generator(gan_cfg).eval().requires_grad_(False).to(device)
    synthesize(G, list(range(min(batch, images))))  # warm-up
    sync(device)
    start = time.perf_counter()
    for first in range(0, images, batch):
        synthesize(G, list(range(first, min(first + batch, images))))
    sync(device)
    return {"config": name, "resolution": gan_cfg.resolution, "images": images, "batch": batch,
            "images_per_s": round(images / (time.perf_counter() - start), 3)}


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def cuda_figures(args) -> dict:
    device = torch.device("cuda")
    torch.cuda.reset_peak_memory_stats(device)
    training = bench_training("paper", device, args.cuda_train_steps, warmup=8, batch=16)
    sampling = bench_sampling("paper", device, args.cuda_sample_images)
    return {"gpu": torch.cuda.get_device_name(device), "train": training, "sample": sampling,
            "peak_cuda_mib": round(torch.cuda.max_memory_allocated(device) / 2**20, 1),
            "target_s_per_kimg_h100": H100_TARGET_S_PER_KIMG,
            "meets_h100_target": training["s_per_kimg"] <= H100_TARGET_S_PER_KIMG}


def main() -> dict:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0],
                                     formatter_class=argparse.ArgumentDefaultsHelpFormatter)
    # One thread by default: on the shared 2-core machine, 2 threads made tiny steps ~10x slower
    # whenever another process was busy (OpenMP threads waiting on each other).
    parser.add_argument("--threads", type=int, default=1, help="torch CPU threads")
    parser.add_argument("--train-steps", type=int, default=48, help="timed tiny training steps on the CPU")
    parser.add_argument("--sample-images", type=int, default=256, help="tiny images sampled on the CPU")
    parser.add_argument("--cuda-train-steps", type=int, default=48, help="timed paper steps on CUDA")
    parser.add_argument("--cuda-sample-images", type=int, default=256, help="paper images sampled on CUDA")
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA part even when a GPU is present")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    figures = {"torch": torch.__version__, "cpu": platform.machine(), "threads": args.threads,
               "tiny_cpu_train": bench_training("tiny", cpu, args.train_steps, warmup=4),
               "tiny_cpu_sample": bench_sampling("tiny", cpu, args.sample_images),
               "peak_rss_mib": peak_rss_mib()}
    print(f"tiny on CPU ({args.threads} threads): {figures['tiny_cpu_train']['kimg_per_hour']} kimg/h, "
          f"{figures['tiny_cpu_sample']['images_per_s']} images/s, peak RSS {figures['peak_rss_mib']} MiB")
    if torch.cuda.is_available() and not args.no_cuda:
        figures["paper_cuda"] = cuda_figures(args)
        paper = figures["paper_cuda"]
        print(f"paper on {paper['gpu']}: {paper['train']['s_per_kimg']} s/kimg (target <= "
              f"{H100_TARGET_S_PER_KIMG} on H100), {paper['sample']['images_per_s']} images/s at 512 px")
        figures["peak_rss_mib"] = peak_rss_mib()
    else:
        figures["paper_cuda"] = None
        print("no CUDA device: paper-config figures not measured")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
