"""Process and device setup, the collectives multi-process training needs, and global-batch randomness.

Several processes (one per GPU, or gloo processes on the CPU) train exactly what one process
would train on the same global batch, up to rounding:

- Every process keeps the SAME random stream. Each per-sample draw (z, noise, augmentation
  parameters, path-length directions) is made for the whole global batch through
  `draw_rows`, and each process keeps its own rows; every other draw (style-mixing cutoff)
  is a scalar and equal everywhere.
- Process `rank` takes the rows `shard_rows` names: the discriminator's minibatch-stddev
  groups (sample i with i + n/group, i + 2n/group, ...) stay whole inside one process.
- Losses are per-process means over equal shares, so averaging gradients (one all-reduce of
  a flattened buffer) gives the global mean; ADA's sign sums, the path-length mean and the
  mapping network's tracked w_avg are reduced the same way.

With one process every function here is a no-op. Two ways to start several:

    python -m generator.gan.cli train --processes 2 --config tiny --data D --out O   (spawns them)
    torchrun --nproc_per_node 4 -m generator.gan.cli train --config paper --data D --out O
"""

from __future__ import annotations

import contextlib
import os
import queue
import random
import socket
from collections.abc import Callable
from contextvars import ContextVar
from dataclasses import dataclass

import numpy as np
import torch
import torch.distributed as dist

from common.devices import resolve_device
from common.seeds import SEED_LIMIT

from .config import ConfigError


@dataclass(frozen=True)
class Env:
    rank: int
    world_size: int
    device: torch.device
    amp: bool  # bf16 autocast for the main phases
    owns_group: bool = False  # we started the process group, so we end it


@dataclass(frozen=True)
class Launch:
    """One process of a group started by `spawn_ranks` (torchrun passes the same through the environment)."""
    rank: int
    world_size: int
    port: int


def _placement(launch: Launch | None) -> tuple[int, int, int]:
    if launch is not None:
        return launch.rank, launch.world_size, launch.rank
    env = os.environ
    return int(env.get("RANK", "0")), int(env.get("WORLD_SIZE", "1")), int(env.get("LOCAL_RANK", "0"))


def started_by_torchrun() -> bool:
    return int(os.environ.get("WORLD_SIZE", "1")) > 1


def setup(device=None, mixed_precision: str = "auto", launch: Launch | None = None) -> Env:
    rank, world, local_rank = _placement(launch)
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
        backend = "nccl" if device.type == "cuda" else "gloo"
        if launch is None:
            dist.init_process_group(backend)
        else:
            dist.init_process_group(backend, init_method=f"tcp://127.0.0.1:{launch.port}", rank=rank,
                                    world_size=world)
        owns = True
    return Env(rank=rank if world > 1 else 0, world_size=world, device=device, amp=amp, owns_group=owns)


def teardown(env: Env, *, finished: bool = False) -> None:
    """Leave the process group. After a finished run every rank meets first: a rank that tore its gloo pairs
    down while a peer still used them made that peer abort ("terminate called without an active exception",
    SIGABRT, seen once in CI). After a failure there is no barrier: the failed rank's peers would wait on it."""
    if env.owns_group and dist.is_initialized():
        if finished:
            dist.barrier()
        dist.destroy_process_group()


def seed_process(seed: int, env: Env) -> None:
    """The same random stream in every process: per-sample draws are made for the global batch."""
    torch.manual_seed(seed)
    np.random.seed(seed % SEED_LIMIT)  # numpy takes no more
    random.seed(seed)


# ---- which rows of the global batch a process holds ------------------------------------------

def stddev_group(n: int, group_size: int) -> int:
    """The group the discriminator's minibatch-stddev layer uses for a batch of n (as networks.py)."""
    return next(g for g in range(min(group_size, n), 0, -1) if n % g == 0)


def shard_rows(n: int, rank: int, world_size: int, group: int = 1) -> list[int]:
    """Rows of a global batch of n that process `rank` holds, in its local order.

    The stddev layer groups row i with rows i + n/group, i + 2n/group, ...; a process takes,
    from each of the `group` stripes, the same contiguous chunk, so its local batch forms
    exactly the global groups. group=1 is a plain contiguous share.
    """
    if n % (world_size * group):
        raise ValueError(f"batch: {n} rows do not split into {world_size} processes x groups of {group}")
    stripe = n // group
    chunk = stripe // world_size
    return [g * stripe + rank * chunk + j for g in range(group) for j in range(chunk)]


def check_split(batch: int, world_size: int, mbstd_group: int, mbstd_channels: int, pl_batch: int = 0) -> int:
    """The stddev group the run's batches are laid out for; ConfigError when processes cannot match one."""
    group = stddev_group(batch, mbstd_group) if mbstd_channels else 1
    if world_size == 1:
        return group
    local = batch // world_size
    if batch % world_size or (mbstd_channels and stddev_group(local, mbstd_group) != group):
        raise ConfigError(f"batch: {batch} images over {world_size} processes would split the discriminator's "
                          f"minibatch-stddev groups of {group}; use a multiple of {world_size * group}")
    if pl_batch % world_size:
        raise ConfigError(f"batch: the path-length batch of {pl_batch} does not split over {world_size} processes")
    return group


_SHARD: ContextVar[tuple[int, int, int] | None] = ContextVar("gan_shard", default=None)


@contextlib.contextmanager
def batch_rows(env: Env, group: int = 1):
    """Inside, `draw_rows` draws for the global batch laid out for stddev groups of `group`."""
    token = _SHARD.set((env.rank, env.world_size, group) if env.world_size > 1 else None)
    try:
        yield
    finally:
        _SHARD.reset(token)


def draw_rows(draw: Callable[[int], torch.Tensor], n: int) -> torch.Tensor:
    """`draw(m)` makes m rows of fresh randomness; this returns this process's n rows of it.

    Outside `batch_rows` (or with one process) it is just `draw(n)`, so single-process code and
    inference consume randomness exactly as before.
    """
    shard = _SHARD.get()
    if shard is None:
        return draw(n)
    rank, world, group = shard
    full = draw(n * world)
    rows = torch.tensor(shard_rows(n * world, rank, world, group), device=full.device)
    return full.index_select(0, rows)


def gather_rows(t: torch.Tensor, env: Env, group: int = 1) -> torch.Tensor:
    """The global batch from every process's rows of it (small tensors, e.g. class labels)."""
    if env.world_size == 1:
        return t
    parts = [torch.empty_like(t) for _ in range(env.world_size)]
    dist.all_gather(parts, t.contiguous())
    n = t.shape[0] * env.world_size
    out = torch.empty((n, *t.shape[1:]), dtype=t.dtype, device=t.device)
    for rank, part in enumerate(parts):
        out[torch.tensor(shard_rows(n, rank, env.world_size, group), device=t.device)] = part
    return out


# ---- collectives ------------------------------------------------------------------------------

def average_grads(params: list, env: Env) -> None:
    # A parameter without a gradient (the path-length loss does not reach the biases) keeps None,
    # as with one process: a zero gradient would still move it through Adam's momentum. Every
    # process runs the same graph, so the same parameters have gradients everywhere.
    params = [p for p in params if p.grad is not None]
    if env.world_size == 1 or not params:
        return
    flat = torch.cat([p.grad.flatten() for p in params])
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


# ---- starting processes ---------------------------------------------------------------------

def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def spawn_ranks(target: Callable, args: tuple, processes: int, port: int) -> list:
    """Start ranks 1..processes-1 as `target(Launch(rank, processes, port), *args)` in fresh processes.

    Spawned, not forked: a forked child must not inherit CUDA, Django or the caller's threads.
    The caller runs rank 0 itself (so its callbacks, which may hold a database connection,
    never need pickling) and then `join_ranks`. Returns once every rank is running, so that a
    rank that dies while starting is an error here rather than a rendezvous that waits 30 minutes.
    """
    ctx = torch.multiprocessing.get_context("spawn")
    ready = ctx.Queue()
    children = []
    for rank in range(1, processes):
        child = ctx.Process(target=_start_rank, args=(ready, target, Launch(rank, processes, port), args),
                            daemon=True)
        child.start()
        children.append(child)
    started = 0
    while started < len(children):
        try:
            ready.get(timeout=0.5)
            started += 1
        except queue.Empty:
            dead = [c for c in children if c.exitcode is not None]
            if dead:
                join_ranks(children, failed=True)
                raise RuntimeError(f"processes: a training process exited with status {dead[0].exitcode} "
                                   "while starting (is the caller's __main__ guarded?)") from None
    return children


def _start_rank(ready, target: Callable, launch: Launch, args: tuple) -> None:
    ready.put(launch.rank)
    target(launch, *args)


def join_ranks(children: list, *, failed: bool) -> None:
    """Wait for the other ranks; when rank 0 failed they may wait on it forever, so end them."""
    for child in children:
        if failed:
            child.terminate()
        child.join()
    codes = [c.exitcode for c in children if c.exitcode]
    if codes and not failed:
        raise RuntimeError(f"processes: a training process exited with status {codes[0]}")
