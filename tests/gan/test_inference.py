"""The batch-one inference path (generator/gan/inference.py) computes the training path's function."""

from __future__ import annotations

import os
import platform
import resource

import pytest
import torch

from generator.gan import inference
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


def change_conv_weight(G):
    G.synthesis.blocks[-1].conv1.conv.weight.mul_(0.5)


def change_affine_weight(G):
    G.synthesis.blocks[-1].conv0.conv.affine.weight.add_(0.5)


def change_affine_bias(G):
    G.synthesis.blocks[1].torgb.conv.affine.bias.add_(0.5)


def change_noise_strength(G):
    G.synthesis.blocks[-1].conv1.noise_strength.add_(1.0)


def change_noise_const(G):
    G.synthesis.blocks[-1].conv0.noise_const.mul_(-1.0)


def give_the_weight_new_memory(G):
    conv = G.synthesis.blocks[2].conv1.conv
    conv.weight.data = conv.weight.data * 0.5  # same tensor object, new storage, version unchanged


def load_other_weights(G):
    torch.manual_seed(1)
    G.load_state_dict(Generator(G.cfg).state_dict())  # copied into the same tensors, in place


@pytest.mark.parametrize("change", [change_conv_weight, change_affine_weight, change_affine_bias, change_noise_strength,
                                    change_noise_const, give_the_weight_new_memory, load_other_weights])
def test_what_the_fast_path_keeps_between_renders_follows_every_change_of_the_weights(change):
    G = make_generator()
    ws = G.broadcast(G.mapping(torch.randn(1, G.cfg.z_dim))).detach()
    before = both_paths(G, ws, "const")[1]
    with torch.no_grad():
        change(G)
    slow, fast = both_paths(G, ws, "const")
    assert not torch.equal(fast, before)
    assert (fast - slow).abs().max().item() <= 1e-5 * max(1.0, slow.abs().max().item())


def malloc_left_to_the_environment() -> str | None:
    if platform.libc_ver()[0] != "glibc":
        return "not glibc: malloc is left as it is"
    chosen = [name for name in inference.MALLOC_ENVIRONMENT if name in os.environ]
    return f"{chosen[0]} is set: malloc is left as chosen" if chosen else None


def minor_page_faults() -> int:
    return resource.getrusage(resource.RUSAGE_SELF).ru_minflt


def test_a_warm_render_reuses_memory_instead_of_faulting_in_fresh_pages():
    if reason := malloc_left_to_the_environment():
        pytest.skip(reason)
    # 16 channels at 1024 px: 67 MB maps, over glibc's 32 MiB limit for reusing freed blocks (at
    # the default settings each of them is mapped afresh: 16,000 page faults apiece).
    gan_cfg, _ = make_tiny_configs(resolution=1024, channel_base=16 * 1024, channel_max=16)
    torch.manual_seed(0)
    G = Generator(gan_cfg).eval().requires_grad_(False)
    ws = G.broadcast(G.mapping(torch.randn(1, gan_cfg.z_dim)))
    with torch.no_grad():
        # The first render makes what the fast path keeps between renders, so the heap takes its
        # steady layout in the second. Images are dropped, as callers do (they keep uint8 copies).
        G.synthesis(ws, "none")
        G.synthesis(ws, "none")
        faults = minor_page_faults()
        G.synthesis(ws, "none")
        faults = minor_page_faults() - faults
    assert faults < 2000, f"{faults} page faults in a third 1024 px render"


def test_a_chosen_malloc_setting_is_left_alone(monkeypatch):
    monkeypatch.setattr(inference, "_malloc_kept", False)
    monkeypatch.setenv("MALLOC_MMAP_MAX_", "65536")
    calls = []
    monkeypatch.setattr(inference.ctypes, "CDLL", lambda *a: calls.append(a))
    assert inference.keep_freed_memory() is False and calls == []
