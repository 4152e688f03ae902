"""The batch-one inference path (generator/gan/inference.py) computes the training path's function."""

from __future__ import annotations

import pytest
import torch

from generator.gan.networks import Generator

from .helpers import make_tiny_configs


def make_generator(**overrides) -> Generator:
    gan_cfg, _ = make_tiny_configs(resolution=32, **overrides)
    torch.manual_seed(0)
    G = Generator(gan_cfg)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith(("noise_strength", ".bias")):
                p.copy_(torch.randn_like(p) * 0.3)
    return G.eval()


def both_paths(G: Generator, ws: torch.Tensor, noise_mode: str) -> tuple[torch.Tensor, torch.Tensor]:
    with torch.no_grad():
        torch.manual_seed(7)
        slow = G.synthesis(ws, noise_mode, fast=False)
        torch.manual_seed(7)
        fast = G.synthesis(ws, noise_mode)
    return slow, fast


# A clamp of 0.5 binds on most pixels, so the moved sqrt(2) and the divided limit are exercised.
@pytest.mark.parametrize("conv_clamp", [None, 0.5])
@pytest.mark.parametrize("noise_mode", ["const", "random", "none"])
def test_the_fast_path_gives_the_training_paths_image_within_rounding(noise_mode, conv_clamp):
    G = make_generator(conv_clamp=conv_clamp)
    ws = G.broadcast(G.mapping(torch.randn(1, G.cfg.z_dim), psi=0.8)).detach()
    slow, fast = both_paths(G, ws, noise_mode)
    assert fast.shape == slow.shape == (1, 3, 32, 32) and fast.is_contiguous()
    assert (fast - slow).abs().max().item() <= 1e-5 * max(1.0, slow.abs().max().item())
    assert not torch.equal(fast, both_paths(G, ws * 1.01, noise_mode)[1])  # it depends on the styles


def test_training_and_batches_keep_the_training_maths():
    G = make_generator()
    ws = G.broadcast(G.mapping(torch.randn(1, G.cfg.z_dim))).detach().requires_grad_(True)
    image = G.synthesis(ws, "const")  # autograd on: the training path, gradients reach ws
    image.sum().backward()
    assert ws.grad is not None and ws.grad.abs().sum() > 0
    batch = G.broadcast(G.mapping(torch.randn(2, G.cfg.z_dim))).detach()
    with torch.no_grad():
        assert torch.equal(G.synthesis(batch, "const"), G.synthesis(batch, "const", fast=False))


def test_the_fast_path_sees_weights_changed_in_place():
    G = make_generator()
    ws = G.broadcast(G.mapping(torch.randn(1, G.cfg.z_dim))).detach()
    before = both_paths(G, ws, "const")[1]
    with torch.no_grad():
        G.synthesis.blocks[-1].conv1.conv.weight.mul_(torch.rand_like(G.synthesis.blocks[-1].conv1.conv.weight))
    slow, fast = both_paths(G, ws, "const")
    assert not torch.equal(fast, before)
    assert (fast - slow).abs().max().item() <= 1e-5 * max(1.0, slow.abs().max().item())
