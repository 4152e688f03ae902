"""The paper's three training commands, resolved by our recipe and by NVIDIA's train.py.

The CAN paper (github.com/whria78/can, README "3. Training GAN Models") trains with NVIDIA's
StyleGAN3-repository train.py:

    pretrain  --cfg=stylegan2 --gpus=2 --batch=16 --batch-gpu=8 --gamma=8.2 --mirror=1 --map-depth=2
              --glr=0.003 --dlr=0.003 --resume=ffhq512.pkl --kimg=10000 --snap=10        (LESION130k)
    m500/n500 --cfg=stylegan2 --gpus=1 --batch=16 --batch-gpu=8 --gamma=32 --mirror=1 --map-depth=2
              --glr=0.003 --dlr=0.003 --resume=c10000.pkl --kimg=500 --snap=1 --freezed=13
    mn500     the same as m500 with --gpus=2 --batch=32                                   (CAN2000, both)

Each golden dict below is what NVIDIA's code resolves for one command, written out by hand in our
field names; every value's comment names the file and line of NVlabs/stylegan3 (commit c233a91)
it was read from. Nothing of NVIDIA's code is copied or run here.
"""

from __future__ import annotations

from dataclasses import asdict

import pytest

from generator.gan.augment import AugmentPipe
from generator.gan.config import get_config
from generator.gan.recipe import adam_settings, resolve

COMMON = {
    "resolution": 512,          # the datasets are 512x512 (dataset_tool.py --resolution=512x512)
    "img_channels": 3,
    "z_dim": 512,               # train.py:190 G_kwargs z_dim=512
    "w_dim": 512,               # train.py:190 G_kwargs w_dim=512
    "mapping_layers": 2,        # train.py:210 num_layers = opts.map_depth (--map-depth=2)
    "mapping_lr_mul": 0.01,     # networks_stylegan2.py:201 MappingNetwork lr_multiplier=0.01
    "w_avg_beta": 0.998,        # networks_stylegan2.py:202 MappingNetwork w_avg_beta=0.998
    "channel_base": 32768,      # train.py:145 --cbase default 32768, train.py:208
    "channel_max": 512,         # train.py:146 --cmax default 512, train.py:209
    "num_classes": 0,           # train.py:135 --cond default False, train.py:201 use_labels = opts.cond
    "mbstd_group": 4,           # train.py:150 --mbstd-group default 4, train.py:212
    "mbstd_channels": 1,        # networks_stylegan2.py:681 mbstd_num_channels=1
    "conv_clamp": 256.0,        # networks_stylegan2.py:373 (G blocks) and :743 (D) conv_clamp=256
    "glr": 0.003,               # train.py:214 --glr=0.003
    "dlr": 0.003,               # train.py:215 --dlr=0.003
    "betas": (0.0, 0.99),       # train.py:192-193 Adam betas=[0,0.99]
    "adam_eps": 1e-8,           # train.py:192-193 Adam eps=1e-8
    "r1_interval": 16,          # training_loop.py:109 D_reg_interval=16
    "pl_weight": 2.0,           # train.py:238 pl_weight = 2 (cfg stylegan2)
    "pl_interval": 4,           # train.py:239 G_reg_interval = 4
    "pl_decay": 0.01,           # loss.py:26 pl_decay=0.01
    "pl_batch_shrink": 2,       # loss.py:26 pl_batch_shrink=2
    "style_mixing": 0.9,        # train.py:237 style_mixing_prob = 0.9
    "mirror": True,             # train.py:202 xflip = opts.mirror (--mirror=1)
    "augment_p": 0.0,           # training_loop.py:110 augment_p=0 (a resume loads G, D, G_ema only: :161)
    "ada_target": 0.6,          # train.py:143 --target default 0.6, train.py:257 (--aug default ada)
    "ada_interval": 4,          # training_loop.py:112 ada_interval=4
    "ada_kimg": 100.0,          # train.py:264 resuming: c.ada_kimg = 100
    "ema_rampup": None,         # train.py:265 resuming: c.ema_rampup = None
    "seed": 0,                  # train.py:158 --seed default 0, train.py:220
}

PRETRAIN = {**COMMON,
            "kimg": 10000.0,                  # train.py:217 total_kimg = opts.kimg (--kimg=10000)
            "batch": 16,                      # train.py:206 batch_size = opts.batch (--batch=16)
            "gamma": 8.2,                     # train.py:213 r1_gamma = opts.gamma (--gamma=8.2)
            "freeze_d": 0,                    # train.py:139 --freezed default 0, train.py:211
            "ema_kimg": 16 * 10 / 32,         # train.py:234 ema_kimg = batch_size * 10 / 32
            "checkpoint_every_kimg": 10 * 4}  # train.py:219 snapshot ticks = --snap=10; :156 --tick default 4 kimg
FINE_TUNE = {**COMMON, "kimg": 500.0, "batch": 16, "gamma": 32.0,
             "freeze_d": 13,                  # train.py:211 freeze_layers = opts.freezed (--freezed=13)
             "ema_kimg": 16 * 10 / 32,        # train.py:234
             "checkpoint_every_kimg": 1 * 4}  # --snap=1 tick of 4 kimg
MORPH = {**FINE_TUNE, "batch": 32, "ema_kimg": 32 * 10 / 32}  # train.py:206, :234

PAPER_NETWORK = asdict(get_config("paper")[0])  # c10000 is the pretrained paper network
# Our flags for each command: `manage.py train_gan --config paper ...` (or the pure command line).
COMMANDS = {
    "pretrain": ({"kimg": 10000, "checkpoint_every_kimg": 40}, None, PRETRAIN),  # --from-checkpoint ffhq512
    "m500/n500": ({"kimg": 500, "gamma": 32, "freeze_d": 13, "checkpoint_every_kimg": 4}, PAPER_NETWORK, FINE_TUNE),
    "mn500": ({"kimg": 500, "gamma": 32, "freeze_d": 13, "checkpoint_every_kimg": 4, "batch": 32},
              PAPER_NETWORK, MORPH),
}


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_the_paper_config_resolves_each_paper_command_as_nvidia_does(command):
    flags, network, golden = COMMANDS[command]
    gan_cfg, train_cfg = resolve("paper", flags, fine_tune=True, network=network)
    ours = {**asdict(gan_cfg), **asdict(train_cfg)}
    differ = {key: (ours.get(key), want) for key, want in golden.items() if ours.get(key) != want}
    assert differ == {}, f"{command}: (ours, NVIDIA's) for {differ}"


@pytest.mark.parametrize("command", sorted(COMMANDS))
def test_lazy_regularisation_scales_adam_as_nvidia_does(command):
    flags, network, _ = COMMANDS[command]
    settings = adam_settings(resolve("paper", flags, fine_tune=True, network=network)[1])
    # training_loop.py:200-203: mb_ratio = interval / (interval + 1); lr * mb_ratio; beta ** mb_ratio.
    g_ratio, d_ratio = 4 / (4 + 1), 16 / (16 + 1)
    assert settings["G"] == {"lr": 0.003 * g_ratio, "betas": (0.0, 0.99 ** g_ratio), "eps": 1e-8}
    assert settings["D"] == {"lr": 0.003 * d_ratio, "betas": (0.0, 0.99 ** d_ratio), "eps": 1e-8}


def test_the_augment_pipe_is_nvidias_bgc_preset():
    # train.py:255: xflip, rotate90, xint, scale, rotate, aniso, xfrac, brightness, contrast, lumaflip,
    # hue, saturation, each with multiplier 1; augment.py:125-126 the strengths below.
    assert AugmentPipe.ops == ("xflip", "rotate90", "xint", "scale", "rotate", "aniso", "xfrac",
                               "brightness", "contrast", "lumaflip", "hue", "saturation")
    pipe = AugmentPipe()
    strengths = {name: getattr(pipe, name) for name in ("xint_max", "scale_std", "rotate_max", "aniso_std",
                                                        "xfrac_std", "brightness_std", "contrast_std",
                                                        "hue_max", "saturation_std")}
    assert strengths == {"xint_max": 0.125, "scale_std": 0.2, "rotate_max": 1.0, "aniso_std": 0.2,
                         "xfrac_std": 0.125, "brightness_std": 0.2, "contrast_std": 0.5, "hue_max": 1.0,
                         "saturation_std": 1.0}


def test_a_run_from_scratch_ramps_the_ema_up_and_keeps_ada_at_500_kimg():
    # training_loop.py:107 ema_rampup=0.05 and :113 ada_kimg=500 when train.py's --resume is not given.
    _, train_cfg = resolve("paper", {})
    assert (train_cfg.ema_rampup, train_cfg.ada_kimg, train_cfg.ema_kimg) == (0.05, 500.0, 5.0)


def test_flags_win_over_the_fine_tune_rule_and_the_ema_follows_the_batch():
    _, train_cfg = resolve("paper", {"ada_kimg": 250.0, "batch": 64}, fine_tune=True)
    assert (train_cfg.ada_kimg, train_cfg.ema_rampup, train_cfg.ema_kimg) == (250.0, None, 20.0)
    _, train_cfg = resolve("paper", {"ema_kimg": 7.5, "batch": 64})
    assert train_cfg.ema_kimg == 7.5


def test_a_fine_tune_keeps_the_network_it_starts_from():
    parent = {**PAPER_NETWORK, "w_avg_beta": 0.995, "num_classes": 2}  # an older run of ours, conditional
    gan_cfg, _ = resolve("paper", {}, fine_tune=True, network=parent)
    assert (gan_cfg.w_avg_beta, gan_cfg.num_classes) == (0.995, 2)


def test_freeze_d_13_freezes_the_512_to_64_px_blocks_as_freezed_13_does():
    import torch

    from generator.gan.networks import Discriminator

    # networks_stylegan2.py:587 trainable = layer_idx >= freeze_layers, counting per block fromrgb (first
    # block only), conv0, conv1, skip from the image on (:592-602): 4 + 3 + 3 + 3 = 13 layers to 64 px.
    gan_cfg, train_cfg = resolve("paper", COMMANDS["m500/n500"][0], fine_tune=True, network=PAPER_NETWORK)
    with torch.device("meta"):
        D = Discriminator(gan_cfg)
    D.freeze(train_cfg.freeze_d)
    frozen = [not any(p.requires_grad for p in block.parameters()) for block in D.blocks]
    trains = [all(p.requires_grad for p in block.parameters()) for block in D.blocks]
    assert frozen == [True, True, True, True, False, False, False]  # 512, 256, 128, 64 | 32, 16, 8 px
    assert trains == [not f for f in frozen]
