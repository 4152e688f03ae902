"""The canonical render: a seed is one image whatever the batch size, batch neighbours or thread count.

Floats are compared before quantisation (torch.equal), not only the PNG bytes: on a CPU where a
batched convolution rounds differently from a single one, a few float ulps change long before a
uint8 level does, so comparing bytes alone would pass here and fail on the next machine.
"""

from __future__ import annotations

import itertools
from dataclasses import asdict

import numpy as np
import pytest
import torch
from PIL import Image

from generator.gan.checkpoint import save_checkpoint
from generator.gan.networks import Generator
from generator.gan.sample import generate_images, render_seeds, render_ws, synthesize, to_uint8

from .helpers import make_tiny_configs

SEEDS = list(range(16))
BATCH_SIZES = (1, 3, 7, 16)
THREADS = (1, 2)


def make_lively_generator(num_classes: int) -> Generator:
    """A random 32 px generator whose noise strengths, biases and w_avg are not zero, so that the
    three noise modes and psi really change the picture (a fresh network starts them at 0)."""
    gan_cfg, _ = make_tiny_configs(resolution=32, num_classes=num_classes)
    torch.manual_seed(num_classes)
    G = Generator(gan_cfg)
    with torch.no_grad():
        for name, p in G.named_parameters():
            if name.endswith(("noise_strength", ".bias")):
                p.copy_(torch.randn_like(p) * 0.3)
        G.mapping.w_avg.copy_(torch.randn_like(G.mapping.w_avg))
    return G.eval().requires_grad_(False)


@pytest.fixture(scope="module", params=[0, 2], ids=["unconditional", "two-classes"])
def generator(request, tmp_path_factory):
    G = make_lively_generator(request.param)
    ckpt = tmp_path_factory.mktemp("ckpt") / "checkpoint.pt"
    save_checkpoint(ckpt, {"gan_config": asdict(G.cfg), "G_ema": G.state_dict()})
    return {"G": G, "checkpoint": ckpt, "class_idx": 1 if request.param else None}


def chunks(seeds: list[int], size: int) -> list[list[int]]:
    return [seeds[i:i + size] for i in range(0, len(seeds), size)]


def with_threads(count: int, fn):
    before = torch.get_num_threads()
    torch.set_num_threads(count)
    try:
        return fn()
    finally:
        torch.set_num_threads(before)


@pytest.mark.parametrize("noise_mode", ["const", "random", "none"])
def test_a_seed_renders_the_same_floats_and_bytes_in_any_batch_and_thread_count(generator, noise_mode):
    G, class_idx = generator["G"], generator["class_idx"]
    kw = dict(psi=0.7, noise_mode=noise_mode, class_idx=class_idx)
    reference = with_threads(1, lambda: render_seeds(G, SEEDS, **kw))
    for size, threads in itertools.product(BATCH_SIZES, THREADS):
        floats = with_threads(threads, lambda size=size: torch.cat([render_seeds(G, c, **kw)
                                                                    for c in chunks(SEEDS, size)]))
        assert torch.equal(floats, reference), f"floats differ at batch {size}, {threads} threads"
    reference_bytes = to_uint8(reference)
    for size, threads in ((7, 2), (16, 1)):  # the bytes, through synthesize (generate_images: below)
        images = with_threads(threads, lambda size=size: np.concatenate([synthesize(G, c, **kw)
                                                                         for c in chunks(SEEDS, size)]))
        assert np.array_equal(images, reference_bytes), f"bytes differ at batch {size}, {threads} threads"
    assert len({img.tobytes() for img in reference_bytes}) == len(SEEDS)  # 16 different pictures


def test_the_noise_modes_and_classes_are_really_different_pictures(generator):
    G, class_idx = generator["G"], generator["class_idx"]
    const, random, none = (render_seeds(G, [3], noise_mode=m, class_idx=class_idx) for m in ("const", "random", "none"))
    assert not torch.equal(const, random) and not torch.equal(const, none) and not torch.equal(random, none)
    if class_idx is not None:
        assert not torch.equal(render_seeds(G, [3], class_idx=0), render_seeds(G, [3], class_idx=1))


@pytest.mark.parametrize("batch_size", BATCH_SIZES)
def test_generate_images_writes_the_same_files_at_every_batch_size(generator, tmp_path, batch_size):
    kw = dict(psi=0.7, noise_mode="const", class_idx=generator["class_idx"], device="cpu")
    expected = synthesize(generator["G"], SEEDS, psi=0.7, class_idx=generator["class_idx"])
    threads = THREADS[batch_size % 2]  # odd sizes on 2 threads, 16 on 1; the reference on the other
    paths = with_threads(threads, lambda: generate_images(generator["checkpoint"], SEEDS, tmp_path / "out",
                                                          batch_size=batch_size, **kw))
    reference = with_threads(THREADS[1 - batch_size % 2], lambda: generate_images(
        generator["checkpoint"], SEEDS, tmp_path / "ref", batch_size=1, **kw))
    assert [p.read_bytes() for p in paths] == [p.read_bytes() for p in reference]
    assert np.array_equal(np.stack([np.asarray(Image.open(p)) for p in paths]), expected)


def test_the_canonical_render_refuses_a_batch_of_styles(generator):
    G = generator["G"]
    with pytest.raises(ValueError, match="one image"):
        render_ws(G, torch.zeros(2, G.cfg.num_ws, G.cfg.w_dim))


def test_the_canonical_render_leaves_the_callers_rng_and_autograd_alone(generator):
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    image = render_seeds(generator["G"], [5], noise_mode="random", class_idx=generator["class_idx"])
    assert torch.equal(torch.rand(3), expected) and not image.requires_grad and image.dtype == torch.float32
