"""Score images with a trained checkpoint, and measure it on a labelled test set.

    from classifier.cnn.evaluate import predict, evaluate
    rows = predict("runs/exp1/final.pt", "data/mednode")      # [(path, label, p_melanoma)]
    report = evaluate("runs/exp1/final.pt", "data/mednode")
    report["at_05"]["auc"], report["at_youden"]["sens_ci"]

Images are resized (not cropped) to the training size and normalised exactly as in
training (both read from the checkpoint). The melanoma probability is the softmax over
the two logits, "melanoma" entry. Thresholds are fixed before testing: 0.5, and the Youden
threshold stored in the checkpoint when training finished.
"""

from __future__ import annotations

import logging
import tempfile
from collections.abc import Sequence
from pathlib import Path

import numpy as np
import torch

from common.devices import resolve_device

from . import checkpoint
from .data import ImageCache, ImageDataset, make_loader, scan_dirs
from .metrics import binary_metrics
from .models import Normalize, model_from_checkpoint

log = logging.getLogger(__name__)


@torch.no_grad()
def score_items(model, norm, items, cache: ImageCache, *, device, batch: int = 64,
                workers: int = 0, progress_fn=None) -> np.ndarray:
    """Melanoma probability for each (path, label) item, in order, in eval mode.
    ``progress_fn({"phase": "evaluate", "done": n, "images": total})`` after each batch."""
    was_training = model.training
    model.eval()
    loader = make_loader(ImageDataset(items, cache), batch=batch, train=False, workers=workers,
                         pin_memory=torch.device(device).type == "cuda")
    out = []
    for x, _ in loader:
        logits = model(norm(x.to(device, non_blocking=True, memory_format=torch.channels_last)))
        out.append(torch.softmax(logits.float(), dim=1)[:, 1].cpu())
        if progress_fn:
            progress_fn({"phase": "evaluate", "done": sum(len(o) for o in out), "images": len(items)})
    model.train(was_training)
    return torch.cat(out).numpy().astype(np.float64) if out else np.zeros(0)


def load_model(checkpoint_path, device="cpu"):
    """(model in eval mode on ``device``, Normalize module, checkpoint dict)."""
    ckpt = checkpoint.load(checkpoint_path)
    model = model_from_checkpoint(ckpt).to(device=device, memory_format=torch.channels_last).eval()
    norm = Normalize(ckpt["normalization"]["mean"], ckpt["normalization"]["std"]).to(device)
    return model, norm, ckpt


def _items(images) -> Sequence[tuple[str, int | None]]:
    """A labelled folder (or list of folders), image paths, or (path, label) pairs."""
    if isinstance(images, (str, Path)):
        return scan_dirs(images)
    images = list(images)
    if images and all(isinstance(i, (str, Path)) and Path(i).is_dir() for i in images):
        return scan_dirs(images)
    return [(str(i[0]), i[1]) if isinstance(i, (tuple, list)) else (str(i), None) for i in images]


def _predict_loaded(model, norm, ckpt, images, *, device, batch, workers, cache_dir, progress_fn=None):
    items = _items(images)
    with tempfile.TemporaryDirectory(prefix="cnn-predict-") as tmp:
        # Decoding through a cache, even a throwaway one, finds unreadable files first.
        cache = ImageCache(cache_dir or tmp, ckpt["config"]["img_size"])
        bad, _ = cache.warm([p for p, _ in items], workers=workers, progress_fn=progress_fn)
        unreadable = set(bad)
        items = [it for it in items if it[0] not in unreadable]
        scored = [(p, -1 if label is None else label) for p, label in items]
        probs = score_items(model, norm, scored, cache, device=device, batch=batch, workers=workers,
                            progress_fn=progress_fn)
    return [(p, label, float(q)) for (p, label), q in zip(items, probs)]


def predict(checkpoint_path, images, *, batch: int = 64, device: str = "auto",
            workers: int = 0, cache_dir=None) -> list[tuple[str, int | None, float]]:
    """[(path, label or None, melanoma probability)] for every readable image.

    ``images``: a ``DIR/<label>/`` folder (or a list of them), a list of image paths
    (label None), or (path, label) pairs. Unreadable images are logged and left out.
    ``cache_dir``: reuse (or fill) a decoded-image cache, e.g. the training one;
    None decodes into a temporary cache removed afterwards.
    """
    dev = resolve_device(device)
    model, norm, ckpt = load_model(checkpoint_path, dev)
    return _predict_loaded(model, norm, ckpt, images, device=dev, batch=batch, workers=workers,
                           cache_dir=cache_dir)


def evaluate(checkpoint_path, images, *, batch: int = 64, device: str = "auto",
             workers: int = 0, cache_dir=None, progress_fn=None) -> dict:
    """Metrics of a checkpoint on labelled images, at 0.5 and at its Youden threshold.

    Arguments as ``predict``, plus ``progress_fn`` (called per decoded image and per batch). Returns {"n",
    "checkpoint", "youden_threshold", "threshold_source", "at_05" (threshold 0.5), "at_youden" (None when the checkpoint
    has no threshold), "predictions": [{"path", "label", "prob"}]}; each "at_*" is
    ``metrics.binary_metrics``'s dict. (Keys avoid dots so templates can read them.)
    """
    dev = resolve_device(device)
    model, norm, meta = load_model(checkpoint_path, dev)
    rows = _predict_loaded(model, norm, meta, images, device=dev, batch=batch, workers=workers,
                           cache_dir=cache_dir, progress_fn=progress_fn)
    if any(label is None for _, label, _ in rows):
        raise ValueError("evaluate needs labelled images (DIR/<melanoma|nevus>/...)")
    y = [label for _, label, _ in rows]
    p = [prob for _, _, prob in rows]
    thr = meta.get("youden_threshold")
    return {"n": len(rows), "checkpoint": str(Path(checkpoint_path).resolve()),
            "youden_threshold": thr, "threshold_source": meta.get("threshold_source"),
            "at_05": binary_metrics(y, p, 0.5),
            "at_youden": binary_metrics(y, p, thr) if thr is not None else None,
            "predictions": [{"path": path, "label": label, "prob": prob} for path, label, prob in rows]}
