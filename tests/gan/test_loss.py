"""The losses' finer points that NVIDIA's StyleGAN2 loss fixes: the path length penalty's mean and
the inner gradient that needs no convolution weight gradients."""

from __future__ import annotations

import torch
from torch.utils._python_dispatch import TorchDispatchMode

from generator.gan.loss import path_length_penalty
from generator.gan.networks import Generator

from .helpers import make_tiny_configs


def _penalty_grad(decay: float) -> torch.Tensor:
    theta = torch.tensor([0.3, -0.7, 0.5, 0.9], requires_grad=True)
    ws = theta.expand(1, 2, 4)
    images = torch.tanh(ws.sum(dim=1)[:, :, None] * torch.linspace(-1, 1, 16)).reshape(1, 1, 8, 8)
    torch.manual_seed(0)  # the same random image-space direction for every call
    penalty, _ = path_length_penalty(images, ws, torch.zeros([]), decay)
    (grad,) = torch.autograd.grad(penalty.sum(), theta)
    return grad


def test_the_path_length_penalty_differentiates_through_the_updated_mean():
    # One sample, running mean 0: the penalty is (l - decay * l)^2. Its gradient is (1 - decay)^2 times
    # that of l^2 when the batch mean stays in the graph (NVIDIA loss.py:92), (1 - decay) times when
    # it is detached.
    ratio = _penalty_grad(0.5) / _penalty_grad(0.0)
    assert torch.allclose(ratio, torch.full_like(ratio, 0.25), rtol=1e-4)


class ConvolutionBackwards(TorchDispatchMode):
    """Records the output_mask (input, weight, bias) of every convolution backward."""

    def __init__(self):
        super().__init__()
        self.masks = []

    def __torch_dispatch__(self, func, types, args=(), kwargs=None):
        if func is torch.ops.aten.convolution_backward.default:
            self.masks.append(tuple(args[-1]))
        return func(*args, **(kwargs or {}))


def test_the_path_length_inner_gradient_computes_no_convolution_weight_gradients():
    gan_cfg, _ = make_tiny_configs()
    G = Generator(gan_cfg)
    ws = G.broadcast(G.mapping(torch.randn(2, gan_cfg.z_dim), None))
    images = G.synthesis(ws)
    with ConvolutionBackwards() as inner:
        penalty, _ = path_length_penalty(images, ws, torch.zeros([]), 0.01)
    assert inner.masks and not any(mask[1] for mask in inner.masks), inner.masks
    with ConvolutionBackwards() as outer:
        penalty.mean().backward()
    assert any(mask[1] for mask in outer.masks), "the weights still get the penalty's gradient"
    assert G.synthesis.blocks[-1].conv1.conv.weight.grad.abs().sum() > 0
