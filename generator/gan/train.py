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
bit for bit. With several processes (`processes=N`, or torchrun setting
WORLD_SIZE) each holds its rows of the global batch and every process draws
the same randomness for the whole batch (see distributed.py), so N processes
train what one process trains, up to rounding; gradients are averaged with an
all-reduce after each backward. We do this rather than wrap the networks in
DistributedDataParallel because R1 and path length need
autograd.grad(create_graph=True), which DDP's reducer does not support. Only
rank 0 writes files and calls the callbacks; it reads the cancel flag and
broadcasts the decision. Logged losses are rank 0's share of the batch.

Command line (see --help):
    python -m generator.gan.cli train --config tiny --data DIR --out DIR --kimg 0.5
"""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from pathlib import Path

import numpy as np
import torch

from common.files import atomic_write_text

from . import distributed as ddp
from .augment import AdaController, AugmentPipe
from .checkpoint import (
    checkpoint_name,
    load_checkpoint,
    rng_state,
    save_checkpoint,
    set_rng_state,
)
from .config import ConfigError, GANConfig, TrainConfig, gan_config_from_dict
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
    group: int = 1  # the discriminator's minibatch-stddev group the batch rows are laid out for

    @property
    def local_batch(self) -> int:
        return self.train_cfg.batch // self.env.world_size

    def per_sample(self, n: int, *shape: int) -> torch.Tensor:
        """Normal noise for this process's n rows, drawn for the global batch (see distributed.py)."""
        return ddp.draw_rows(lambda k: torch.randn(k, *shape, device=self.env.device), n)

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
    if run.env.rank > 0:  # the file holds the window's global sums (see consolidate_ada): rank 0 carries them
        run.ada.sign_sum, run.ada.count = 0.0, 0.0
    run.pl_mean = ckpt["pl_mean"].to(run.env.device)
    run.step, run.images_seen = ckpt["counters"]["step"], ckpt["counters"]["images_seen"]
    set_rng_state(ckpt["rng"])  # every process keeps the same stream, so rank 0's is everyone's
    if run.env.device.type == "cuda" and run.env.world_size > 1:  # rank 0 drew on cuda:0, this rank draws here
        torch.cuda.set_rng_state(ckpt["rng"]["cuda"][0], run.env.device)


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
    ws2 = G.broadcast(G.mapping(run.per_sample(z.shape[0], z.shape[1]), c))
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
    with run.autocast(), ddp.batch_rows(run.env, run.group):
        z = run.per_sample(run.local_batch, run.gan_cfg.z_dim)
        fake = run.G.synthesis(mapped_styles(run, z, c), noise_mode="random")
        loss = generator_loss(run.D(run.augment(fake, run.ada.p), c))
    _optimizer_step(run, loss, list(run.G.parameters()), run.G_opt)
    run.log_loss("G", loss)


def pl_batch(cfg: TrainConfig) -> int:
    """The path-length regulariser's global batch (a fraction of the main one)."""
    return max(1, cfg.batch // cfg.pl_batch_shrink)


def path_length_classes(run: Run, c, n: int):
    """Classes of the path-length half batch: the first n rows of the global batch, this process's share."""
    if c is None:
        return None
    first = ddp.gather_rows(c, run.env, run.group)[:n * run.env.world_size]
    rows = ddp.shard_rows(first.shape[0], run.env.rank, run.env.world_size)
    return first[torch.tensor(rows, device=first.device)]


def path_length_step(run: Run, c) -> None:
    n = pl_batch(run.train_cfg) // run.env.world_size  # costly, and a rough estimate suffices
    # The reduction is left out with one process, so that its arithmetic is the recipe's own.
    reduce_mean = None if run.env.world_size == 1 else (lambda t: ddp.all_mean(t, run.env))
    with ddp.batch_rows(run.env):
        z = run.per_sample(n, run.gan_cfg.z_dim)
        ws = mapped_styles(run, z, path_length_classes(run, c, n))
        fake = run.G.synthesis(ws, noise_mode="random")
        penalty, run.pl_mean = path_length_penalty(fake, ws, run.pl_mean, run.train_cfg.pl_decay, reduce_mean)
    loss = penalty.mean() * run.train_cfg.pl_weight * run.train_cfg.pl_interval
    _optimizer_step(run, loss, list(run.G.parameters()), run.G_opt)
    run.log_loss("PL", penalty.mean())


def discriminator_step(run: Run, reals: torch.Tensor, c) -> None:
    with run.autocast(), ddp.batch_rows(run.env, run.group):
        with torch.no_grad():
            z = run.per_sample(run.local_batch, run.gan_cfg.z_dim)
            # The reference tracks w_avg on the discriminator phase's latents (its update_emas=True).
            fake = run.G.synthesis(mapped_styles(run, z, c, track=True), noise_mode="random")
            # Each process tracked w_avg over its rows; the update is linear, so the mean is the global one.
            w_avg = run.G.mapping.w_avg
            w_avg.copy_(ddp.all_mean(w_avg, run.env))
        fake_logits = run.D(run.augment(fake, run.ada.p), c)
        real_logits = run.D(run.augment(reals, run.ada.p), c)
        loss = discriminator_loss(real_logits, fake_logits)
    run.ada.accumulate(real_logits)
    _optimizer_step(run, loss, trainable(run.D), run.D_opt)
    run.log_loss("D", loss)


def r1_step(run: Run, reals: torch.Tensor, c) -> None:
    # R1 on D's actual input (the augmented reals): stock grid_sample has no double backward.
    with ddp.batch_rows(run.env, run.group):
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


def consolidate_ada(run: Run) -> None:
    """Every process calls this before a checkpoint: ADA's half-filled window moves to rank 0, so the
    file holds the global sums and the next update (a sum over processes) is unchanged."""
    if run.env.world_size == 1:
        return
    ada = run.ada
    total = ddp.all_sum(torch.tensor([float(ada.sign_sum), float(ada.count)], dtype=torch.float64), run.env)
    ada.sign_sum, ada.count = (float(total[0]), float(total[1])) if run.env.rank == 0 else (0.0, 0.0)


def checkpoint_everywhere(run: Run) -> dict:
    consolidate_ada(run)
    return ddp.on_rank0(run.env, write_checkpoint, run)


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
    total_images = round(cfg.kimg * 1000)
    every = max(round(cfg.checkpoint_every_kimg * 1000), 1)
    # Whether a checkpoint was just written: the same on every process (only rank 0 gets its paths).
    wrote, written = False, {}
    while run.images_seen < total_images:
        if ddp.agree(abort_fn is not None and run.env.rank == 0 and bool(abort_fn()), run.env):
            written = checkpoint_everywhere(run)
            return reporter.report("cancelled", **written)
        images, labels = next(batches)
        reals = images.to(run.env.device, non_blocking=True).float() / 127.5 - 1
        c = labels.to(run.env.device) if run.gan_cfg.num_classes else None
        before = run.images_seen // every
        train_step(run, reals, c)
        wrote, written = run.images_seen // every > before or run.images_seen >= total_images, {}
        if wrote:
            written = checkpoint_everywhere(run)
        if (wrote or run.step % cfg.report_every == 0) and run.images_seen < total_images:
            reporter.report(**written)
    if not wrote:  # nothing to train (resumed at the end): still leave a checkpoint
        written = checkpoint_everywhere(run)
    return reporter.report("done", **written)


def write_run_config(run: Run, data_dir, resume_from, init_from) -> None:
    info = {"gan": asdict(run.gan_cfg), "train": asdict(run.train_cfg), "data_dir": str(data_dir),
            "labels": run.labels, "resume_from": resume_from and str(resume_from),
            "init_from": init_from and str(init_from), "world_size": run.env.world_size,
            "device": str(run.env.device), "mixed_precision": run.env.amp}
    atomic_write_text(run.out_dir / "config.json", json.dumps(info, indent=2))  # --continue reads it back


def train(train_cfg: TrainConfig, gan_cfg: GANConfig, data_dir, out_dir, *, resume_from=None, init_from=None,
          progress_fn: ProgressFn | None = None, abort_fn: AbortFn | None = None, device=None,
          processes: int = 1, launch: ddp.Launch | None = None) -> dict:
    """Train (or resume, or fine-tune) and return the last progress dict with status "done" or "cancelled".

    resume_from: a checkpoint of this run to continue exactly. init_from: a checkpoint whose
    weights start a new run (counters, optimizers and p start fresh), with train_cfg.freeze_d
    discriminator layers frozen. processes > 1 trains in that many processes (one per GPU, or
    gloo on the CPU): this one is rank 0 and calls the callbacks, the others are spawned.
    """
    train_cfg, gan_cfg = train_cfg.validate(), gan_cfg.validate()
    if resume_from and init_from:
        raise ValueError("resume_from: give either resume_from or init_from, not both")
    if processes > 1:
        return train_processes(train_cfg, gan_cfg, data_dir, out_dir, resume_from=resume_from, init_from=init_from,
                               progress_fn=progress_fn, abort_fn=abort_fn, device=device, processes=processes)
    env = ddp.setup(device, train_cfg.mixed_precision, launch)
    finished = False
    try:
        group = split_group(train_cfg, gan_cfg, env.world_size)
        dataset = ImageFolder(data_dir, gan_cfg.resolution, channels=gan_cfg.img_channels, mirror=train_cfg.mirror)
        if gan_cfg.num_classes and gan_cfg.num_classes != len(dataset.labels):
            raise ValueError(f"num_classes: config has {gan_cfg.num_classes}, data has {len(dataset.labels)} labels")
        out_dir = Path(out_dir)
        out_dir.mkdir(parents=True, exist_ok=True)
        run = build_run(train_cfg, gan_cfg, dataset, out_dir, env)
        run.group = group
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
                                       rank=env.rank, world_size=env.world_size, group=group)
        loader = make_loader(dataset, sampler, num_workers=train_cfg.num_workers,
                             pin_memory=env.device.type == "cuda")
        result = training_loop(run, iter(loader), progress_fn, abort_fn)
        finished = True
        return result
    finally:
        ddp.teardown(env, finished=finished)



def split_group(train_cfg: TrainConfig, gan_cfg: GANConfig, processes: int) -> int:
    """The stddev group the batch rows are laid out for; ConfigError when `processes` cannot hold whole ones."""
    return ddp.check_split(train_cfg.batch, processes, gan_cfg.mbstd_group, gan_cfg.mbstd_channels,
                           pl_batch(train_cfg) if train_cfg.pl_weight else 0)


def train_processes(train_cfg: TrainConfig, gan_cfg: GANConfig, data_dir, out_dir, *, processes: int,
                    device=None, **kwargs) -> dict:
    """`train` in `processes` processes on this host: rank 0 here (with the callbacks), the rest spawned."""
    if ddp.started_by_torchrun():
        raise ConfigError("processes: torchrun already started the processes (WORLD_SIZE is set); leave it out")
    split_group(train_cfg, gan_cfg, processes)
    threads = torch.get_num_threads()
    share = max(1, threads // processes)  # N processes each with every core would fight over them
    port = ddp.free_port()
    children = ddp.spawn_ranks(_train_rank, (train_cfg, gan_cfg, str(data_dir), str(out_dir), kwargs["resume_from"],
                                             kwargs["init_from"], device, share), processes, port)
    failed = True
    try:
        torch.set_num_threads(share)
        result = train(train_cfg, gan_cfg, data_dir, out_dir, device=device,
                       launch=ddp.Launch(0, processes, port), **kwargs)
        failed = False
        return result
    finally:
        torch.set_num_threads(threads)
        ddp.join_ranks(children, failed=failed)


def _train_rank(launch: ddp.Launch, train_cfg, gan_cfg, data_dir, out_dir, resume_from, init_from, device,
                threads: int) -> None:
    """Entry point of a spawned rank > 0: no callbacks (rank 0 reports and reads the cancel flag)."""
    torch.set_num_threads(threads)
    train(train_cfg, gan_cfg, data_dir, out_dir, resume_from=resume_from, init_from=init_from, device=device,
          launch=launch)
