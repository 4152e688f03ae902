"""Checkpoints as plain data: state_dicts, configs as dicts, counters and RNG states.

A checkpoint is one `torch.save`d dict that `torch.load(path, weights_only=True)`
reads back: no pickled classes, so loading never runs code from the file.
Keys (format "cansite-stylegan2/1"):

    format, gan_config (asdict), train_config (asdict),
    G, D, G_ema, G_opt, D_opt      state_dicts
    augment {p, sign_sum, count}, pl_mean (float),
    counters {step, images_seen, kimg}, rng {torch, cuda, numpy, python},
    losses (last reported), time_s

Writes are atomic (common.files: a temporary file in the same folder, fsynced, then
os.replace), so a worker killed mid-write leaves the previous checkpoint intact. A JSON file with
the same stem sits beside each checkpoint for people.

    G = load_generator("runs/x/checkpoint-00010.000kimg.pt", device="cuda")
"""

from __future__ import annotations

import json
import random
import re
from pathlib import Path

import numpy as np
import torch

from common.files import atomic_write_bytes, atomic_writer

from .config import gan_config_from_dict
from .networks import Discriminator, Generator

FORMAT = "cansite-stylegan2/1"
CHECKPOINT_GLOB = "checkpoint-*kimg.pt"


def checkpoint_name(images_seen: int) -> str:
    return f"checkpoint-{images_seen / 1000:09.3f}kimg.pt"


def rng_state() -> dict:
    """Every RNG the training loop may touch, as tensors and plain numbers."""
    _kind, keys, pos, has_gauss, cached = np.random.get_state()
    version, py_state, gauss = random.getstate()
    return {
        "torch": torch.get_rng_state(),
        "cuda": torch.cuda.get_rng_state_all() if torch.cuda.is_available() else [],
        "numpy": {"keys": torch.from_numpy(np.asarray(keys, dtype=np.int64)), "pos": int(pos),
                  "has_gauss": int(has_gauss), "cached_gaussian": float(cached)},
        "python": {"version": version, "state": torch.tensor(py_state, dtype=torch.int64), "gauss": gauss},
    }


def set_rng_state(state: dict) -> None:
    torch.set_rng_state(state["torch"])
    if state["cuda"] and torch.cuda.is_available():
        torch.cuda.set_rng_state_all(state["cuda"])
    npst = state["numpy"]
    np.random.set_state(("MT19937", npst["keys"].numpy().astype(np.uint32), npst["pos"],
                         npst["has_gauss"], npst["cached_gaussian"]))
    py = state["python"]
    random.setstate((py["version"], tuple(int(v) for v in py["state"].tolist()), py["gauss"]))


def save_checkpoint(path: str | Path, payload: dict, summary: dict | None = None) -> Path:
    """Write `payload` atomically to `path` and a readable JSON summary beside it."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    payload = {"format": FORMAT, **payload}
    with atomic_writer(path) as f:
        torch.save(payload, f)
    info = {key: payload[key] for key in ("format", "gan_config", "train_config", "counters") if key in payload}
    info.update(summary or {})
    text = json.dumps(info, indent=2, default=str).encode()
    atomic_write_bytes(path.with_suffix(".json"), text)
    return path


def load_checkpoint(path: str | Path, map_location="cpu") -> dict:
    ckpt = torch.load(path, map_location=map_location, weights_only=True, mmap=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path}: not a {FORMAT} checkpoint")
    return ckpt


def load_generator(path: str | Path, device=None, *, ema: bool = True) -> Generator:
    """The (EMA) generator of a checkpoint, in eval mode, without gradients."""
    ckpt = load_checkpoint(path)
    G = Generator(gan_config_from_dict(ckpt["gan_config"]))
    G.load_state_dict(ckpt["G_ema" if ema else "G"])
    return G.eval().requires_grad_(False).to(device or "cpu")


def load_discriminator(path: str | Path, device=None) -> Discriminator:
    ckpt = load_checkpoint(path)
    D = Discriminator(gan_config_from_dict(ckpt["gan_config"]))
    D.load_state_dict(ckpt["D"])
    return D.eval().requires_grad_(False).to(device or "cpu")


def list_checkpoints(out_dir: str | Path) -> list[Path]:
    """Checkpoints in a run folder, oldest (fewest images) first."""
    def images(p: Path) -> float:
        match = re.search(r"checkpoint-([0-9.]+)kimg\.pt$", p.name)
        return float(match.group(1)) if match else -1.0
    return sorted(Path(out_dir).glob(CHECKPOINT_GLOB), key=images)


def latest_checkpoint(out_dir: str | Path) -> Path | None:
    found = list_checkpoints(out_dir)
    return found[-1] if found else None
