"""Process and device setup, and the few collectives multi-GPU training needs.

With torchrun (WORLD_SIZE > 1) every process trains on `batch / world_size`
images, gradients are averaged by one all-reduce of a flattened buffer after
each backward, and rank 0 writes files. With one process every function here
is a no-op, so the training loop reads the same either way.

    torchrun --nproc_per_node 4 -m generator.gan.train --config paper --data D --out O
"""

from __future__ import annotations

import os
import random
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from common.devices import resolve_device

from .config import ConfigError


@dataclass(frozen=True)
class Env:
    rank: int
    world_size: int
    device: torch.device
    amp: bool  # bf16 autocast for the main phases
    owns_group: bool = False  # we started the process group, so we end it


def setup(device=None, mixed_precision: str = "auto") -> Env:
    world = int(os.environ.get("WORLD_SIZE", "1"))
    rank, local_rank = int(os.environ.get("RANK", "0")), int(os.environ.get("LOCAL_RANK", "0"))
    device = resolve_device(device)  # auto: an index-less "cuda", given this rank's GPU below
    if device.type == "cuda":
        if device.index is None:
            device = torch.device("cuda", local_rank if world > 1 else torch.cuda.current_device())
        torch.cuda.set_device(device)
        torch.backends.cudnn.benchmark = True  # fixed shapes: let cuDNN pick the fastest kernels
        torch.backends.cuda.matmul.allow_tf32 = True
        torch.backends.cudnn.allow_tf32 = True
    if mixed_precision == "on" and device.type != "cuda":
        raise ConfigError("mixed_precision: 'on' needs CUDA; the CPU trains in fp32")
    # "auto" uses bf16 only where the GPU has it (Ampere and later); older cards train in fp32.
    amp = device.type == "cuda" and (mixed_precision == "on" or
                                     (mixed_precision == "auto" and torch.cuda.is_bf16_supported()))
    owns = False
    if world > 1 and not dist.is_initialized():
        dist.init_process_group("nccl" if device.type == "cuda" else "gloo")
        owns = True
    return Env(rank=rank if world > 1 else 0, world_size=world, device=device, amp=amp, owns_group=owns)


def teardown(env: Env) -> None:
    if env.owns_group and dist.is_initialized():
        dist.destroy_process_group()


def seed_process(seed: int, env: Env) -> None:
    """Different random streams per process (different z and augmentations), reproducible per run."""
    s = seed * env.world_size + env.rank
    torch.manual_seed(s)
    np.random.seed(s % 2**32)
    random.seed(s)


def average_grads(params: list, env: Env) -> None:
    if env.world_size == 1 or not params:
        return
    # A parameter unused on this process still takes part, with a zero gradient, so buffers line up.
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.flatten() for g in grads])
    dist.all_reduce(flat)
    flat /= env.world_size
    offset = 0
    for p in params:
        p.grad = flat[offset:offset + p.numel()].view_as(p).clone()
        offset += p.numel()


def all_sum(t: torch.Tensor, env: Env) -> torch.Tensor:
    if env.world_size == 1:
        return t
    t = t.to(env.device).clone()
    dist.all_reduce(t)
    return t.cpu()


def all_mean(t: torch.Tensor, env: Env) -> torch.Tensor:
    if env.world_size == 1:
        return t
    t = t.clone()
    dist.all_reduce(t)
    return t / env.world_size


def agree(flag: bool, env: Env) -> bool:
    """Rank 0's decision, for every process (e.g. to stop together on cancel)."""
    if env.world_size == 1:
        return flag
    t = torch.tensor([int(flag)], device=env.device)
    dist.broadcast(t, 0)
    return bool(t.item())


def on_rank0(env: Env, fn, *args) -> dict:
    return fn(*args) if env.rank == 0 else {}


def broadcast_module_states(modules: list[torch.nn.Module], env: Env) -> None:
    if env.world_size == 1:
        return
    for module in modules:
        for t in list(module.parameters()) + list(module.buffers()):
            dist.broadcast(t.data, 0)
