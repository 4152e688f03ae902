"""Projection: find the w (and noise) whose image reproduces a target image.

Method, after the StyleGAN2 paper's projector (Karras et al. 2020, appendix D):
one w shared by all layers starts at the mean w, and is optimised with Adam
together with the per-layer noise maps. The learning rate ramps up over the
first 5 % of steps and down (cosine) over the last 25 %; Gaussian noise added
to w, shrinking to zero at 75 % of the steps, helps escape poor local minima;
a penalty on the noise maps' autocorrelation at several scales keeps them
noise-like so they cannot paint the image themselves.

Perceptual loss, needing no downloaded weights (the paper uses LPIPS on
ImageNet VGG16, which we may not download): the distance between the
discriminator's own intermediate features of target and reconstruction, each
unit-normalised over channels as in LPIPS, summed over D's blocks; plus
pixel L2 at full, 1/2 and 1/4 resolution. D was trained on exactly this image
domain, so its features describe lesion texture and shape better than an
off-the-shelf network would; the pixel terms keep colours faithful, which
unit-normalised features ignore. Early in training D's features are nearly
random convolutions, which still make a usable perceptual distance.

    result = project("ckpt.pt", "target.jpg", "out/", steps=1000)
    # out/projected_w.npz (key "w": [1, num_ws, w_dim]; noise maps as noise<i>),
    # out/projected.png, out/target.png; result["loss_history"]
"""

from __future__ import annotations

import math
from collections.abc import Callable
from pathlib import Path
from typing import cast

import numpy as np
import torch
import torch.nn.functional as F

from common.devices import resolve_device
from common.files import atomic_writer

from .checkpoint import load_discriminator, load_generator
from .data import load_image
from .networks import Discriminator, Generator, SynthesisLayer
from .sample import class_tensor, save_png, to_uint8


def discriminator_features(D: Discriminator, img: torch.Tensor) -> list[torch.Tensor]:
    """Output of each D block, each unit-normalised over channels."""
    feats, x = [], None
    for block in D.blocks:
        x = block(x, img)
        feats.append(x / (x.square().sum(dim=1, keepdim=True) + 1e-8).sqrt())
    return feats


def perceptual_distance(feats_a: list[torch.Tensor], feats_b: list[torch.Tensor]) -> torch.Tensor:
    return cast(torch.Tensor, sum((a - b).square().sum(dim=1).mean() for a, b in zip(feats_a, feats_b)))


def multiscale_l2(a: torch.Tensor, b: torch.Tensor, scales: int = 3) -> torch.Tensor:
    total = a.new_zeros([])
    for _ in range(scales):
        total = total + (a - b).square().mean()
        if a.shape[-1] <= 8:
            break
        a, b = F.avg_pool2d(a, 2), F.avg_pool2d(b, 2)
    return total


def noise_regularisation(noises: list[torch.Tensor]) -> torch.Tensor:
    """Squared autocorrelation at lag 1 in x and y, at every scale down to 8x8."""
    loss = noises[0].new_zeros([])
    for noise in noises:
        n = noise[None, None]
        while True:
            loss = loss + (n * torch.roll(n, 1, dims=3)).mean().square()
            loss = loss + (n * torch.roll(n, 1, dims=2)).mean().square()
            if n.shape[-1] <= 8:
                break
            n = F.avg_pool2d(n, 2)
    return loss


def learning_rate(t: float, base: float, rampdown: float = 0.25, rampup: float = 0.05) -> float:
    scale = min(1.0, (1.0 - t) / rampdown)
    scale = 0.5 - 0.5 * math.cos(scale * math.pi)
    return base * scale * min(1.0, t / rampup)


@torch.no_grad()
def w_statistics(G: Generator, c, samples: int = 4096, seed: int = 0) -> tuple[torch.Tensor, float]:
    """Mean w and its scalar std, from seeded z's (the projection starts at the mean)."""
    device = G.mapping.w_avg.device
    z = torch.from_numpy(np.random.RandomState(seed).randn(samples, G.cfg.z_dim)).float().to(device)
    cc = None if c is None else c.expand(samples)
    w = G.mapping(z, cc)
    mean = w.mean(dim=0, keepdim=True)
    return mean, float(((w - mean).square().sum() / samples).sqrt())


def _free_noise(G: Generator, seed: int) -> list[torch.Tensor]:
    """Make each layer's const noise a trainable tensor, starting from seeded N(0, 1)."""
    gen = torch.Generator().manual_seed(seed)
    noises = []
    for layer in (m for m in G.synthesis.modules() if isinstance(m, SynthesisLayer)):
        fresh = torch.randn(layer.noise_const.shape, generator=gen).to(layer.noise_const.device)
        layer.noise_const = fresh.requires_grad_(True)
        noises.append(layer.noise_const)
    return noises


def project(ckpt_path, target_image, out_dir, *, steps: int = 1000, class_idx: int | None = None,
            device=None, lr: float = 0.1, noise_weight: float = 1e5, pixel_weight: float = 1.0,
            feature_weight: float = 1.0, seed: int = 0,
            progress_fn: Callable[[dict], None] | None = None) -> dict:
    """Project `target_image` into W; returns paths and the per-step reconstruction loss."""
    if steps < 1:
        raise ValueError(f"steps: must be >= 1, got {steps}")
    device = resolve_device(device)
    G, D = load_generator(ckpt_path, device), load_discriminator(ckpt_path, device)
    target = torch.from_numpy(load_image(target_image, G.cfg.resolution, G.cfg.img_channels)).to(device)
    target = target.permute(2, 0, 1)[None].float() / 127.5 - 1
    c = class_tensor(G, 1, class_idx, device)
    with torch.no_grad():
        target_feats = discriminator_features(D, target)
    w_mean, w_std = w_statistics(G, c)
    w = w_mean.clone().requires_grad_(True)
    noises = _free_noise(G, seed)
    opt = torch.optim.Adam([w] + noises, lr=lr, betas=(0.9, 0.999))
    gen = torch.Generator(device=device).manual_seed(seed)
    history: list[float] = []
    for step in range(steps):
        t = step / steps
        for group in opt.param_groups:
            group["lr"] = learning_rate(t, lr)
        w_noise = torch.randn(w.shape, generator=gen, device=device) * w_std * 0.05 * max(0.0, 1 - t / 0.75) ** 2
        img = G.synthesis(G.broadcast(w + w_noise), noise_mode="const")
        recon = pixel_weight * multiscale_l2(img, target) + \
            feature_weight * perceptual_distance(discriminator_features(D, img), target_feats)
        loss = recon + noise_weight * noise_regularisation(noises)
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        with torch.no_grad():  # keep noise maps at zero mean, unit variance
            for n in noises:
                n.sub_(n.mean()).div_(n.square().mean().sqrt() + 1e-8)
        history.append(float(recon.detach()))
        if progress_fn is not None:
            progress_fn({"step": step + 1, "steps": steps, "loss": history[-1]})
    return _write_projection(G, w, noises, target, Path(out_dir), history)


@torch.no_grad()
def _write_projection(G: Generator, w, noises, target, out_dir: Path, history: list[float]) -> dict:
    out_dir.mkdir(parents=True, exist_ok=True)
    ws = G.broadcast(w.detach())
    image = G.synthesis(ws, noise_mode="const")
    arrays = {"w": ws.cpu().numpy()} | {f"noise{i}": n.detach().cpu().numpy() for i, n in enumerate(noises)}
    w_path = out_dir / "projected_w.npz"
    with atomic_writer(w_path) as f:
        np.savez(f, **arrays)
    return {"w_path": w_path, "image_path": save_png(to_uint8(image)[0], out_dir / "projected.png"),
            "target_path": save_png(to_uint8(target)[0], out_dir / "target.png"), "loss_history": history}
