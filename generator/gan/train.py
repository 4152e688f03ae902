"""StyleGAN2-ADA training loop.

    result = train(train_cfg, gan_cfg, "data/lesions", "runs/x", progress_fn=print)

Each step runs four phases, each with its own optimizer step as in the papers:
G main (non-saturating loss through ADA), G path length (every pl_interval
steps, if enabled), D main, D R1 (every r1_interval steps); then the EMA of G
and, every ada_interval steps, the ADA probability. The main phases run under
bf16 autocast on CUDA (no loss scaling needed, bf16 has fp32's range); the
regularisers run in fp32 because they square gradients. Option by option this is
NVIDIA's StyleGAN2 recipe (recipe.py resolves it; the README lists where we deviate).

Resume restores everything (weights, EMA, optimizers, p and its running
statistics, path length mean, counters, RNG states; the data order is a
function of the step), so on a CPU a resumed run matches an uninterrupted one
bit for bit. Started by torchrun (WORLD_SIZE > 1), each process takes an equal
share of the batch and gradients are averaged with an all-reduce after each
backward. We do this rather than wrap the networks in DistributedDataParallel
because R1 and path length need autograd.grad(create_graph=True), which
DDP's reducer does not support. Only rank 0 writes files and calls the
callbacks; bit-identical resume is only promised for a single process.

Command line (see --help):
    python -m generator.gan.train --config tiny --data DIR --out DIR --kimg 0.5
"""

from __future__ import annotations

import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np
import torch

from . import distributed as ddp
from .augment import AdaController, AugmentPipe
from .checkpoint import (
    checkpoint_name,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .config import GANConfig, TrainConfig, gan_config_from_dict
from .data import ImageFolder, InfiniteBatchSampler, make_loader
from .loss import (
    discriminator_loss,
    generator_loss,
    path_length_penalty,
    r1_loss,
    r1_penalty,
)
from .networks import Discriminator, Generator
from .recipe import adam_settings
from .sample import image_grid, save_png, synthesize

ProgressFn = Callable[[dict], None]
AbortFn = Callable[[], bool]


@dataclass
class Run:
    """Everything one training run holds; the phase functions below read and update it."""
    train_cfg: TrainConfig
    gan_cfg: GANConfig
    out_dir: Path
    env: ddp.Env
    G: Generator
    D: Discriminator
    G_ema: Generator
    G_opt: torch.optim.Optimizer
    D_opt: torch.optim.Optimizer
    augment: AugmentPipe
    ada: AdaController
    labels: list[str]
    step: int = 0
    images_seen: int = 0
    pl_mean: torch.Tensor = field(default_factory=lambda: torch.zeros([]))
    loss_sums: dict = field(default_factory=dict)

    @property
    def local_batch(self) -> int:
        return self.train_cfg.batch // self.env.world_size

    def autocast(self):
        return torch.autocast(self.env.device.type, dtype=torch.bfloat16, enabled=self.env.amp)

    def log_loss(self, name: str, value: torch.Tensor) -> None:
        total, count = self.loss_sums.get(name, (0.0, 0))
        self.loss_sums[name] = (total + value.detach().float(), count + 1)


# ---- building and restoring -------------------------------------------------------------------

def build_run(train_cfg: TrainConfig, gan_cfg: GANConfig, dataset: ImageFolder, out_dir: Path,
              env: ddp.Env) -> Run:
    torch.manual_seed(train_cfg.seed)  # same initial weights on every process
    G, D = Generator(gan_cfg), Discriminator(gan_cfg)
    G_ema = Generator(gan_cfg)
    G_ema.load_state_dict(G.state_dict())
    G, D, G_ema = G.to(env.device), D.to(env.device), G_ema.to(env.device)
    G_ema.eval().requires_grad_(False)
    adam = adam_settings(train_cfg)
    ada = AdaController(p=train_cfg.augment_p, target=train_cfg.ada_target, interval=train_cfg.ada_interval,
                        kimg=train_cfg.ada_kimg, batch=train_cfg.batch)
    return Run(train_cfg, gan_cfg, out_dir, env, G, D, G_ema,
               torch.optim.Adam(G.parameters(), **adam["G"]), torch.optim.Adam(D.parameters(), **adam["D"]),
               AugmentPipe().to(env.device), ada, dataset.labels, pl_mean=torch.zeros([], device=env.device))


def _check_same_networks(ckpt: dict, gan_cfg: GANConfig, path) -> None:
    # Through the config class, so that a checkpoint written before a field existed reads as its default.
    saved, wanted = asdict(gan_config_from_dict(ckpt["gan_config"])), asdict(gan_cfg)
    diff = sorted(k for k in wanted if saved.get(k) != wanted[k])
    if diff:
        raise ValueError(f"{diff[0]}: checkpoint {path} has {saved.get(diff[0])!r}, config has {wanted[diff[0]]!r}")


def load_weights(run: Run, ckpt: dict) -> None:
    for name in ("G", "D", "G_ema"):
        getattr(run, name).load_state_dict(ckpt[name])


def restore_run(run: Run, ckpt: dict) -> None:
    """Resume: weights, optimizers, ADA, counters and RNG states."""
    load_weights(run, ckpt)
    run.G_opt.load_state_dict(ckpt["G_opt"])
    run.D_opt.load_state_dict(ckpt["D_opt"])
    run.ada.load_state_dict(ckpt["augment"])
    run.pl_mean = ckpt["pl_mean"].to(run.env.device)
    run.step, run.images_seen = ckpt["counters"]["step"], ckpt["counters"]["images_seen"]
    if run.env.rank == 0:
        set_rng_state(ckpt["rng"])
    else:  # other processes' streams were not saved: derive fresh ones from the step
        ddp.seed_process(run.train_cfg.seed * 7919 + run.step, run.env)


def checkpoint_payload(run: Run) -> dict:
    return {
        "gan_config": asdict(run.gan_cfg), "train_config": asdict(run.train_cfg), "labels": list(run.labels),
        "G": run.G.state_dict(), "D": run.D.state_dict(), "G_ema": run.G_ema.state_dict(),
        "G_opt": run.G_opt.state_dict(), "D_opt": run.D_opt.state_dict(),
        "augment": run.ada.state_dict(), "pl_mean": run.pl_mean.detach().cpu(),
        "counters": {"step": run.step, "images_seen": run.images_seen, "kimg": run.images_seen / 1000},
        "rng": rng_state(),
    }


# ---- the four phases ----------------------------------------------------------------------------

def mapped_styles(run: Run, z: torch.Tensor, c, *, track: bool = False) -> torch.Tensor:
    """ws [N, num_ws, w_dim], with style mixing: from a random layer on, a second z's w takes over."""
    G = run.G
    ws = G.broadcast(G.mapping(z, c, update_w_avg=track))
    prob = run.train_cfg.style_mixing
    if prob <= 0:
        return ws
    num_ws = ws.shape[1]
    cutoff = torch.randint(1, num_ws, (), device=z.device)
    cutoff = torch.where(torch.rand((), device=z.device) < prob, cutoff, torch.full_like(cutoff, num_ws))
    ws2 = G.broadcast(G.mapping(torch.randn_like(z), c))
    mask = (torch.arange(num_ws, device=z.device) >= cutoff)[None, :, None]
    return torch.where(mask, ws2, ws)


def _optimizer_step(run: Run, loss: torch.Tensor, params: list, opt: torch.optim.Optimizer) -> None:
    opt.zero_grad(set_to_none=True)
    loss.backward(inputs=params)  # grads only for this network's trainable parameters
    ddp.average_grads(params, run.env)
    # As the reference: one non-finite gradient (an fp16/bf16 overflow) must not poison Adam's moments.
    for grad in (p.grad for p in params if p.grad is not None):
        torch.nan_to_num_(grad, nan=0.0, posinf=1e5, neginf=-1e5)
    opt.step()


def generator_step(run: Run, c) -> None:
    with run.autocast():
        z = torch.randn(run.local_batch, run.gan_cfg.z_dim, device=run.env.device)
        fake = run.G.synthesis(mapped_styles(run, z, c), noise_mode="random")
        loss = generator_loss(run.D(run.augment(fake, run.ada.p), c))
    _optimizer_step(run, loss, list(run.G.parameters()), run.G_opt)
    run.log_loss("G", loss)


def path_length_step(run: Run, c) -> None:
    n = max(1, run.local_batch // run.train_cfg.pl_batch_shrink)  # costly, and a rough estimate suffices
    z = torch.randn(n, run.gan_cfg.z_dim, device=run.env.device)
    ws = mapped_styles(run, z, None if c is None else c[:n])
    fake = run.G.synthesis(ws, noise_mode="random")
    penalty, run.pl_mean = path_length_penalty(fake, ws, run.pl_mean, run.train_cfg.pl_decay,
                                               lambda t: ddp.all_mean(t, run.env))
    loss = penalty.mean() * run.train_cfg.pl_weight * run.train_cfg.pl_interval
    _optimizer_step(run, loss, list(run.G.parameters()), run.G_opt)
    run.log_loss("PL", penalty.mean())


def discriminator_step(run: Run, reals: torch.Tensor, c) -> None:
    with run.autocast():
        with torch.no_grad():
            z = torch.randn(run.local_batch, run.gan_cfg.z_dim, device=run.env.device)
            # The reference tracks w_avg on the discriminator phase's latents (its update_emas=True).
            fake = run.G.synthesis(mapped_styles(run, z, c, track=True), noise_mode="random")
        fake_logits = run.D(run.augment(fake, run.ada.p), c)
        real_logits = run.D(run.augment(reals, run.ada.p), c)
        loss = discriminator_loss(real_logits, fake_logits)
    run.ada.accumulate(real_logits)
    _optimizer_step(run, loss, trainable(run.D), run.D_opt)
    run.log_loss("D", loss)


def r1_step(run: Run, reals: torch.Tensor, c) -> None:
    # R1 on D's actual input (the augmented reals): stock grid_sample has no double backward.
    x = run.augment(reals, run.ada.p).detach().requires_grad_(True)
    logits = run.D(x, c)
    run.ada.accumulate(logits)  # the reference counts the regularisation phase's real signs too
    penalty = r1_penalty(x, logits)
    loss = r1_loss(penalty, run.train_cfg.gamma, run.train_cfg.r1_interval)
    _optimizer_step(run, loss, trainable(run.D), run.D_opt)
    run.log_loss("R1", penalty.mean())


def trainable(module: torch.nn.Module) -> list:
    return [p for p in module.parameters() if p.requires_grad]


@torch.no_grad()
def update_ema(run: Run) -> None:
    cfg = run.train_cfg
    ema_images = cfg.ema_half_life_kimg * 1000
    if cfg.ema_rampup is not None:  # None on a fine-tune: its weights are trained already
        ema_images = min(ema_images, run.images_seen * cfg.ema_rampup)
    beta = 0.5 ** (cfg.batch / max(ema_images, 1e-8))
    ema_params: list[torch.Tensor] = list(run.G_ema.parameters())
    params: list[torch.Tensor] = list(run.G.parameters())
    torch._foreach_lerp_(ema_params, params, 1.0 - beta)
    for b_ema, b in zip(run.G_ema.buffers(), run.G.buffers()):
        b_ema.copy_(b)


def train_step(run: Run, reals: torch.Tensor, c) -> None:
    cfg = run.train_cfg
    generator_step(run, c)
    if cfg.pl_weight > 0 and run.step % cfg.pl_interval == 0:
        path_length_step(run, c)
    discriminator_step(run, reals, c)
    if cfg.gamma > 0 and run.step % cfg.r1_interval == 0:
        r1_step(run, reals, c)
    update_ema(run)
    run.step += 1
    run.images_seen += cfg.batch
    if run.step % cfg.ada_interval == 0:
        run.ada.update(lambda t: ddp.all_sum(t, run.env))


# ---- reporting, checkpoints, loop ---------------------------------------------------------------

@torch.no_grad()
def save_grid(run: Run, path: Path) -> Path:
    """Fixed seeds through G_ema by the canonical render (one image per pass, fp32, const noise):
    comparable across checkpoints, and each tile is the image `generate` writes for that seed."""
    classes = run.gan_cfg.num_classes
    tiles = [synthesize(run.G_ema, [seed], noise_mode="const", class_idx=i % classes if classes else None)
             for i, seed in enumerate(run.train_cfg.grid_seeds)]
    return save_png(image_grid(np.concatenate(tiles)), path)


def write_checkpoint(run: Run) -> dict:
    name = checkpoint_name(run.images_seen)
    path = save_checkpoint(run.out_dir / name, checkpoint_payload(run), {"augment_p": run.ada.p})
    grid = save_grid(run, run.out_dir / name.replace("checkpoint-", "grid-").replace(".pt", ".png"))
    return {"checkpoint": str(path), "grid": str(grid)}


class Reporter:
    """Turns counters into progress dicts: kimg, speed, ETA, mean losses since the last report."""

    def __init__(self, run: Run, progress_fn: ProgressFn | None):
        self.run, self.progress_fn = run, progress_fn
        self.last_time, self.last_images = time.monotonic(), run.images_seen
        self.sec_per_kimg: float | None = None

    def report(self, status: str = "running", **extra) -> dict:
        run, now = self.run, time.monotonic()
        if run.images_seen > self.last_images:
            self.sec_per_kimg = (now - self.last_time) / ((run.images_seen - self.last_images) / 1000)
        self.last_time, self.last_images = now, run.images_seen
        left_kimg = max(run.train_cfg.kimg - run.images_seen / 1000, 0.0)
        losses = {k: float(total) / count for k, (total, count) in run.loss_sums.items()}
        run.loss_sums.clear()
        info = {"status": status, "kimg": run.images_seen / 1000, "total_kimg": run.train_cfg.kimg,
                "step": run.step, "sec_per_kimg": self.sec_per_kimg,
                "eta_s": None if self.sec_per_kimg is None else left_kimg * self.sec_per_kimg,
                "losses": losses, "augment_p": run.ada.p, **extra}
        if self.progress_fn is not None and run.env.rank == 0:
            self.progress_fn(info)
        return info


def training_loop(run: Run, batches, progress_fn: ProgressFn | None, abort_fn: AbortFn | None) -> dict:
    cfg, reporter = run.train_cfg, Reporter(run, progress_fn)
    total_images = int(round(cfg.kimg * 1000))
    every = max(int(round(cfg.checkpoint_every_kimg * 1000)), 1)
    written: dict = {}
    while run.images_seen < total_images:
        if ddp.agree(abort_fn is not None and run.env.rank == 0 and bool(abort_fn()), run.env):
            written = ddp.on_rank0(run.env, write_checkpoint, run)
            return reporter.report("cancelled", **written)
        images, labels = next(batches)
        reals = images.to(run.env.device, non_blocking=True).float() / 127.5 - 1
        c = labels.to(run.env.device) if run.gan_cfg.num_classes else None
        before = run.images_seen // every
        train_step(run, reals, c)
        written = {}
        if run.images_seen // every > before or run.images_seen >= total_images:
            written = ddp.on_rank0(run.env, write_checkpoint, run)
        if (written or run.step % cfg.report_every == 0) and run.images_seen < total_images:
            reporter.report(**written)
    if not written:  # nothing to train (resumed at the end): still leave a checkpoint
        written = ddp.on_rank0(run.env, write_checkpoint, run)
    return reporter.report("done", **written)


def write_run_config(run: Run, data_dir, resume_from, init_from) -> None:
    info = {"gan": asdict(run.gan_cfg), "train": asdict(run.train_cfg), "data_dir": str(data_dir),
            "labels": run.labels, "resume_from": resume_from and str(resume_from),
            "init_from": init_from and str(init_from), "world_size": run.env.world_size,
            "device": str(run.env.device), "mixed_precision": run.env.amp}
    (run.out_dir / "config.json").write_text(json.dumps(info, indent=2))


def train(train_cfg: TrainConfig, gan_cfg: GANConfig, data_dir, out_dir, *, resume_from=None, init_from=None,
          progress_fn: ProgressFn | None = None, abort_fn: AbortFn | None = None, device=None) -> dict:
    """Train (or resume, or fine-tune) and return the last progress dict with status "done" or "cancelled".

    resume_from: a checkpoint of this run to continue exactly. init_from: a checkpoint whose
    weights start a new run (counters, optimizers and p start fresh), with train_cfg.freeze_d
    discriminator layers frozen.
    """
    train_cfg, gan_cfg = train_cfg.validate(), gan_cfg.validate()
    if resume_from and init_from:
        raise ValueError("resume_from: give either resume_from or init_from, not both")
    env = ddp.setup(device, train_cfg.mixed_precision)
    try:
        dataset = ImageFolder(data_dir, gan_cfg.resolution, channels=gan_cfg.img_channels, mirror=train_cfg.mirror)
        if gan_cfg.num_classes and gan_cfg.num_classes != len(dataset.labels):
            raise ValueError(f"num_classes: config has {gan_cfg.num_classes}, data has {len(dataset.labels)} labels")
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        run = build_run(train_cfg, gan_cfg, dataset, out_dir, env)
        ddp.seed_process(train_cfg.seed, env)
        for path in filter(None, [resume_from, init_from]):
            ckpt = load_checkpoint(path, map_location=env.device)
            _check_same_networks(ckpt, gan_cfg, path)
            restore_run(run, ckpt) if resume_from else load_weights(run, ckpt)
        ddp.broadcast_module_states([run.G, run.D, run.G_ema], env)
        run.D.freeze(train_cfg.freeze_d)
        if env.rank == 0:
            write_run_config(run, data_dir, resume_from, init_from)
        sampler = InfiniteBatchSampler(len(dataset), train_cfg.batch, seed=train_cfg.seed, start_batch=run.step,
                                       rank=env.rank, world_size=env.world_size)
        loader = make_loader(dataset, sampler, num_workers=train_cfg.num_workers,
                             pin_memory=env.device.type == "cuda")
        return training_loop(run, iter(loader), progress_fn, abort_fn)
    finally:
        ddp.teardown(env)


if __name__ == "__main__":
    from .cli import main

    main()
