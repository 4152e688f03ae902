"""Benchmark of our StyleGAN2-ADA: training speed, sampling speed, peak memory, the seed rule on CUDA.

    python bench/gan_bench.py                 # a few minutes on the CPU, plus paper on CUDA if present
    python bench/gan_bench.py --threads 2 --train-steps 64   # tiny figures: 1 thread, see --threads
    python bench/gan_bench.py --sampling-only --paper-rounds 5  # only the 512 px sampling figures

What is measured, on the CPU:
- tiny: whole training steps as `train()` runs them (G main, D main, lazy R1 and path length at
  their intervals, EMA, ADA bookkeeping) with augmentation at a fixed p = 0.2, on one synthetic
  batch kept on the device (data loading left out: in real runs loader processes overlap it),
  and sampling through `synthesize()` (the canonical render).
- paper at 512 px, batch 1, fp32: images/s of the canonical render (`render_ws`: the batch-one
  inference path) against the baseline, the old render path (`synthesis(..., fast=False)`: the
  training maths, same library, same settings), at batch 1 and at batch 4, run interleaved in this
  process so that other load on the machine hits both alike; each with its achieved GFLOP/s (the
  convolutions' multiply-adds x 2, counted from the config) beside the machine's matmul GFLOP/s
  measured in the same run (a 2048^3 sgemm), and the load average. Images/s: best round, median
  and every round; per image also CPU seconds (user + sys of all threads, getrusage), the kernel's
  share of them and minor page faults, which a busy shared machine disturbs less than wall time.
  The first fast render keeps freed memory for the process (inference.keep_freed_memory), so the
  baseline cases run with it too. Then the canonical rule at full size: 1 and 2 threads, same floats.
- paper at 256 px: images/s of G+D training steps (the main G and D phases; the lazy regularisers
  fall outside the timed steps), with the approximate GFLOP/s (forward + backward = 3x forward).
On CUDA (where present): the paper config's s/kimg at batch 16 (target: at most 30 s/kimg on one
H100; NVIDIA's reference code: 41 s/kimg on an A100, 72.5 on a V100, from its README) and the seed
rule there: CUDA renders of the same seeds in chunks of 1, 3 and 7 give equal floats and bytes, and
stay within one level of the CPU's render. Peak memory is the process's maximum resident set
(resource.getrusage) and, on CUDA, torch's peak allocation.
The last line printed is one JSON object with every figure.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # run from anywhere in the checkout

from generator.gan import distributed as ddp
from generator.gan.config import get_config
from generator.gan.data import ImageFolder
from generator.gan.networks import Generator
from generator.gan.sample import render_seeds, render_ws, synthesize
from generator.gan.train import build_run, train_step

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


def synthesis_gflop(cfg) -> float:
    """Convolution FLOP (2 x multiply-adds) of one image through the synthesis network. The
    upsampling convolutions are transposed: their multiply-adds are counted at the input size."""
    macs = 9 * cfg.channels(4) ** 2 * 16 + cfg.channels(4) * cfg.img_channels * 16
    for res in (2**i for i in range(3, cfg.log2_res + 1)):
        cin, cout = cfg.channels(res // 2), cfg.channels(res)
        macs += 9 * cin * cout * (res // 2) ** 2 + 9 * cout * cout * res**2 + cout * cfg.img_channels * res**2
        macs += 16 * cout * res**2  # the depthwise 4x4 blur after the transposed conv
    return 2 * macs / 1e9


def discriminator_gflop(cfg) -> float:
    macs = cfg.img_channels * cfg.channels(cfg.resolution) * cfg.resolution**2
    for res in (2**i for i in range(cfg.log2_res, 2, -1)):
        c, c2 = cfg.channels(res), cfg.channels(res // 2)
        macs += 9 * c * c * res**2 + 9 * c * c2 * (res // 2) ** 2 + c * c2 * (res // 2) ** 2
    c4 = cfg.channels(4)
    macs += 9 * (c4 + cfg.mbstd_channels) * c4 * 16 + 16 * c4 * c4
    return 2 * macs / 1e9


def matmul_gflops(n: int = 2048, repeats: int = 5) -> float:
    """The machine's sgemm GFLOP/s now (best of `repeats`): the ceiling the convolutions approach."""
    a, b = torch.randn(n, n), torch.randn(n, n)
    a @ b
    best = min(timed(lambda: a @ b) for _ in range(repeats))
    return round(2 * n**3 / best / 1e9, 1)


def timed(fn) -> float:
    start = time.perf_counter()
    fn()
    return time.perf_counter() - start


def measured(fn, images: int) -> dict:
    """Per image: wall seconds, CPU seconds (user + sys over every thread of this process), the
    system part and minor page faults: CPU time moves less than wall time on a shared machine."""
    before, start = resource.getrusage(resource.RUSAGE_SELF), time.perf_counter()
    fn()
    wall, after = time.perf_counter() - start, resource.getrusage(resource.RUSAGE_SELF)
    user, system = after.ru_utime - before.ru_utime, after.ru_stime - before.ru_stime
    return {"wall": wall / images, "cpu": (user + system) / images, "sys": system / images,
            "faults": (after.ru_minflt - before.ru_minflt) / images}


def summary(rounds: list[dict], gflop: float) -> dict:
    walls = [r["wall"] for r in rounds]
    median = statistics.median(walls)
    cpu = statistics.median(r["cpu"] for r in rounds)
    return {"images_per_s": round(1 / min(walls), 3), "images_per_s_median": round(1 / median, 3),
            "images_per_s_all": [round(1 / w, 3) for w in walls], "gflops": round(gflop / min(walls), 1),
            "cpu_s_per_image": round(cpu, 3),
            "sys_share": round(statistics.median(r["sys"] for r in rounds) / cpu, 3) if cpu else 0.0,
            "page_faults_per_image": round(statistics.median(r["faults"] for r in rounds))}


def thread_invariant(G, ws) -> bool:
    """The canonical rule at full size (the tests check it on 32 px networks): the same floats
    from 1 and from 2 threads."""
    before = torch.get_num_threads()
    try:
        torch.set_num_threads(1)
        one = render_ws(G, ws)
        torch.set_num_threads(2)
        return torch.equal(one, render_ws(G, ws))
    finally:
        torch.set_num_threads(before)


@torch.no_grad()
def bench_paper_sampling(rounds: int) -> dict:
    """512 px, fp32: ours (the canonical render) and the old render path at batch 1 and 4, interleaved."""
    gan_cfg, _ = get_config("paper")
    G = lively_generator(gan_cfg, torch.device("cpu"))
    ws1 = G.broadcast(G.mapping(torch.randn(1, gan_cfg.z_dim)))
    ws4 = G.broadcast(G.mapping(torch.randn(4, gan_cfg.z_dim)))
    cases = {"ours_batch1": (lambda: render_ws(G, ws1), 1),
             "baseline_batch1": (lambda: G.synthesis(ws1, "const", fast=False), 1),
             "baseline_batch4": (lambda: G.synthesis(ws4, "const", fast=False), 4)}
    per_round = {name: [] for name in cases}
    for fn, _ in cases.values():  # warm-up: oneDNN primitive caches, allocator growth, kept weights
        fn()
    for _ in range(rounds):
        for name, (fn, images) in cases.items():
            per_round[name].append(measured(fn, images))
    gflop = synthesis_gflop(gan_cfg)
    figures = {name: summary(r, gflop) for name, r in per_round.items()}
    best = {name: min(r["wall"] for r in rs) for name, rs in per_round.items()}
    agree = (render_ws(G, ws1) - G.synthesis(ws1, "const", fast=False)).abs().max().item()
    return {"resolution": 512, "gflop_per_image": round(gflop, 1), "rounds": rounds, **figures,
            "speedup_vs_baseline_batch1": round(best["baseline_batch1"] / best["ours_batch1"], 3),
            "speedup_vs_baseline_batch4": round(best["baseline_batch4"] / best["ours_batch1"], 3),
            "max_abs_diff_vs_baseline": agree, "same_floats_at_1_and_2_threads": thread_invariant(G, ws1)}


def bench_paper_training(steps: int, batch: int) -> dict:
    """G+D steps of the paper config at 256 px on the CPU, images/s and approximate GFLOP/s."""
    figures = bench_training("paper", torch.device("cpu"), steps, warmup=1, resolution=256, batch=batch)
    gan_cfg, _ = get_config("paper", resolution=256)
    g, d = synthesis_gflop(gan_cfg), discriminator_gflop(gan_cfg)
    # G phase: G and D forward + backward (3x); D phase: G forward, D forward + backward on fakes and reals.
    gflop = 3 * (g + d) + g + 2 * 3 * d
    images_per_s = 1000 / figures["s_per_kimg"]
    return {"resolution": 256, "batch": batch, "steps": steps, "images_per_s": round(images_per_s, 3),
            "approx_gflop_per_image": round(gflop, 1), "approx_gflops": round(gflop * images_per_s, 1)}


def paper_cpu_figures(args) -> dict:
    torch.set_num_threads(args.paper_threads)
    load_before = os.getloadavg()
    matmul = matmul_gflops()
    sampling = bench_paper_sampling(args.paper_rounds)
    training = None if args.sampling_only else bench_paper_training(args.paper_train_steps, args.paper_train_batch)
    matmul_after = matmul_gflops()
    torch.set_num_threads(args.threads)
    return {"threads": args.paper_threads, "matmul_gflops": [matmul, matmul_after],
            "load_average": [round(x, 2) for x in load_before + os.getloadavg()],
            "sample_512": sampling, "train_256": training}


def peak_rss_mib() -> float:
    return round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1)  # Linux reports KiB


def lively_generator(cfg, device: torch.device) -> Generator:
    """Random weights with non-zero noise strengths and biases, so noise and bias paths are exercised."""
    torch.manual_seed(0)
    G = Generator(cfg)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith(("noise_strength", ".bias")):
                p.copy_(torch.randn_like(p) * 0.3)
    return G.eval().requires_grad_(False).to(device)


def cuda_seed_rule(device: torch.device, seeds: list[int]) -> dict:
    """On CUDA the canonical render is batch-invariant (floats and bytes for chunks of 1, 3 and 7)
    and within one uint8 level of the CPU's render of the same weights."""
    gan_cfg, _ = get_config("paper")
    G_cpu = lively_generator(gan_cfg, torch.device("cpu"))
    G_cuda = lively_generator(gan_cfg, device)
    figures = {}
    for mode in ("const", "random", "none"):
        runs = [torch.cat([render_seeds(G_cuda, seeds[i:i + size], noise_mode=mode).cpu()
                           for i in range(0, len(seeds), size)]) for size in (1, 3, 7)]
        cuda_bytes = [synthesize(G_cuda, seeds[i:i + 3], noise_mode=mode) for i in range(0, len(seeds), 3)]
        cpu_bytes = synthesize(G_cpu, seeds, noise_mode=mode)
        levels = np.abs(np.concatenate(cuda_bytes).astype(int) - cpu_bytes.astype(int)).max()
        figures[mode] = {"batch_invariant_floats": all(torch.equal(r, runs[0]) for r in runs),
                         "batch_invariant_bytes": bool(np.array_equal(np.concatenate(cuda_bytes),
                                                                      synthesize(G_cuda, seeds, noise_mode=mode))),
                         "max_levels_vs_cpu": int(levels)}
    figures["ok"] = all(f["batch_invariant_floats"] and f["batch_invariant_bytes"] and f["max_levels_vs_cpu"] <= 1
                        for f in figures.values())
    return figures


def cuda_figures(args) -> dict:
    device = torch.device("cuda")
    torch.cuda.reset_peak_memory_stats(device)
    training = bench_training("paper", device, args.cuda_train_steps, warmup=8, batch=16)
    sampling = bench_sampling("paper", device, args.cuda_sample_images)
    seed_rule = cuda_seed_rule(device, list(range(args.cuda_seed_rule_seeds)))
    return {"gpu": torch.cuda.get_device_name(device), "train": training, "sample": sampling, "seed_rule": seed_rule,
            "peak_cuda_mib": round(torch.cuda.max_memory_allocated(device) / 2**20, 1),
            "target_s_per_kimg_h100": H100_TARGET_S_PER_KIMG,
            "meets_h100_target": training["s_per_kimg"] <= H100_TARGET_S_PER_KIMG}


def print_paper_cpu(f: dict) -> None:
    s, t = f["sample_512"], f["train_256"]
    print(f"paper on CPU ({f['threads']} threads, load average {f['load_average']}, matmul "
          f"{f['matmul_gflops']} GFLOP/s):")
    for name in ("ours_batch1", "baseline_batch1", "baseline_batch4"):
        c = s[name]
        print(f"  sampling 512 px {name}: {c['images_per_s']} images/s (median {c['images_per_s_median']}, all "
              f"{c['images_per_s_all']}), {c['gflops']} GFLOP/s ({s['gflop_per_image']} GFLOP/image); "
              f"{c['cpu_s_per_image']} CPU s/image, {c['sys_share']:.0%} in the kernel, "
              f"{c['page_faults_per_image']} page faults/image")
    print(f"  ours / baseline: {s['speedup_vs_baseline_batch1']}x at batch 1, {s['speedup_vs_baseline_batch4']}x "
          f"against batch 4 per image; max |diff| {s['max_abs_diff_vs_baseline']:.2e}; same floats at 1 and 2 "
          f"threads: {s['same_floats_at_1_and_2_threads']}")
    if t is not None:
        print(f"  G+D step 256 px batch {t['batch']}: {t['images_per_s']} images/s, ~{t['approx_gflops']} GFLOP/s")


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
    parser.add_argument("--cuda-seed-rule-seeds", type=int, default=8,
                        help="paper seeds rendered for the CUDA seed rule")
    parser.add_argument("--no-cuda", action="store_true", help="skip the CUDA part even when a GPU is present")
    parser.add_argument("--paper-threads", type=int, default=2, help="torch CPU threads for the paper figures")
    parser.add_argument("--paper-rounds", type=int, default=3, help="interleaved rounds of the 512 px renders")
    parser.add_argument("--paper-train-steps", type=int, default=2, help="timed paper G+D steps at 256 px on the CPU")
    parser.add_argument("--paper-train-batch", type=int, default=4, help="batch of those steps")
    parser.add_argument("--no-paper-cpu", action="store_true", help="skip the paper figures on the CPU")
    parser.add_argument("--sampling-only", action="store_true",
                        help="only the paper's 512 px sampling on the CPU (no tiny, training or CUDA figures)")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    cpu = torch.device("cpu")
    figures = {"torch": torch.__version__, "cpu": platform.machine(), "threads": args.threads}
    if not args.sampling_only:
        figures |= {"tiny_cpu_train": bench_training("tiny", cpu, args.train_steps, warmup=4),
                    "tiny_cpu_sample": bench_sampling("tiny", cpu, args.sample_images)}
        print(f"tiny on CPU ({args.threads} threads): {figures['tiny_cpu_train']['kimg_per_hour']} kimg/h, "
              f"{figures['tiny_cpu_sample']['images_per_s']} images/s, peak RSS {peak_rss_mib()} MiB")
    figures["paper_cpu"] = None if args.no_paper_cpu else paper_cpu_figures(args)
    if figures["paper_cpu"] is not None:
        print_paper_cpu(figures["paper_cpu"])
    figures["peak_rss_mib"] = peak_rss_mib()
    if torch.cuda.is_available() and not args.no_cuda and not args.sampling_only:
        figures["paper_cuda"] = cuda_figures(args)
        paper = figures["paper_cuda"]
        print(f"paper on {paper['gpu']}: {paper['train']['s_per_kimg']} s/kimg (target <= "
              f"{H100_TARGET_S_PER_KIMG} on H100), {paper['sample']['images_per_s']} images/s at 512 px; "
              f"seed rule on CUDA (batch-invariant, within 1 level of the CPU): {paper['seed_rule']['ok']}")
        figures["peak_rss_mib"] = peak_rss_mib()
    else:
        figures["paper_cuda"] = None
        print("no CUDA device: paper-config figures not measured")
    print(json.dumps(figures))
    return figures


if __name__ == "__main__":
    main()
