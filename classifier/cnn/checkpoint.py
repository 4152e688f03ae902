"""Checkpoints as plain data, written atomically, with a JSON twin for people.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts only:
``model`` (state dict), ``config`` (``asdict(TrainConfig)``), ``weights`` (what the run
started from), ``normalization``, counters (``epoch``, ``step``, ``images_seen``),
``history`` and, for the final one, ``youden_threshold``. No classes are pickled, so
``torch.load(weights_only=True)`` can read it without running any code.

``save`` writes ``NAME.pt`` through a temporary file and ``os.replace`` so a crash
never leaves half a checkpoint, and writes ``NAME.json`` beside it without the tensors.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path

import torch

FORMAT = "cansite-cnn/1"
TENSOR_KEYS = ("model", "optimizer", "scheduler")  # left out of the JSON twin


def _atomic_write(path: Path, write) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            write(f)
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def json_safe(value):
    """Numbers, strings, lists and dicts only: tuples become lists, tensors are dropped."""
    if isinstance(value, dict):
        return {str(k): json_safe(v) for k, v in value.items() if not torch.is_tensor(v)}
    if isinstance(value, (list, tuple)):
        return [json_safe(v) for v in value]
    if isinstance(value, float) and value != value:  # NaN is not JSON
        return None
    return value


def save(path: str | Path, ckpt: dict) -> Path:
    """Write ``ckpt`` to ``path`` (.pt) atomically, and its JSON twin (.json) beside it."""
    path = Path(path)
    ckpt = {"format": FORMAT, **ckpt}
    _atomic_write(path, lambda f: torch.save(ckpt, f))
    meta = json_safe({k: v for k, v in ckpt.items() if k not in TENSOR_KEYS})
    text = json.dumps(meta, indent=2, sort_keys=True).encode()
    _atomic_write(path.with_suffix(".json"), lambda f: f.write(text))
    return path


def load(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint without unpickling code; refuse files that are not ours."""
    ckpt = torch.load(Path(path), map_location=map_location, weights_only=True)
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} checkpoint")
    return ckpt
