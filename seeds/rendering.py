"""The torch side of publishing: a run's generator turned into seed images and morph frames.

Imported only by the publishing job (seeds.services.publish imports it inside the function), never by
the web process. Seeds and frames go through the canonical render of generator.gan.sample (one image
per forward pass, fp32, exact_fp32 on CUDA), so a seed gives the same pixels on every render,
whichever batch of the publication it falls in.
"""
from __future__ import annotations

import numpy as np
import torch

from common.devices import resolve_device
from generator.gan.checkpoint import load_generator
from generator.gan.morph import interpolation_weights, load_w
from generator.gan.sample import render_ws, synthesize, to_uint8


class Renderer:
    """One checkpoint's EMA generator, loaded once for a whole publication."""

    def __init__(self, checkpoint: str, device=None):
        self.device = resolve_device(device)
        self.G = load_generator(checkpoint, self.device)

    def seeds(self, seeds: list[int], *, psi: float, noise_mode: str) -> np.ndarray:
        """uint8 [N, H, W, C] for the seeds (z from np.random.RandomState(seed), as everywhere)."""
        return synthesize(self.G, seeds, psi=psi, noise_mode=noise_mode)

    @torch.no_grad()
    def morph(self, a: int, b: int, *, frames: int, psi: float, noise_mode: str) -> list[np.ndarray]:
        """A straight line in W from seed a to seed b, both ends included (as generator.gan.morph)."""
        w_a, w_b = load_w(self.G, a, psi=psi), load_w(self.G, b, psi=psi)
        # Noise seed 0 in every frame: with random noise only the content moves.
        return [to_uint8(render_ws(self.G, w_a.lerp(w_b, t), noise_mode=noise_mode, noise_seed=0))[0]
                for t in interpolation_weights(frames)]
