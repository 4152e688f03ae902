"""Train a melanoma-vs-nevus classifier: the paper's recipe by default.

    from classifier.cnn.train import TrainConfig, train
    result = train(TrainConfig(epochs=30), ["data/asan", "data/snu"], "runs/exp1",
                   progress_fn=print, abort_fn=lambda: False)

Reference recipe (the paper's script): EfficientNet-Lite0 from ImageNet weights, RAdam
without weight decay or scheduler, batch 64, 30 epochs, lr 0.001, 224 px images resized
to a square, random horizontal and vertical flips, the last epoch's model. The "strong"
recipe adds rotation, scale and colour jitter, class-balanced sampling and a cosine
learning-rate schedule, for comparison.

``out_dir`` receives ``last.pt`` after every epoch (training resumes from it when the
same config is run again, e.g. after a worker restart) and ``final.pt`` at the end:
the last epoch's model plus the Youden threshold found on the training images (or on a
stratified validation split when ``val_fraction > 0``). Both have a ``.json`` twin.

Determinism: each epoch reseeds torch with (seed, epoch), so on the CPU two runs with
the same seed give the same weights, and a run resumed from ``last.pt`` ends exactly as
the uninterrupted one (with workers=0, the CPU default; loader workers keep their own
random streams across epochs, and CUDA kernels are not bitwise deterministic anyway).
"""

from __future__ import annotations

import logging
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import numpy as np
import torch
from torch import nn

from common.devices import resolve_device
from common.labels import CLASSES

from . import checkpoint
from .data import (
    ImageCache,
    ImageDataset,
    make_loader,
    scan_dirs,
    stratified_split,
    train_transform,
)
from .evaluate import score_items
from .metrics import youden_threshold
from .models import Normalize, create_model

log = logging.getLogger(__name__)

# Fields that change speed, not results: a resumed run may differ in them.
RUNTIME_FIELDS = ("workers", "device", "cache_dir", "amp")
OPTIMIZERS = {"radam": torch.optim.RAdam, "adamw": torch.optim.AdamW}
MIN_BATCH = 2  # BatchNorm cannot train on one image
MIN_IMG_SIZE = 32


@dataclass
class TrainConfig:
    arch: str = "tf_efficientnet_lite0"
    weights: str | None = "imagenet-lite0"  # or a state-dict path, or None: from scratch
    recipe: str = "reference"  # or "strong"
    epochs: int = 30
    batch: int = 64
    lr: float = 0.001
    optimizer: str = "radam"  # the reference's; "adamw" for experiments
    weight_decay: float = 0.0  # the reference used none
    img_size: int = 224
    seed: int = 0
    workers: int = -1  # DataLoader workers; -1: none on CPU (compute is the bottleneck), 8 on CUDA
    device: str = "auto"  # "auto", "cpu", "cuda", "cuda:1", ...
    amp: bool = True  # bfloat16 autocast on CUDA cards that have it; ignored on the CPU
    cache_dir: str = ""  # decoded-image cache; "" = <out_dir>/image-cache

    def __post_init__(self):
        if self.recipe not in ("reference", "strong"):
            raise ValueError(f"recipe must be 'reference' or 'strong', not {self.recipe!r}")
        if self.optimizer not in OPTIMIZERS:
            raise ValueError(f"optimizer must be one of {sorted(OPTIMIZERS)}, not {self.optimizer!r}")
        if self.epochs < 1 or self.batch < MIN_BATCH or self.img_size < MIN_IMG_SIZE or self.lr <= 0:
            raise ValueError(f"need epochs >= 1, batch >= {MIN_BATCH}, img_size >= {MIN_IMG_SIZE} and lr > 0")


class TrainingAborted(Exception):
    """Raised when ``abort_fn`` asks to stop; ``last.pt`` holds the last whole epoch."""


def _workers(cfg: TrainConfig, device: torch.device) -> int:
    if cfg.workers >= 0:
        return cfg.workers
    return min(8, torch.multiprocessing.cpu_count()) if device.type == "cuda" else 0


def _epoch_seed(seed: int, epoch: int) -> int:
    return seed * 100_003 + epoch  # distinct per (seed, epoch) for any sane epoch count


def _prepare_data(cfg, train_dirs, out_dir, val_fraction, workers, progress_fn):
    """Scan, split, and decode every image once into the cache; drop unreadable ones."""
    items = scan_dirs(train_dirs)
    cache = ImageCache(cfg.cache_dir or Path(out_dir) / "image-cache", cfg.img_size)
    if progress_fn:
        progress_fn({"phase": "cache", "images": len(items)})
    bad, decoded = cache.warm([p for p, _ in items], workers=workers, progress_fn=progress_fn)
    for path in bad:
        log.warning("skipping unreadable image %s", path)
    unreadable = set(bad)
    items = [it for it in items if it[0] not in unreadable]
    train_items, val_items = stratified_split(items, val_fraction, cfg.seed) if val_fraction else (items, [])
    if len({label for _, label in train_items}) < 2:
        raise ValueError("training needs both melanoma and nevus images")
    info = {"n_train": len(train_items), "n_val": len(val_items), "unreadable": bad, "decoded": decoded}
    return cache, train_items, val_items, info


def _build(cfg: TrainConfig, device: torch.device, steps_total: int):
    torch.manual_seed(cfg.seed)  # the new classifier head's initial weights
    model, start = create_model(cfg.arch, cfg.weights, num_classes=len(CLASSES))
    # channels_last is faster for these depthwise convolutions on CUDA and on the CPU.
    model.to(device=device, memory_format=torch.channels_last)  # type: ignore[call-overload]  # stubs lack this pair
    opt = OPTIMIZERS[cfg.optimizer](model.parameters(), lr=cfg.lr, weight_decay=cfg.weight_decay)
    sched = None
    if cfg.recipe == "strong":  # stepped per batch, so the curve does not depend on epochs
        sched = torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=max(1, steps_total))
    norm = Normalize(start.mean, start.std).to(device)
    return model, start, opt, sched, norm


def _resume(path: Path, identity: dict, ctx: dict) -> dict:
    """State of an earlier, interrupted run of the same config (or a fresh start)."""
    if not path.exists():
        return {"epoch": 0, "step": 0, "images_seen": 0, "history": []}
    ckpt = checkpoint.load(path)
    if not _same_run(ckpt, identity):
        raise ValueError(f"{path} belongs to a run with another config or data; use a new out_dir")
    ctx["model"].load_state_dict(ckpt["model"])
    ctx["opt"].load_state_dict(ckpt["optimizer"])
    if ctx["sched"] is not None and ckpt.get("scheduler"):
        ctx["sched"].load_state_dict(ckpt["scheduler"])
    log.info("resuming %s after epoch %d", path, ckpt["epoch"])
    return {k: ckpt[k] for k in ("epoch", "step", "images_seen", "history")}


def _autocast(device: torch.device, enabled: bool):
    # bfloat16 only: it needs no loss scaling. Cards without it train in float32.
    on = enabled and device.type == "cuda" and torch.cuda.is_bf16_supported()
    return torch.autocast(device.type, dtype=torch.bfloat16, enabled=on)


def train_step(model, opt, norm, x, y, *, device, amp: bool) -> torch.Tensor:
    """One optimisation step on a uint8 batch from the loader; returns the loss."""
    x = x.to(device, non_blocking=True, memory_format=torch.channels_last)
    y = y.to(device, non_blocking=True)
    with _autocast(device, amp):
        loss = nn.functional.cross_entropy(model(norm(x)), y)
    opt.zero_grad(set_to_none=True)
    loss.backward()
    opt.step()
    return loss


def _report_now(device: torch.device, step_in_epoch: int, steps: int) -> bool:
    # Reading the loss waits for the GPU; doing it every step would stall the queue of
    # kernels, so on CUDA report every 10th step (and each epoch's last). CPU: every step.
    return device.type != "cuda" or step_in_epoch % 10 == 0 or step_in_epoch == steps


def _train_epoch(ctx: dict, state: dict, epoch: int, progress_fn, abort_fn) -> dict:
    """One pass over the training loader; returns the epoch's summary row."""
    cfg, model, opt, sched, norm, device = (ctx[k] for k in ("cfg", "model", "opt", "sched", "norm", "device"))
    loader = ctx["loader"]
    torch.manual_seed(_epoch_seed(cfg.seed, epoch))  # augmentation and dropout
    loader.generator.manual_seed(_epoch_seed(cfg.seed, epoch))  # order / sampling
    model.train()
    t0, n_images, loss_sum = time.perf_counter(), 0, torch.zeros((), device=device)
    for i, (x, y) in enumerate(loader, start=1):
        if abort_fn is not None and abort_fn():
            raise TrainingAborted(f"aborted in epoch {epoch + 1}, step {state['step']}")
        loss = train_step(model, opt, norm, x, y, device=device, amp=cfg.amp).detach()
        if sched is not None:
            sched.step()
        state["step"] += 1
        n_images += len(y)
        loss_sum += loss.float() * len(y)
        if progress_fn and _report_now(device, i, len(loader)):
            progress_fn({"phase": "train", "epoch": epoch + 1, "epochs": cfg.epochs, "step": state["step"],
                         "steps_per_epoch": len(loader), "loss": loss.item(),
                         "images_per_s": n_images / max(time.perf_counter() - t0, 1e-9),
                         "lr": opt.param_groups[0]["lr"]})
    seconds = time.perf_counter() - t0
    state["images_seen"] += n_images
    return {"epoch": epoch + 1, "loss": loss_sum.item() / max(n_images, 1),
            "images_per_s": n_images / max(seconds, 1e-9), "seconds": seconds}


def _identity(cfg: TrainConfig, train_dirs, val_fraction: float) -> dict:
    """What makes two runs the same run (speed settings aside)."""
    return {"config": asdict(cfg), "train_dirs": [str(Path(d).resolve()) for d in train_dirs],
            "val_fraction": val_fraction}


def _same_run(saved: dict, identity: dict) -> bool:
    now, then = identity["config"], saved["config"]
    same_cfg = all(then.get(k) == v for k, v in now.items() if k not in RUNTIME_FIELDS)
    return same_cfg and all(saved.get(k) == identity[k] for k in ("train_dirs", "val_fraction"))


def _threshold(ctx: dict) -> tuple[float | None, str]:
    """Youden threshold from the validation split if any, else the training images."""
    items, source = (ctx["val_items"], "validation") if ctx["val_items"] else (ctx["train_items"], "train")
    if len({label for _, label in items}) < 2:
        return None, source
    probs = score_items(ctx["model"], ctx["norm"], items, ctx["cache"], device=ctx["device"],
                        batch=ctx["cfg"].batch, workers=ctx["workers"])
    return youden_threshold([label for _, label in items], probs), source


def _setup(cfg: TrainConfig, identity: dict, out: Path, progress_fn) -> tuple[dict, dict]:
    """Data, model, optimizer and the record every checkpoint of this run carries."""
    device = resolve_device(cfg.device)
    workers = _workers(cfg, device)
    cache, train_items, val_items, info = _prepare_data(cfg, identity["train_dirs"], out,
                                                        identity["val_fraction"], workers, progress_fn)
    dataset = ImageDataset(train_items, cache, train_transform(cfg.recipe))
    loader = make_loader(dataset, batch=cfg.batch, train=True, balanced=cfg.recipe == "strong",
                         workers=workers, pin_memory=device.type == "cuda")
    model, start, opt, sched, norm = _build(cfg, device, len(loader) * cfg.epochs)
    ctx = {"cfg": cfg, "model": model, "opt": opt, "sched": sched, "norm": norm, "device": device,
           "loader": loader, "cache": cache, "workers": workers, "train_items": train_items, "val_items": val_items}
    record = {**identity, "weights": start.to_dict(),
              "normalization": {"mean": list(start.mean), "std": list(start.std)},
              "num_classes": len(CLASSES), "classes": list(CLASSES),
              "n_train": info["n_train"], "n_val": info["n_val"], "unreadable": info["unreadable"]}
    return ctx, record


def train(cfg: TrainConfig, train_dirs, out_dir, *, val_fraction: float = 0.0,
          progress_fn=None, abort_fn=None) -> dict:
    """Train per ``cfg`` on the union of ``train_dirs``; write checkpoints to ``out_dir``.

    ``progress_fn(dict)`` gets phase ("cache", "train", "threshold"); in "train": epoch,
    epochs, step, steps_per_epoch, loss, images_per_s and lr, after every step (every
    10th on CUDA). ``abort_fn()`` is polled before every step; a true answer raises
    ``TrainingAborted``. Returns the final checkpoint's metadata (as in its JSON twin)
    plus ``checkpoint``, the path of ``final.pt``. Running it again with the same config,
    data and out_dir resumes from ``last.pt``, or returns at once when already finished.
    """
    out = Path(out_dir)
    out.mkdir(parents=True, exist_ok=True)
    identity = _identity(cfg, [train_dirs] if isinstance(train_dirs, (str, Path)) else train_dirs, val_fraction)
    if (out / "final.pt").exists() and _same_run(checkpoint.load(out / "final.pt"), identity):
        return _summary(out / "final.pt")
    ctx, record = _setup(cfg, identity, out, progress_fn)
    state = _resume(out / "last.pt", identity, ctx)
    for epoch in range(state["epoch"], cfg.epochs):
        state["history"].append(_train_epoch(ctx, state, epoch, progress_fn, abort_fn))
        state["epoch"] = epoch + 1
        checkpoint.save(out / "last.pt", {**record, **state, "kind": "epoch", "model": ctx["model"].state_dict(),
                                          "optimizer": ctx["opt"].state_dict(),
                                          "scheduler": ctx["sched"].state_dict() if ctx["sched"] else None})
    if progress_fn:
        progress_fn({"phase": "threshold", "epoch": state["epoch"], "epochs": cfg.epochs, "step": state["step"]})
    threshold, source = _threshold(ctx)
    checkpoint.save(out / "final.pt", {**record, **state, "kind": "final", "model": ctx["model"].state_dict(),
                                       "youden_threshold": threshold, "threshold_source": source})
    return _summary(out / "final.pt")


def _summary(final_path: Path) -> dict:
    ckpt = checkpoint.load(final_path)
    meta = checkpoint.json_safe({k: v for k, v in ckpt.items() if k not in checkpoint.TENSOR_KEYS})
    meta["checkpoint"] = str(final_path.resolve())
    rates = [h["images_per_s"] for h in meta.get("history", [])]
    meta["images_per_s"] = float(np.mean(rates)) if rates else None
    return meta
