"""Adaptive discriminator augmentation (ADA, Karras et al. 2020, "Training Generative
Adversarial Networks with Limited Data"), written from the paper.

`AugmentPipe(images, p)` applies, to each image independently and each with
probability p: x-flip, 90-degree rotation, integer translation, isotropic
scaling, arbitrary rotation (twice, each with probability 1 - sqrt(1 - p), so
that some rotation happens with probability p), anisotropic scaling,
fractional translation, brightness, contrast, luma flip, hue rotation and saturation: the
transforms of NVIDIA's `bgc` pipe (`BGC_OPS`), in its order.
All geometric transforms are composed into one affine matrix per image and
applied with a single `grid_sample` (reflection padding); all colour
transforms into one 4x4 matrix. Both steps are differentiable with respect to
the images, which is what lets G learn through them; augmentations of this
kind do not leak into G's output when p stays below ~0.8.

`AdaController` adjusts p from r_t = E[sign(D(real))] towards a target (0.6):
above target D is overconfident on reals (overfitting), so p rises. As in the reference, p is
bounded below by 0 only: above 1 every transform already fires, and p must come back below 1
before it fires less.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F
from torch import nn

from .distributed import draw_rows


def _identity(n: int, size: int, device) -> torch.Tensor:
    return torch.eye(size, device=device).unsqueeze(0).repeat(n, 1, 1)


def _translate2d(tx: torch.Tensor, ty: torch.Tensor) -> torch.Tensor:
    m = _identity(tx.shape[0], 3, tx.device)
    m[:, 0, 2], m[:, 1, 2] = tx, ty
    return m


def _scale2d(sx: torch.Tensor, sy: torch.Tensor) -> torch.Tensor:
    m = _identity(sx.shape[0], 3, sx.device)
    m[:, 0, 0], m[:, 1, 1] = sx, sy
    return m


def _rotate2d(cos: torch.Tensor, sin: torch.Tensor) -> torch.Tensor:
    m = _identity(cos.shape[0], 3, cos.device)
    m[:, 0, 0], m[:, 0, 1], m[:, 1, 0], m[:, 1, 1] = cos, -sin, sin, cos
    return m


# NVIDIA's augment presets name these; `bgc` enables each with probability p.
BGC_OPS = ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
           "brightness", "contrast", "lumaflip", "hue", "saturation")


def _chance(n: int, p: float, device) -> torch.Tensor:
    return torch.rand(n, device=device) < p


class AugmentPipe(nn.Module):
    """Differentiable augmentation of a batch in [-1, 1], shape [N, C, H, W]."""

    ops = BGC_OPS

    def __init__(self, *, xint_max: float = 0.125, scale_std: float = 0.2, rotate_max: float = 1.0,
                 aniso_std: float = 0.2, xfrac_std: float = 0.125, brightness_std: float = 0.2,
                 contrast_std: float = 0.5, hue_max: float = 1.0, saturation_std: float = 1.0):
        super().__init__()
        self.xint_max, self.scale_std, self.rotate_max = xint_max, scale_std, rotate_max
        self.aniso_std, self.xfrac_std = aniso_std, xfrac_std
        self.brightness_std, self.contrast_std = brightness_std, contrast_std
        self.hue_max, self.saturation_std = hue_max, saturation_std

    def forward(self, images: torch.Tensor, p: float) -> torch.Tensor:
        if p <= 0:
            return images
        images = self.geometric(images, p)
        return self.colour(images, p)

    def geometric_matrix(self, n: int, size: int, p: float, device) -> torch.Tensor:
        """Per-image 3x3 matrices in affine_grid's [-1, 1] coordinates (image width = 2)."""
        ones = torch.ones(n, device=device)
        flip = 1 - 2 * torch.randint(0, 2, (n,), device=device).float()
        m = _scale2d(torch.where(_chance(n, p, device), flip, ones), ones)
        k = torch.randint(0, 4, (n,), device=device).float() * _chance(n, p, device)
        # Rounded so that 90-degree turns stay exact pixel permutations.
        m = m @ _rotate2d(torch.cos(k * math.pi / 2).round(), torch.sin(k * math.pi / 2).round())
        shift = ((torch.rand(n, 2, device=device) * 2 - 1) * self.xint_max * size).round() * 2 / size
        shift = shift * _chance(n, p, device)[:, None]
        m = m @ _translate2d(shift[:, 0], shift[:, 1])
        s = torch.exp2(torch.randn(n, device=device) * self.scale_std)
        s = torch.where(_chance(n, p, device), s, ones)
        m = m @ _scale2d(s, s)
        p_rot = 1 - math.sqrt(max(1 - p, 0.0))  # two rotations: any rotation has probability p
        m = m @ self._random_rotation(n, p_rot, device)
        a = torch.exp2(torch.randn(n, device=device) * self.aniso_std)
        a = torch.where(_chance(n, p, device), a, ones)
        m = m @ _scale2d(a, 1 / a)
        m = m @ self._random_rotation(n, p_rot, device)
        frac = torch.randn(n, 2, device=device) * self.xfrac_std * 2 * _chance(n, p, device)[:, None]
        return m @ _translate2d(frac[:, 0], frac[:, 1])

    def _random_rotation(self, n: int, p: float, device) -> torch.Tensor:
        theta = (torch.rand(n, device=device) * 2 - 1) * math.pi * self.rotate_max
        theta = theta * _chance(n, p, device)
        return _rotate2d(torch.cos(theta), torch.sin(theta))

    def geometric(self, images: torch.Tensor, p: float) -> torch.Tensor:
        n, c, h, w = images.shape
        # draw_rows: with several processes, this one's rows of the parameters drawn for the global batch.
        m = draw_rows(lambda k: self.geometric_matrix(k, w, p, images.device), n)
        grid = F.affine_grid(m[:, :2, :], [n, c, h, w], align_corners=False)  # fp32 even under autocast
        # Reflection padding avoids black corners that D could use to spot augmented reals.
        return F.grid_sample(images, grid.to(images.dtype), mode="bilinear", padding_mode="reflection",
                             align_corners=False)

    def colour_matrix(self, n: int, p: float, device) -> torch.Tensor:
        """Per-image 4x4 matrices acting on homogeneous [r, g, b, 1]."""
        c = _identity(n, 4, device)
        b = torch.randn(n, device=device) * self.brightness_std * _chance(n, p, device)
        c[:, :3, 3] += b[:, None]
        k = torch.exp2(torch.randn(n, device=device) * self.contrast_std * _chance(n, p, device))
        c = _scale3(k) @ c
        luma = torch.full((3,), 1 / math.sqrt(3), device=device)
        c = _luma_flip(luma, torch.randint(0, 2, (n,), device=device) * _chance(n, p, device)) @ c
        theta = (torch.rand(n, device=device) * 2 - 1) * math.pi * self.hue_max * _chance(n, p, device)
        c = _rotate_about(luma, theta) @ c
        s = torch.exp2(torch.randn(n, device=device) * self.saturation_std * _chance(n, p, device))
        outer = torch.outer(luma, luma)
        sat = _identity(n, 4, device)
        sat[:, :3, :3] = outer + (torch.eye(3, device=device) - outer) * s[:, None, None]
        return sat @ c

    def colour(self, images: torch.Tensor, p: float) -> torch.Tensor:
        n, ch, h, w = images.shape
        if ch != 3:
            return images  # colour transforms are defined for RGB only
        m = draw_rows(lambda k: self.colour_matrix(k, p, images.device), n).to(images.dtype)
        flat = images.reshape(n, 3, h * w)
        flat = m[:, :3, :3] @ flat + m[:, :3, 3:]
        return flat.reshape(n, 3, h, w)


def _scale3(k: torch.Tensor) -> torch.Tensor:
    m = _identity(k.shape[0], 4, k.device)
    for i in range(3):
        m[:, i, i] = k
    return m


def _luma_flip(axis: torch.Tensor, flip: torch.Tensor) -> torch.Tensor:
    """Householder reflection through the plane normal to the grey axis, where `flip` is 1: the
    grey component changes sign and the colour difference stays (white <-> black)."""
    m = _identity(flip.shape[0], 4, flip.device)
    m[:, :3, :3] -= 2 * torch.outer(axis, axis) * flip.float()[:, None, None]
    return m


def _rotate_about(axis: torch.Tensor, theta: torch.Tensor) -> torch.Tensor:
    """Rodrigues rotation about a unit axis, as 4x4 matrices: a hue shift when the axis is grey."""
    n = theta.shape[0]
    x, y, z = axis.tolist()
    cross = torch.tensor([[0, -z, y], [z, 0, -x], [-y, x, 0]], device=theta.device)
    outer = torch.outer(axis, axis)
    cos, sin = torch.cos(theta)[:, None, None], torch.sin(theta)[:, None, None]
    rot = cos * torch.eye(3, device=theta.device) + sin * cross + (1 - cos) * outer
    m = _identity(n, 4, theta.device)
    m[:, :3, :3] = rot
    return m


class AdaController:
    """Adjusts p every `interval` steps so that r_t = E[sign(D(real))] approaches `target`.

    The step size lets p go from 0 to 1 in `kimg` thousand images, as in the ADA paper.
    The sign sums stay on the device until an update, so no per-step synchronisation.
    """

    def __init__(self, *, p: float = 0.0, target: float | None = 0.6, interval: int = 4,
                 kimg: float = 500.0, batch: int = 16):
        self.p, self.target, self.interval, self.kimg, self.batch = float(p), target, interval, kimg, batch
        self.sign_sum: float | torch.Tensor = 0.0  # a tensor once logits arrive: summed on the device
        self.count = 0.0

    def accumulate(self, real_logits: torch.Tensor) -> None:
        if self.target is None:
            return
        self.sign_sum = self.sign_sum + real_logits.detach().float().sign().sum()
        self.count += real_logits.numel()

    def update(self, reduce_fn=None) -> float | None:
        """Adjust p from the accumulated signs; returns r_t, or None when nothing was accumulated.

        `reduce_fn(tensor) -> tensor` sums across processes in multi-GPU training.
        """
        if self.target is None or self.count == 0:
            return None
        stats = torch.stack([torch.as_tensor(self.sign_sum, dtype=torch.float64).cpu(),
                             torch.as_tensor(self.count, dtype=torch.float64)])
        if reduce_fn is not None:
            stats = reduce_fn(stats)
        r_t = float(stats[0] / stats[1])
        step = self.batch * self.interval / (self.kimg * 1000)
        direction = (r_t > self.target) - (r_t < self.target)
        self.p = max(self.p + direction * step, 0.0)
        self.sign_sum, self.count = 0.0, 0.0
        return r_t

    def state_dict(self) -> dict:
        return {"p": self.p, "sign_sum": float(self.sign_sum), "count": float(self.count)}

    def load_state_dict(self, state: dict) -> None:
        self.p, self.sign_sum, self.count = float(state["p"]), float(state["sign_sum"]), float(state["count"])
