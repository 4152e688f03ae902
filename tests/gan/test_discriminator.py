"""The discriminator computes what the reference StyleGAN2 discriminator computes (d_architecture 2),
checked against numbers derived by hand and against an independent NumPy implementation written
here from the paper's description; v1 checkpoints still load into the old code path."""

from __future__ import annotations

import math
from dataclasses import asdict, replace

import numpy as np
import pytest
import torch

from generator.gan.checkpoint import load_discriminator, save_checkpoint
from generator.gan.config import gan_config_from_dict, get_config
from generator.gan.networks import Discriminator, EqualConv2d, Generator

from .helpers import make_tiny_configs

SQRT2, SQRT_HALF = math.sqrt(2.0), math.sqrt(0.5)
BLUR_1D = np.array([1.0, 3.0, 3.0, 1.0]) / 8.0


def make_d_config(**overrides):
    """8 px, 8 channels, 2 classes, a 2-layer class mapping: every code path, small enough for NumPy."""
    values = dict(resolution=8, channel_max=8, z_dim=8, w_dim=8, num_classes=2, d_mapping_layers=2,
                  mbstd_group=2)
    values.update(overrides)
    return make_tiny_configs(**values)[0]


# ---- hand-derived numbers ---------------------------------------------------------------------

def test_the_downsampling_conv_blurs_the_full_map_and_convolves_with_stride_2():
    # Ones in, ones as weights, 1 channel, 3x3 (weight gain 1/3). Blurring the 4x4 map with 2 pixels
    # of zero padding gives, per axis, [4, 7, 8, 7, 4] / 8; each stride-2 window sums three of those
    # per axis, (4 + 7 + 8) / 8 = 2.375, so every output is 2.375^2 / 3 = 1.8802083.
    conv = EqualConv2d(1, 1, 3, bias=False, down="stride")
    conv.weight.data.fill_(1.0)
    out = conv(torch.ones(1, 1, 4, 4))
    assert out.shape == (1, 1, 2, 2)
    assert torch.allclose(out, torch.full((1, 1, 2, 2), 2.375**2 / 3), atol=1e-6)


def test_the_v1_downsampling_conv_halved_first_and_gave_other_numbers():
    # Halving first gives a 2x2 map of (7/8)^2; a padded 3x3 conv then sums 4 of them: 4 * 0.765625 / 3.
    conv = EqualConv2d(1, 1, 3, bias=False, down="half")
    conv.weight.data.fill_(1.0)
    out = conv(torch.ones(1, 1, 4, 4))
    assert torch.allclose(out, torch.full((1, 1, 2, 2), 4 * 0.765625 / 3), atol=1e-6)


def test_the_clamp_scales_with_the_gain_of_a_residual_branch():
    conv = EqualConv2d(1, 1, 1, bias=False, activate=True, clamp=1.0)
    conv.weight.data.fill_(3.0)  # 1x1, gain 1: out = lrelu(3 * x) * sqrt 2
    out = conv(torch.tensor([[[[0.1, 1.0]]]]), gain=SQRT_HALF)
    # 0.3 * sqrt2 * sqrt(1/2) = 0.3 stays; 3 * sqrt2 * sqrt(1/2) = 3 is clamped to 1 * sqrt(1/2).
    assert torch.allclose(out.flatten(), torch.tensor([0.3, SQRT_HALF]), atol=1e-6)


# ---- an independent NumPy discriminator --------------------------------------------------------

def np_conv(x, w, *, pad=0, stride=1):
    """Cross-correlation of x [N, C, H, W] with w [O, C, k, k]."""
    k = w.shape[-1]
    x = np.pad(x, ((0, 0), (0, 0), (pad, pad), (pad, pad)))
    h = (x.shape[2] - k) // stride + 1
    out = np.zeros((x.shape[0], w.shape[0], h, h))
    for i in range(k):
        for j in range(k):
            patch = x[:, :, i:i + stride * h:stride, j:j + stride * h:stride]
            out += np.einsum("nchw,oc->nohw", patch, w[:, :, i, j])
    return out


def np_blur(x, pad):
    k = np.outer(BLUR_1D, BLUR_1D)
    c = x.shape[1]
    w = np.zeros((c, c, 4, 4))
    w[np.arange(c), np.arange(c)] = k
    return np_conv(x, w, pad=pad)


def np_lrelu(x):
    return np.where(x > 0, x, 0.2 * x) * SQRT2


def np_layer(x, p, name, *, act=True, down=False, gain=1.0, clamp=None):
    w = p[f"{name}.weight"]
    w = w * (1.0 / math.sqrt(w[0].size))
    if down and w.shape[-1] == 3:
        y = np_conv(np_blur(x, 2), w, stride=2)
    elif down:
        y = np_conv(np_blur(x, 1)[:, :, ::2, ::2], w)
    else:
        y = np_conv(x, w, pad=w.shape[-1] // 2)
    if f"{name}.bias" in p:
        y = y + p[f"{name}.bias"][None, :, None, None]
    y = (np_lrelu(y) if act else y) * gain
    return y if clamp is None else np.clip(y, -clamp * gain, clamp * gain)


def np_fc(x, p, name, *, lr_mul=1.0, act=False):
    w = p[f"{name}.weight"]
    y = x @ (w * lr_mul / math.sqrt(w.shape[1])).T + p[f"{name}.bias"] * lr_mul
    return np_lrelu(y) if act else y


def np_discriminator(p, cfg, img, c):
    clamp, x = cfg.conv_clamp, None
    for i in range(cfg.log2_res - 2):
        b = f"blocks.{i}"
        if x is None:
            x = np_layer(img, p, f"{b}.fromrgb", clamp=clamp)
        skip = np_layer(x, p, f"{b}.skip", act=False, down=True, gain=SQRT_HALF)  # the skip is never clamped
        x = np_layer(np_layer(x, p, f"{b}.conv0", clamp=clamp), p, f"{b}.conv1", down=True, gain=SQRT_HALF,
                     clamp=clamp)
        x = skip + x
    n, g = x.shape[0], min(cfg.mbstd_group, x.shape[0])
    grouped = x.reshape(g, n // g, *x.shape[1:])
    std = np.sqrt(grouped.var(axis=0) + 1e-8).mean(axis=(1, 2, 3))  # [n / g]
    x = np.concatenate([x, np.tile(std, g)[:, None, None, None] * np.ones((n, 1, 4, 4))], axis=1)
    x = np_fc(np_layer(x, p, "conv", clamp=clamp).reshape(n, -1), p, "fc", act=True)
    x = np_fc(x, p, "out")
    y = np_fc(np.eye(cfg.num_classes)[c], p, "mapping.embed")
    y = y / np.sqrt((y**2).mean(axis=1, keepdims=True) + 1e-8)
    for i in range(cfg.d_mapping_layers):
        y = np_fc(y, p, f"mapping.layers.{i}", lr_mul=cfg.mapping_lr_mul, act=True)
    return (x * y).sum(axis=1, keepdims=True) / math.sqrt(y.shape[1])


def make_weights(D, seed=0):
    """Random weights and biases (biases too, so that a wrong bias path shows); the class mapping's
    stored values are 1 / lr_mul larger, as in training, so that its output is not negligible."""
    gen = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, tensor in D.state_dict().items():
            scale = 0.5 / (D.cfg.mapping_lr_mul if name.startswith("mapping.layers") else 1.0)
            tensor.copy_(torch.randn(tensor.shape, generator=gen) * scale)
    return {k: v.double().numpy() for k, v in D.state_dict().items()}


@pytest.mark.parametrize("conv_clamp", [None, 0.5])
def test_the_conditional_discriminator_matches_an_independent_numpy_implementation(conv_clamp):
    cfg = make_d_config(conv_clamp=conv_clamp)
    D = Discriminator(cfg)
    params = make_weights(D)
    img = np.random.RandomState(1).randn(4, 3, 8, 8)
    c = np.array([0, 1, 1, 0])
    expected = np_discriminator(params, cfg, img, c)
    got = D(torch.from_numpy(img).float(), torch.from_numpy(c)).detach().double().numpy()
    assert np.abs(expected).max() > 0.1  # a real signal, not everything clamped to zero
    np.testing.assert_allclose(got, expected, rtol=1e-4, atol=1e-4)


def test_the_clamp_changes_the_logits_when_activations_exceed_it():
    cfg = make_d_config()
    D, D_clamped = Discriminator(cfg), Discriminator(replace(cfg, conv_clamp=0.5))
    make_weights(D)
    D_clamped.load_state_dict(D.state_dict())
    img, c = torch.randn(2, 3, 8, 8), torch.tensor([0, 1])
    assert not torch.allclose(D(img, c), D_clamped(img, c))


def test_the_paper_config_clamps_at_256_and_tiny_does_not():
    assert get_config("paper")[0].conv_clamp == 256
    assert get_config("tiny")[0].conv_clamp is None


# ---- freezing ------------------------------------------------------------------------------------

def test_freezing_counts_block_layers_only_and_never_freezes_the_epilogue_or_class_mapping():
    gan_cfg, _ = get_config("paper", num_classes=2)
    with torch.device("meta"):
        D = Discriminator(gan_cfg)
    assert len(D.block_layers()) == 22  # 1 fromRGB + 7 blocks x (conv0, conv1, skip)
    D.freeze(22)
    assert not any(p.requires_grad for p in D.blocks.parameters())
    for module in (D.conv, D.fc, D.out, D.mapping):
        assert all(p.requires_grad for p in module.parameters())
    with pytest.raises(ValueError, match=r"freeze_d: must be in \[0, 22\]"):
        D.freeze(23)


# ---- old checkpoints ---------------------------------------------------------------------------

def test_a_config_without_a_discriminator_version_is_v1_and_new_configs_are_v2():
    cfg = make_d_config()
    old = {k: v for k, v in asdict(cfg).items() if k not in ("d_architecture", "conv_clamp", "d_mapping_layers")}
    assert cfg.d_architecture == 2
    assert gan_config_from_dict(old).d_architecture == 1


def test_a_v1_checkpoint_loads_into_the_old_discriminator_and_scores_as_before(tmp_path):
    v1 = replace(make_d_config(), d_architecture=1)
    D_old = Discriminator(v1)
    make_weights(D_old)
    img, c = torch.randn(4, 3, 8, 8), torch.tensor([0, 1, 0, 1])
    before = D_old(img, c)
    old_config = {k: v for k, v in asdict(v1).items() if k not in ("d_architecture", "d_mapping_layers")}
    path = save_checkpoint(tmp_path / "old.pt", {"gan_config": old_config, "D": D_old.state_dict()})
    D_loaded = load_discriminator(path)
    assert D_loaded.cfg.d_architecture == 1
    assert torch.equal(D_loaded(img, c), before)
    # The same weights in the reference architecture are a different function (what v2 fixed).
    D_new = Discriminator(replace(v1, d_architecture=2))
    D_new.load_state_dict({k: v for k, v in D_old.state_dict().items() if not k.startswith("embed")},
                          strict=False)
    assert not torch.allclose(D_new(img, c), before, atol=1e-3)


def test_a_run_checkpointed_before_the_discriminator_version_existed_resumes_on_the_old_one(tmp_path):
    from generator.gan.checkpoint import latest_checkpoint, load_checkpoint
    from generator.gan.train import train

    from .helpers import make_solid_colour_dataset

    data = make_solid_colour_dataset(tmp_path / "data", count=8)
    gan_cfg, train_cfg = make_tiny_configs(kimg=0.008, ada_target=None, checkpoint_every_kimg=0.008,
                                           d_architecture=1)
    train(train_cfg, gan_cfg, data, tmp_path / "run", device="cpu")
    # Rewrite the checkpoint as the code before this change wrote it: no version, no new fields.
    path = latest_checkpoint(tmp_path / "run")
    ckpt = dict(load_checkpoint(path))
    old = {k: v for k, v in ckpt["gan_config"].items() if k not in ("d_architecture", "conv_clamp", "d_mapping_layers")}
    save_checkpoint(path, {**ckpt, "gan_config": old})  # atomic: the old file stays mapped until replaced
    old_cfg = gan_config_from_dict(old)  # what a run row written back then rebuilds
    result = train(replace(train_cfg, kimg=0.016), old_cfg, data, tmp_path / "run", resume_from=path, device="cpu")
    assert result["status"] == "done" and result["kimg"] >= 0.016
    assert load_discriminator(latest_checkpoint(tmp_path / "run")).cfg.d_architecture == 1


def test_the_generator_clamps_its_layers_too_when_the_config_says_so():
    # The reference clamps the synthesis layers and toRGB as well; the 4 px image is one toRGB output.
    cfg = replace(make_d_config(num_classes=0, conv_clamp=1e-3), resolution=8)
    G = Generator(cfg)
    ws = G.broadcast(G.mapping(torch.randn(2, cfg.z_dim)))
    _, img = G.synthesis.blocks[0](None, None, ws[:, :2], "const")
    assert img.abs().max() <= 1e-3 + 1e-9
    G_free = Generator(replace(cfg, conv_clamp=None))
    G_free.load_state_dict(G.state_dict())
    assert G_free.synthesis.blocks[0](None, None, ws[:, :2], "const")[1].abs().max() > 1e-3
