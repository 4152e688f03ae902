"""GAN losses: non-saturating logistic loss, lazy R1, path length regularisation.

Formulas from Goodfellow et al. 2014 (non-saturating loss), Mescheder et al.
2018 (R1) and Karras et al. 2020 (lazy regularisation, path length). Lazy
regularisation evaluates a regulariser only every k steps and multiplies it
by k, so its average strength is unchanged; the optimizer's learning rate and
betas are then adjusted with `lazy_adam_settings` so that the main loss keeps
the same effective step size.
"""

from __future__ import annotations

import math

import torch
import torch.nn.functional as F

from .distributed import draw_rows


def generator_loss(fake_logits: torch.Tensor) -> torch.Tensor:
    """Non-saturating: G maximises log D(G(z)) rather than minimising log(1 - D(G(z)))."""
    return F.softplus(-fake_logits.float()).mean()


def discriminator_loss(real_logits: torch.Tensor, fake_logits: torch.Tensor) -> torch.Tensor:
    return F.softplus(fake_logits.float()).mean() + F.softplus(-real_logits.float()).mean()


def r1_penalty(real_images: torch.Tensor, real_logits: torch.Tensor) -> torch.Tensor:
    """Per-sample squared norm of dD/dx on reals; `real_images` must require grad."""
    (grad,) = torch.autograd.grad(real_logits.float().sum(), real_images, create_graph=True)
    return grad.float().square().sum(dim=(1, 2, 3))


def r1_loss(penalty: torch.Tensor, gamma: float, interval: int) -> torch.Tensor:
    return penalty.mean() * (gamma / 2) * interval


def path_length_penalty(images: torch.Tensor, ws: torch.Tensor, pl_mean: torch.Tensor,
                        decay: float, reduce_mean=None) -> tuple[torch.Tensor, torch.Tensor]:
    """Penalise deviation of |J_w^T y| (y: random image-space direction) from its running mean.

    Returns (per-sample penalty, updated running mean). `images` must have been made from
    `ws` with the graph kept; `reduce_mean` averages across processes in multi-GPU training.
    """
    h, w = images.shape[2], images.shape[3]
    # Scaling by 1/sqrt(pixels) makes the lengths independent of resolution.
    # draw_rows: with several processes, this one's rows of directions drawn for the global batch.
    noise = draw_rows(lambda n: torch.randn((n, *images.shape[1:]), dtype=images.dtype, device=images.device),
                      images.shape[0]) / math.sqrt(h * w)
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    lengths = grad.float().square().sum(dim=2).mean(dim=1).sqrt()
    batch_mean = lengths.mean().detach()
    if reduce_mean is not None:
        batch_mean = reduce_mean(batch_mean)
    new_mean = pl_mean.lerp(batch_mean, decay)
    return (lengths - new_mean).square(), new_mean


def lazy_adam_settings(lr: float, betas: tuple[float, float], interval: int | None) -> tuple[float, tuple[float, float]]:
    """Learning rate and betas for an optimizer that also takes a regulariser step every `interval` steps."""
    if not interval or interval <= 1:
        return lr, tuple(betas)
    ratio = interval / (interval + 1)
    return lr * ratio, (betas[0] ** ratio, betas[1] ** ratio)
