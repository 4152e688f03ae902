"""Checkpoints as plain data, written atomically, with a JSON twin for people.

A checkpoint is a dict of tensors, numbers, strings, lists and dicts only:
``model`` (state dict), ``config`` (``asdict(TrainConfig)``), ``weights`` (what the run
started from), ``normalization``, counters (``epoch``, ``step``, ``images_seen``),
``history`` and, for the final one, ``youden_threshold``. No classes are pickled, so
``torch.load(weights_only=True)`` can read it without running any code.

``save`` writes ``NAME.pt`` atomically (``common.files``: temp file, fsync, ``os.replace``) so a crash
never leaves half a checkpoint, and writes ``NAME.json`` beside it without the tensors.
"""

from __future__ import annotations

import json
import warnings
from pathlib import Path

import torch

from common.files import atomic_write_bytes, atomic_writer

FORMAT = "cansite-cnn/1"
TENSOR_KEYS = ("model", "optimizer", "scheduler")  # left out of the JSON twin


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
    with atomic_writer(path) as f:
        torch.save(ckpt, f)
    meta = json_safe({k: v for k, v in ckpt.items() if k not in TENSOR_KEYS})
    text = json.dumps(meta, indent=2, sort_keys=True).encode()
    atomic_write_bytes(path.with_suffix(".json"), text)
    return path


def read_torch_file(path: str | Path, map_location="cpu", what: str = "torch file"):
    """torch.load without unpickling code; a damaged file is a one-line ValueError naming it."""
    try:
        with warnings.catch_warnings():  # garbage read as a legacy pickle warns of its protocol: the error says it
            warnings.filterwarnings("ignore", message="Detected pickle protocol", category=UserWarning)
            return torch.load(Path(path), map_location=map_location, weights_only=True)
    except (FileNotFoundError, PermissionError, IsADirectoryError):  # the system's one line says which
        raise
    except Exception:  # truncated, or not a torch file at all
        # Garbage makes the unpickler fail in many ways (UnpicklingError, EOFError, struct.error,
        # RuntimeError or EINVAL from the zip reader), some with lines of weights_only advice.
        raise ValueError(f"{path} is not a readable {what} (damaged or another format)") from None


def load(path: str | Path, map_location="cpu") -> dict:
    """Read a checkpoint without unpickling code; refuse files that are not ours."""
    ckpt = read_torch_file(path, map_location, what=f"{FORMAT} checkpoint")
    if not isinstance(ckpt, dict) or ckpt.get("format") != FORMAT:
        raise ValueError(f"{path} is not a {FORMAT} checkpoint")
    return ckpt
