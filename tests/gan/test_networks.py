"""Shapes and parameter counts of the networks, freezing, truncation."""

from __future__ import annotations

import pytest
import torch

from generator.gan.config import get_config
from generator.gan.networks import Discriminator, Generator, count_parameters

from .helpers import make_tiny_configs


def reference_stylegan2_counts(res=512, mapping_layers=2, z_dim=512, w_dim=512, channel_base=32768,
                               channel_max=512, img_channels=3):
    """Parameter counts of the published StyleGAN2 architecture ("stylegan2" / config F), layer by layer.

    channels(r) = min(channel_base / r, channel_max): 512 for 4-64 px, 256 at 128, 128 at 256, 64 at 512.
    Mapping: FC layers z_dim->w_dim, then w_dim->w_dim, each weight + bias.
    Synthesis layer (cin->cout, 3x3): affine w_dim->cin (weight + bias) + conv cout*cin*9 + bias cout
        + 1 noise strength. toRGB (cin): affine w_dim->cin + 1x1 conv 3*cin + bias 3.
    Synthesis: 4x4 constant (512*4*4) + layer(512, 512) + toRGB; then per resolution 8..res:
        upsampling layer(ch(r/2), ch(r)) + layer(ch(r), ch(r)) + toRGB(ch(r)). Filters are not parameters.
    D (resnet): fromRGB 1x1 (3 -> ch(res)) + bias; per resolution res..8: conv0 3x3 ch(r)->ch(r) + bias,
        conv1 3x3 ch(r)->ch(r/2) + bias, skip 1x1 ch(r)->ch(r/2) without bias; epilogue: 3x3 conv
        (512 + 1 mbstd channel -> 512) + bias, FC 512*4*4 -> 512 + bias, output FC 512 -> 1 + bias.
    At 512 px with a depth-2 mapping: mapping 525,312; G 28,700,647; D 28,982,849. (Each mapping FC,
    512*512 + 512 = 262,656, is also the figure the reference's layer summary prints for Dense0..7.)
    """
    ch = lambda r: min(channel_base // r, channel_max)  # noqa: E731
    mapping = sum((z_dim if i == 0 else w_dim) * w_dim + w_dim for i in range(mapping_layers))
    layer = lambda cin, cout: (w_dim * cin + cin) + cout * cin * 9 + cout + 1  # noqa: E731
    torgb = lambda cin: (w_dim * cin + cin) + img_channels * cin + img_channels  # noqa: E731
    synthesis = ch(4) * 16 + layer(ch(4), ch(4)) + torgb(ch(4))
    resolutions = [2**i for i in range(3, res.bit_length())]
    synthesis += sum(layer(ch(r // 2), ch(r)) + layer(ch(r), ch(r)) + torgb(ch(r)) for r in resolutions)
    d = img_channels * ch(res) + ch(res)
    d += sum(ch(r) * ch(r) * 9 + ch(r) + ch(r) * ch(r // 2) * 9 + ch(r // 2) + ch(r) * ch(r // 2)
             for r in resolutions)
    d += (ch(4) + 1) * ch(4) * 9 + ch(4) + ch(4) * 16 * ch(4) + ch(4) + ch(4) + 1
    return {"mapping": mapping, "G": mapping + synthesis, "D": d}


def test_paper_networks_have_the_reference_stylegan2_parameter_counts():
    gan_cfg, _ = get_config("paper")
    with torch.device("meta"):  # no memory, no time: only shapes
        G, D = Generator(gan_cfg), Discriminator(gan_cfg)
    reference = reference_stylegan2_counts()
    assert count_parameters(G.mapping) == reference["mapping"] == 525_312
    assert count_parameters(G) == reference["G"] == 28_700_647
    assert count_parameters(D) == reference["D"] == 28_982_849


def test_paper_generator_makes_512px_images_that_the_discriminator_scores():
    gan_cfg, _ = get_config("paper")
    with torch.device("meta"):
        G, D = Generator(gan_cfg), Discriminator(gan_cfg)
        images = G(torch.randn(2, 512))
        logits = D(images)
    assert gan_cfg.num_ws == 16
    assert images.shape == (2, 3, 512, 512)
    assert logits.shape == (2, 1)


def test_freezing_13_paper_discriminator_layers_freezes_the_512_to_64px_blocks():
    gan_cfg, _ = get_config("paper")
    with torch.device("meta"):
        D = Discriminator(gan_cfg)
    D.freeze(13)
    frozen_blocks = [i for i, b in enumerate(D.blocks) if not any(p.requires_grad for p in b.parameters())]
    assert len(D.layers()) == 25
    assert frozen_blocks == [0, 1, 2, 3]  # 512, 256, 128, 64 px: 1 fromRGB + 4 x (conv0, conv1, skip)
    assert all(p.requires_grad for b in D.blocks[4:] for p in b.parameters())
    with pytest.raises(ValueError, match="freeze_d"):
        D.freeze(26)


def test_a_conditional_generator_and_discriminator_use_the_class():
    gan_cfg, _ = make_tiny_configs(num_classes=3)
    torch.manual_seed(0)
    G, D = Generator(gan_cfg), Discriminator(gan_cfg)
    z = torch.randn(2, gan_cfg.z_dim)
    a = G(z, torch.tensor([0, 0]), noise_mode="const")
    b = G(z, torch.tensor([1, 1]), noise_mode="const")
    assert not torch.allclose(a, b)
    assert D(a, torch.tensor([0, 1])).shape == (2, 1)
    with pytest.raises(ValueError, match="c:"):
        G(z)


def test_truncation_with_psi_zero_gives_the_tracked_average_w():
    gan_cfg, _ = make_tiny_configs()
    G = Generator(gan_cfg)
    G.mapping(torch.randn(64, gan_cfg.z_dim), update_w_avg=True)
    assert G.mapping.w_avg.abs().sum() > 0
    w = G.mapping(torch.randn(3, gan_cfg.z_dim), psi=0.0)
    assert torch.allclose(w, G.mapping.w_avg.expand(3, -1))
