"""Device selection, one convention for every tool: "auto" (or None) means CUDA when there is one.

    resolve_device("auto") -> cuda or cpu      resolve_device("cuda:1") -> that GPU, if it exists
    resolve_device(None)   -> the same as auto resolve_device("tpu")    -> ValueError naming the choices

torch is imported when a device is resolved, not when this module is: the web process reads the
choices for its flags without loading torch.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import torch

AUTO = "auto"
CHOICES = "auto, cpu, cuda or cuda:N"


class DeviceError(ValueError):
    """A device that is not a name we know, or that this machine does not have."""


def resolve_device(device: str | torch.device | None = AUTO) -> torch.device:
    """The torch.device for a name; a one-line DeviceError for an unknown or unavailable one."""
    import torch

    if device is None or device == AUTO:
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        chosen = torch.device(device)
    except (RuntimeError, TypeError):
        raise DeviceError(f"device {device!r}: not a device; use {CHOICES}") from None
    if chosen.type == "cpu":
        return chosen
    if chosen.type != "cuda":
        raise DeviceError(f"device {device!r}: not supported; use {CHOICES}")
    if not torch.cuda.is_available():
        raise DeviceError(f"device {device!r}: this machine has no CUDA device; use cpu or auto")
    if chosen.index is not None and chosen.index >= torch.cuda.device_count():
        raise DeviceError(f"device {device!r}: this machine has {torch.cuda.device_count()} CUDA device(s)")
    return chosen


def device_flag(text: str) -> str:
    """An argparse `type=` for --device: refuses an unknown or absent device as a one-line usage error,
    before any data is read, and keeps the name (the run resolves it again where it starts)."""
    import argparse

    try:
        resolve_device(text)
    except DeviceError as exc:
        raise argparse.ArgumentTypeError(str(exc)) from None
    return text
