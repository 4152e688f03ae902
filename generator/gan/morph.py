"""Morphing: a straight line in W between two images, both ends included.

Each end is a seed (mapped through the network, with truncation psi) or a
`projected_w.npz` from `project.py`. Frame i of N shows
w_i = w_a + (i / (N - 1)) * (w_b - w_a), so frame 0 is exactly A and frame N-1
exactly B (the reference morph stopped one step short of its target). Noise is
the same for every frame, so only the content changes.

    result = morph("ckpt.pt", 42, "proj/projected_w.npz", "out/", frames=30)
    # out/frame0000.png ... out/frame0029.png, out/morph.gif
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from common.devices import resolve_device
from common.files import atomic_writer
from common.seeds import MAX_SEED, SeedError, parse_seed

from .checkpoint import load_generator
from .networks import Generator
from .sample import class_tensor, render_ws, save_png, seeds_to_z, to_uint8


def is_seed(source) -> bool:
    """An end given as a seed: an int in [0, 2**32), or text that common.seeds reads as one seed ('42',
    not '٣', '1_0' or '4294967296'). Anything else names a projected .npz."""
    if isinstance(source, (int, np.integer)) and not isinstance(source, bool):
        return bool(0 <= source <= MAX_SEED)
    if not isinstance(source, str):
        return False
    try:
        parse_seed(source)
    except SeedError:
        return False
    return True


@torch.no_grad()
def load_w(G: Generator, source, *, psi: float = 1.0, class_idx: int | None = None) -> torch.Tensor:
    """ws [1, num_ws, w_dim] for a seed (int or digit string) or a projected .npz (key "w")."""
    device = G.mapping.w_avg.device
    if is_seed(source):
        z = seeds_to_z([int(source)], G.cfg.z_dim, device)
        return G.broadcast(G.mapping(z, class_tensor(G, 1, class_idx, device), psi=psi))
    if not Path(source).is_file():
        raise ValueError(f"{source!r} is neither a seed (0 to {MAX_SEED}, digits 0-9) nor a projected .npz file")
    with np.load(Path(source)) as data:
        w = torch.from_numpy(data["w"]).float().to(device)
    if w.shape[-1] != G.cfg.w_dim:
        raise ValueError(f"w: {source} has w_dim {w.shape[-1]}, the generator has {G.cfg.w_dim}")
    w = w.reshape(-1, w.shape[-1])  # [1 or num_ws, w_dim]
    if w.shape[0] == 1:
        w = w.expand(G.cfg.num_ws, -1)
    if w.shape[0] != G.cfg.num_ws:
        raise ValueError(f"w: {source} has {w.shape[0]} style vectors, the generator uses {G.cfg.num_ws}")
    return w[None]


def interpolation_weights(frames: int) -> list[float]:
    if frames < 2:
        raise ValueError(f"frames: need at least 2 (both ends), got {frames}")
    return [i / (frames - 1) for i in range(frames)]


def save_animation(frames: list[np.ndarray], path: Path, duration_ms: int) -> Path:
    images = [Image.fromarray(f[:, :, 0] if f.shape[2] == 1 else f) for f in frames]
    # Play forwards then back so the loop has no jump.
    sequence = images + images[-2:0:-1]
    with atomic_writer(path) as f:  # a unique temp name per write: two writers of one path never collide
        sequence[0].save(f, format="GIF", save_all=True, append_images=sequence[1:], duration=duration_ms, loop=0)
    return path


@torch.no_grad()
def morph(ckpt_path, source, target, out_dir, *, frames: int = 30, psi: float = 1.0, noise_mode: str = "const",
          class_idx: int | None = None, device=None, duration_ms: int = 80,
          progress_fn: Callable[[dict], None] | None = None) -> dict:
    """Write frameNNNN.png and morph.gif; returns {"frames": [paths], "animation": path}."""
    weights = interpolation_weights(frames)
    device = resolve_device(device)
    G = load_generator(ckpt_path, device)
    w_a = load_w(G, source, psi=psi, class_idx=class_idx)
    w_b = load_w(G, target, psi=psi, class_idx=class_idx)
    out_dir = Path(out_dir)
    out_dir.mkdir(parents=True, exist_ok=True)
    arrays, paths = [], []
    for i, t in enumerate(weights):
        # Noise seed 0 in every frame: with random noise only the content moves.
        image = to_uint8(render_ws(G, w_a.lerp(w_b, t), noise_mode=noise_mode, noise_seed=0))[0]
        arrays.append(image)
        paths.append(save_png(image, out_dir / f"frame{i:04d}.png"))
        if progress_fn is not None:
            progress_fn({"done": i + 1, "total": frames})
    return {"frames": paths, "animation": save_animation(arrays, out_dir / "morph.gif", duration_ms)}
