"""Quality metrics: Frechet distance (FID) and kernel inception distance (KID).

`fid_kid(real_dir, fake_dir, inception_weights=PATH)` computes FID and KID on
Inception-v3 features through torch-fidelity, reading the weights from a local
file (torch-fidelity's `feature_extractor_weights_path`; the file it would
otherwise download is `pt_inception-2015-12-05-6726825d.pth`). Nothing is
ever downloaded. Without a weights file there is no FID: the result says so
and gives KID on the features of a fixed, seeded random convolutional network
("random-conv-v1") instead, labelled as such. Those numbers compare runs with
each other; they are not comparable with published KID or FID.

Note: torch-fidelity loads the weights file with full pickle, so only give it
a file you trust.
"""

from __future__ import annotations

import itertools
from pathlib import Path
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F
from torch import nn

from common.devices import resolve_device
from common.images import is_image_name

from .data import load_image

LOCAL_EXTRACTOR = "random-conv-v1"


def frechet_distance(mu1, sigma1, mu2, sigma2) -> float:
    """||mu1 - mu2||^2 + Tr(S1 + S2 - 2 (S1 S2)^(1/2)) for Gaussians fitted to two feature sets.

    Tr((S1 S2)^(1/2)) = Tr((A S2 A)^(1/2)) with A = S1^(1/2), and A S2 A is symmetric
    positive semi-definite, so both roots come from symmetric eigendecompositions:
    no complex round-off as with a general matrix square root.
    """
    mu1, mu2 = np.asarray(mu1, np.float64), np.asarray(mu2, np.float64)
    sigma1, sigma2 = np.asarray(sigma1, np.float64), np.asarray(sigma2, np.float64)
    vals, vecs = np.linalg.eigh((sigma1 + sigma1.T) / 2)
    root1 = (vecs * np.sqrt(np.clip(vals, 0, None))) @ vecs.T
    middle = root1 @ sigma2 @ root1
    tr_cross = np.sqrt(np.clip(np.linalg.eigvalsh((middle + middle.T) / 2), 0, None)).sum()
    return float(np.square(mu1 - mu2).sum() + np.trace(sigma1) + np.trace(sigma2) - 2 * tr_cross)


def feature_statistics(features: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
    features = np.asarray(features, np.float64)
    return features.mean(axis=0), np.cov(features, rowvar=False)


def kernel_distance(f1: np.ndarray, f2: np.ndarray, *, num_subsets: int = 100, subset_size: int = 1000,
                    seed: int = 0) -> tuple[float, float]:
    """Unbiased MMD^2 with the cubic polynomial kernel k(x, y) = (x.y / d + 1)^3, over random subsets."""
    f1, f2 = np.asarray(f1, np.float64), np.asarray(f2, np.float64)
    m = min(subset_size, len(f1), len(f2))
    if m < 2:
        raise ValueError("subset_size: KID needs at least 2 images on each side")
    d = f1.shape[1]
    rng = np.random.RandomState(seed)
    values = []
    for _ in range(num_subsets):
        x = f1[rng.choice(len(f1), m, replace=False)]
        y = f2[rng.choice(len(f2), m, replace=False)]
        kxx, kyy, kxy = ((a @ b.T / d + 1) ** 3 for a, b in ((x, x), (y, y), (x, y)))
        off = lambda k: (k.sum() - np.trace(k)) / (m * (m - 1))  # noqa: E731  (diagonal left out: unbiased)
        values.append(off(kxx) + off(kyy) - 2 * kxy.mean())
    return float(np.mean(values)), float(np.std(values))


class RandomConvFeatures(nn.Module):
    """Fixed random conv net (seeded He init, never trained): per-channel mean and std of 4 stages."""

    def __init__(self, seed: int = 0, size: int = 128):
        super().__init__()
        gen = torch.Generator().manual_seed(seed)
        widths = [3, 32, 64, 128, 256]
        self.convs = nn.ModuleList(nn.Conv2d(a, b, 3, stride=2, padding=1) for a, b in itertools.pairwise(widths))
        with torch.no_grad():
            for conv in cast("list[nn.Conv2d]", self.convs):
                conv.weight.copy_(torch.randn(conv.weight.shape, generator=gen) * (2 / conv.weight[0].numel()) ** 0.5)
                conv.bias.zero_()  # type: ignore[union-attr]  # Conv2d built with a bias
        self.size = size
        self.requires_grad_(False)

    def forward(self, images: torch.Tensor) -> torch.Tensor:
        """uint8 [N, 3, H, W] -> features [N, 960] (2 x (32 + 64 + 128 + 256))."""
        x = images.float() / 127.5 - 1
        x = F.interpolate(x, size=(self.size, self.size), mode="bilinear", antialias=True, align_corners=False)
        pooled = []
        for conv in self.convs:
            x = F.relu(conv(x))
            pooled += [x.mean(dim=(2, 3)), x.std(dim=(2, 3))]
        return torch.cat(pooled, dim=1)


def image_files(folder) -> list[Path]:
    return sorted(p for p in Path(folder).rglob("*") if is_image_name(p))


@torch.no_grad()
def local_features(folder, *, batch_size: int = 64, device=None, seed: int = 0) -> np.ndarray:
    files = image_files(folder)
    if not files:
        raise ValueError(f"{folder}: no images")
    net = RandomConvFeatures(seed).to(device or "cpu")
    out = []
    for start in range(0, len(files), batch_size):
        batch = np.stack([load_image(p, net.size) for p in files[start:start + batch_size]])
        out.append(net(torch.from_numpy(batch).permute(0, 3, 1, 2).to(device or "cpu")).cpu().numpy())
    return np.concatenate(out)


def fid_kid(real_dir, fake_dir, inception_weights=None, *, batch_size: int = 64, device=None,
            kid_subset_size: int = 1000) -> dict:
    """FID and KID, or (without Inception weights) KID on local features, clearly labelled.

    Returns {"fid", "kid_mean", "kid_std", "features", "label", "note"}; "fid" is None when no
    Inception weights file was given.
    """
    device = resolve_device(device)
    n = min(len(image_files(real_dir)), len(image_files(fake_dir)))
    subset = min(kid_subset_size, n)
    if inception_weights is None:
        kid = kernel_distance(local_features(real_dir, batch_size=batch_size, device=device),
                              local_features(fake_dir, batch_size=batch_size, device=device), subset_size=subset)
        return {"fid": None, "kid_mean": kid[0], "kid_std": kid[1], "features": LOCAL_EXTRACTOR,
                "label": f"KID on {LOCAL_EXTRACTOR} features, not FID",
                "note": "No Inception weights file given: FID not computed; KID values are only comparable "
                        "with other KID values on the same local features."}
    return _torch_fidelity(real_dir, fake_dir, Path(inception_weights), batch_size, device, subset)


def _torch_fidelity(real_dir, fake_dir, weights: Path, batch_size: int, device, subset: int) -> dict:
    import torch_fidelity

    if not weights.is_file():
        raise FileNotFoundError(f"inception_weights: {weights} does not exist")
    metrics = torch_fidelity.calculate_metrics(
        input1=str(fake_dir), input2=str(real_dir), fid=True, kid=True, cuda=device.type == "cuda",
        batch_size=batch_size, feature_extractor_weights_path=str(weights), samples_find_deep=True,
        kid_subset_size=subset, cache=False, verbose=False, datasets_download=False)
    return {"fid": float(metrics["frechet_inception_distance"]),
            "kid_mean": float(metrics["kernel_inception_distance_mean"]),
            "kid_std": float(metrics["kernel_inception_distance_std"]),
            "features": f"inception-v3-compat ({weights.name})", "label": "FID and KID on Inception-v3 features",
            "note": ""}
