"""The training recipe: what a named config plus flags resolve to, in one pure function.

NVIDIA's `train.py --cfg=stylegan2 ... --resume=X.pkl` turns its flags into training options;
`resolve` does the same for ours. `manage.py train_gan --dry-run` and the pure command line's
`--dry-run` print its result (as stored in the run), and tests/gan/test_recipe.py compares the CAN
paper's three commands with what NVIDIA's code resolves, option for option.

    gan_cfg, train_cfg = resolve("paper", {"gamma": 32.0, "kimg": 500, "freeze_d": 13}, fine_tune=True)

The rules, each later one winning over the earlier:
1. the named config (config.CONFIGS);
2. for a fine-tune, the network it starts from (shape, classes, discriminator version, w_avg_beta);
3. for a fine-tune, NVIDIA's `--resume` rule: ADA reacts within 100 kimg, the EMA does not ramp up
   (the weights are trained already; a ramp-up would let the EMA forget them within a few steps);
4. the flags given;
5. derived values: `ema_kimg` None becomes batch * 10 / 32, so a stored run holds the number.

"Fine-tune" here is NVIDIA's sense of `--resume`: a NEW run from another run's weights. Continuing
an interrupted run restores its stored config and resolves nothing.
"""

from __future__ import annotations

from dataclasses import replace

from .config import GANConfig, TrainConfig, get_config

# NVIDIA train.py, `if opts.resume is not None:` -> c.ada_kimg = 100, c.ema_rampup = None.
FINE_TUNE = {"ada_kimg": 100.0, "ema_rampup": None}


def resolve(config_name: str, overrides: dict | None = None, *, fine_tune: bool = False,
            network: dict | None = None) -> tuple[GANConfig, TrainConfig]:
    """Validated (GANConfig, TrainConfig) for a run; flags whose value is None are not given.

    network: the GANConfig fields of the weights a fine-tune starts from (rule 2).
    Raises config.ConfigError naming the field.
    """
    flags = {key: value for key, value in (overrides or {}).items() if value is not None}
    values = {**(network or {}), **(FINE_TUNE if fine_tune else {}), **flags}
    gan_cfg, train_cfg = get_config(config_name, **values)
    return gan_cfg, with_derived(train_cfg)


def with_derived(train_cfg: TrainConfig) -> TrainConfig:
    """The config with its derived values written in (rule 5)."""
    return replace(train_cfg, ema_kimg=train_cfg.ema_half_life_kimg).validate()


def adam_settings(train_cfg: TrainConfig) -> dict:
    """{"G": {lr, betas, eps}, "D": {...}}: the Adam settings after lazy-regularisation scaling.

    A network whose regulariser runs every k steps takes one extra optimizer step every k steps, so
    lr and betas are scaled by k / (k + 1) (NVIDIA's `mb_ratio`). A regulariser that is off
    (pl_weight 0, gamma 0) takes no extra steps and scales nothing.
    """
    cfg = train_cfg
    settings = {}
    for name, lr, interval, active in (("G", cfg.glr, cfg.pl_interval, cfg.pl_weight > 0),
                                       ("D", cfg.dlr, cfg.r1_interval, cfg.gamma > 0)):
        ratio = interval / (interval + 1) if active and interval > 1 else 1.0
        settings[name] = {"lr": lr * ratio, "betas": tuple(b ** ratio for b in cfg.betas), "eps": cfg.adam_eps}
    return settings


__all__ = ["FINE_TUNE", "adam_settings", "resolve", "with_derived"]
