"""GAN losses: non-saturating logistic loss, lazy R1, path length regularisation.

Formulas from Goodfellow et al. 2014 (non-saturating loss), Mescheder et al.
2018 (R1) and Karras et al. 2020 (lazy regularisation, path length). Lazy
regularisation evaluates a regulariser only every k steps and multiplies it
by k, so its average strength is unchanged; the optimizer's learning rate and
betas are then adjusted (recipe.adam_settings) so that the main loss keeps the
same effective step size.
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

    The inner gradient asks for ws only, so autograd computes no gradient with respect to any
    convolution weight there (NVIDIA needs its `no_weight_gradients` context for that, because its
    custom convolution always computes both); the weights still receive the penalty's gradient
    through the second backward, as in the reference.
    """
    h, w = images.shape[2], images.shape[3]
    # Scaling by 1/sqrt(pixels) makes the lengths independent of resolution.
    # draw_rows: with several processes, this one's rows of directions drawn for the global batch.
    noise = draw_rows(lambda n: torch.randn((n, *images.shape[1:]), dtype=images.dtype, device=images.device),
                      images.shape[0]) / math.sqrt(h * w)
    (grad,) = torch.autograd.grad((images * noise).sum(), ws, create_graph=True)
    lengths = grad.float().square().sum(dim=2).mean(dim=1).sqrt()
    if reduce_mean is not None:
        return _penalty_across_processes(lengths, pl_mean, decay, reduce_mean)
    # Not detached, as in the reference: the penalty also pulls the lengths toward the updated mean
    # through the decay-weighted batch mean. Only the stored running mean is detached.
    new_mean = pl_mean.lerp(lengths.mean(), decay)
    return (lengths - new_mean).square(), new_mean.detach()


def _penalty_across_processes(lengths: torch.Tensor, pl_mean: torch.Tensor, decay: float,
                              reduce_mean) -> tuple[torch.Tensor, torch.Tensor]:
    """The penalty of one process's rows, with the value and (once gradients are averaged) the
    gradient that one process would get for the whole batch.

    The updated mean m depends on every process's lengths, and the global mean penalty P changes
    with m by dP/dm = -2 (mean of all lengths - m), which the reduced mean gives: the term
    dP/dm * decay * (local mean - its value) is zero but carries exactly m's share of the gradient.
    """
    local = lengths.mean()
    global_mean = reduce_mean(local.detach())
    new_mean = pl_mean.lerp(global_mean, decay)
    dP_dm = -2 * (global_mean - new_mean)
    through_mean = dP_dm * decay * (local - local.detach())
    return (lengths - new_mean).square() + through_mean, new_mean.detach()
