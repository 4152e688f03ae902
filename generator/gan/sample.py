"""Seeded sampling: the seed is the identity of an image.

z for seed s is exactly `np.random.RandomState(s).randn(1, z_dim)`, as in the
reference `gen_images.py`, so seeds mean the same thing in every tool. Truncation
moves w towards the tracked average: w' = w_avg + psi * (w - w_avg).
noise_mode "const" uses the noise images stored in the checkpoint (the same
picture every time), "random" draws noise from a generator seeded with the seed
(so it is reproducible too), "none" leaves noise out.

The canonical render (`render_seed`, `render_ws`): each image is mapped and
synthesised in its own forward pass (a batch of one), in fp32 without autocast,
with `exact_fp32` on CUDA. A batched convolution may round differently from a
single one, so this is what makes a seed's bytes independent of its batch
neighbours, the batch size and the thread count. `synthesize`, `generate_images`,
morphs, the seed publications and the run grid all render through it.

    paths = generate_images("ckpt.pt", range(0, 2501), "out/", psi=0.7)
    # out/seed0000.png ... out/seed2500.png

Command line: python -m generator.gan.cli sample CKPT --seeds 0-99 --out DIR [--psi 0.7]
"""

from __future__ import annotations

import contextlib
import itertools
import math
from collections.abc import Callable, Iterable, Sequence
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from common.devices import resolve_device
from common.files import atomic_writer
from common.seeds import SEED_LIMIT

from .checkpoint import load_generator
from .networks import Generator
from .seeds import parse_seeds  # noqa: F401 - re-exported: callers import it from here


def seed_filename(seed: int) -> str:
    return f"seed{seed:04d}.png"  # 4 digits, wider when the seed needs it


def z_from_seed(seed: int, z_dim: int) -> np.ndarray:
    if not 0 <= seed < SEED_LIMIT:
        raise ValueError(f"seed: must be in [0, 2**32), got {seed}")
    return np.random.RandomState(seed).randn(1, z_dim)


def seeds_to_z(seeds: Iterable[int], z_dim: int, device=None) -> torch.Tensor:
    z = np.concatenate([z_from_seed(s, z_dim) for s in seeds])
    return torch.from_numpy(z).float().to(device or "cpu")


def class_tensor(G: Generator, n: int, class_idx: int | None, device) -> torch.Tensor | None:
    if G.cfg.num_classes == 0:
        if class_idx is not None:
            raise ValueError("class_idx: this generator is unconditional")
        return None
    if class_idx is None or not 0 <= class_idx < G.cfg.num_classes:
        raise ValueError(f"class_idx: this generator needs a class in [0, {G.cfg.num_classes})")
    return torch.full((n,), class_idx, dtype=torch.long, device=device)


def to_uint8(images: torch.Tensor) -> np.ndarray:
    """[-1, 1] images [N, C, H, W] -> uint8 [N, H, W, C]."""
    images = (images.float() * 127.5 + 128).clamp(0, 255).to(torch.uint8)
    return images.permute(0, 2, 3, 1).cpu().numpy()


@contextlib.contextmanager
def exact_fp32(device: torch.device):
    """On CUDA: no TF32 and deterministic cuDNN kernels, so a seed gives the same image every
    time and stays within rounding of the CPU's image. (Training switches TF32 on for speed.)"""
    if device.type != "cuda":
        yield
        return
    saved = (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,
             torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark)
    torch.backends.cudnn.allow_tf32 = torch.backends.cuda.matmul.allow_tf32 = False
    torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark = True, False
    try:
        yield
    finally:
        (torch.backends.cudnn.allow_tf32, torch.backends.cuda.matmul.allow_tf32,
         torch.backends.cudnn.deterministic, torch.backends.cudnn.benchmark) = saved


@contextlib.contextmanager
def canonical_context(device: torch.device, noise_seed: int):
    """Everything the canonical render fixes besides the batch of one: no autocast (fp32),
    `exact_fp32` on CUDA, no autograd, and the torch RNG seeded for this image only (random noise
    is then a function of the seed; the caller's RNG state is restored afterwards)."""
    with contextlib.ExitStack() as stack:
        stack.enter_context(torch.no_grad())
        stack.enter_context(torch.autocast(device.type, enabled=False))
        stack.enter_context(exact_fp32(device))
        stack.enter_context(torch.random.fork_rng(devices=[device] if device.type == "cuda" else []))
        torch.manual_seed(noise_seed)
        yield


def render_ws(G: Generator, ws: torch.Tensor, *, noise_mode: str = "const", noise_seed: int = 0) -> torch.Tensor:
    """The canonical synthesis of ONE image from styles ws [1, num_ws, w_dim]: float [1, C, H, W].

    Every image this project publishes comes from here (seeds, psi strips, morph frames, the run
    grid): one image per forward pass, because a batched convolution may round differently from a
    single one (oneDNN picks its kernels by shape and CPU), and then a seed's pixels would depend
    on its batch neighbours.
    """
    if ws.shape[0] != 1:
        raise ValueError(f"ws: the canonical render takes one image, got a batch of {ws.shape[0]}")
    device = ws.device
    with canonical_context(device, noise_seed):
        return G.synthesis(ws.float(), noise_mode=noise_mode)


def render_seed(G: Generator, seed: int, *, psi: float = 1.0, noise_mode: str = "const",
                class_idx: int | None = None) -> torch.Tensor:
    """The canonical render of one seed: z = RandomState(seed).randn(1, z_dim) mapped alone, then
    `render_ws` with the noise seeded by the seed. Float [1, C, H, W], before quantisation."""
    device = next(G.parameters()).device
    with canonical_context(device, seed):
        z = seeds_to_z([seed], G.cfg.z_dim, device)
        ws = G.broadcast(G.mapping(z, class_tensor(G, 1, class_idx, device), psi=psi))
    return render_ws(G, ws, noise_mode=noise_mode, noise_seed=seed)


def render_seeds(G: Generator, seeds: Iterable[int], *, psi: float = 1.0, noise_mode: str = "const",
                 class_idx: int | None = None) -> torch.Tensor:
    """Float images [N, C, H, W] of the seeds, each rendered alone by `render_seed`."""
    return torch.cat([render_seed(G, s, psi=psi, noise_mode=noise_mode, class_idx=class_idx) for s in seeds])


def synthesize(G: Generator, seeds: Iterable[int], *, psi: float = 1.0, noise_mode: str = "const",
               class_idx: int | None = None) -> np.ndarray:
    """uint8 images [N, H, W, C] for the seeds: the canonical render, so a seed's bytes do not depend
    on which other seeds are passed with it, the thread count or the command that asks."""
    return np.concatenate([to_uint8(render_seed(G, s, psi=psi, noise_mode=noise_mode, class_idx=class_idx))
                           for s in seeds])


def save_png(array: np.ndarray, path: str | Path) -> Path:
    """Write one uint8 [H, W, C] image atomically (common.files)."""
    path = Path(path)
    image = Image.fromarray(array[:, :, 0] if array.shape[2] == 1 else array)
    with atomic_writer(path) as f:
        image.save(f, format="PNG")
    return path


def image_grid(images: np.ndarray, cols: int | None = None) -> np.ndarray:
    """Tile uint8 [N, H, W, C] into one [rows*H, cols*W, C] image."""
    n, h, w, c = images.shape
    cols = cols or math.ceil(math.sqrt(n))
    rows = math.ceil(n / cols)
    grid = np.zeros((rows * h, cols * w, c), dtype=np.uint8)
    for i, img in enumerate(images):
        r, col = divmod(i, cols)
        grid[r * h:(r + 1) * h, col * w:(col + 1) * w] = img
    return grid


def generate_images(ckpt_path: str | Path, seeds: Iterable[int], out_dir: str | Path, *, psi: float = 1.0,
                    noise_mode: str = "const", class_idx: int | None = None, batch_size: int = 16,
                    device=None, progress_fn: Callable[[dict], None] | None = None) -> list[Path]:
    """Write seedNNNN.png for each seed into out_dir; returns the paths in seed order.

    batch_size is how many images are rendered between progress reports: every image is still
    rendered alone (see `render_ws`), so it never changes a byte. progress_fn({"done": n, "total": N})
    is called after each batch.
    """
    if batch_size < 1:
        raise ValueError(f"batch_size: must be >= 1, got {batch_size}")
    if not math.isfinite(psi):
        raise ValueError(f"psi: must be a finite number, got {psi}")
    seeds = seeds if isinstance(seeds, Sequence) else list(seeds)
    device = resolve_device(device)
    G = load_generator(ckpt_path, device)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    paths: list[Path] = []
    pending = iter(seeds)  # batches are drawn lazily: a long range never exists as a list
    while batch := list(itertools.islice(pending, batch_size)):
        images = synthesize(G, batch, psi=psi, noise_mode=noise_mode, class_idx=class_idx)
        paths += [save_png(img, out_dir / seed_filename(s)) for s, img in zip(batch, images)]
        if progress_fn is not None:
            progress_fn({"done": len(paths), "total": len(seeds)})
    return paths
