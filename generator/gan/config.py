"""Configuration dataclasses for our StyleGAN2-ADA.

Two dataclasses: `GANConfig` describes the networks (it travels inside every
checkpoint, so a checkpoint rebuilds its own networks) and `TrainConfig`
describes one training run. Named configs live in `CONFIGS`:

    tiny   32 px, narrow; trains on a laptop CPU in minutes (tests, `make demo`)
    paper  512 px, StyleGAN2 "stylegan2" config with a mapping network of depth 2,
           gamma 8.2, batch 16, glr = dlr = 0.003, mirror, activations clamped to +-256
           (the CAN pretraining run; `recipe.py` resolves it option for option as NVIDIA's
           train.py resolves the paper's commands)

    >>> gan_cfg, train_cfg = get_config("paper", gamma=32.0, freeze_d=13, kimg=500)

Overrides are routed by field name to whichever dataclass owns the field. A config with
`ema_kimg=None` takes NVIDIA's rule, batch * 10 / 32; `recipe.resolve` writes the number in.
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, fields, replace

from common.seeds import SEED_LIMIT

MIXED_PRECISION_CHOICES = ("auto", "on", "off")
D_ARCHITECTURES = (1, 2)


class ConfigError(ValueError):
    """A config value is invalid; the message starts with the field name."""


@dataclass(frozen=True)
class GANConfig:
    resolution: int = 32  # output side in pixels, a power of two >= 8
    img_channels: int = 3
    z_dim: int = 512
    w_dim: int = 512
    mapping_layers: int = 8
    mapping_lr_mul: float = 0.01  # the paper slows the mapping network 100x
    channel_base: int = 32768  # channels at resolution r: min(channel_base // r, channel_max)
    channel_max: int = 512
    num_classes: int = 0  # 0 = unconditional
    mbstd_group: int = 4  # minibatch standard deviation group size
    mbstd_channels: int = 1
    # Decay of the tracked w average used for truncation: the reference's 0.998. Configs stored before
    # this default changed carry their own 0.995, so their networks and truncated images are unchanged.
    w_avg_beta: float = 0.998
    # Activations of every convolution are clamped to +-conv_clamp (None = never), as the reference
    # does in its mixed-precision configuration; it keeps float16/bfloat16 from overflowing.
    conv_clamp: float | None = None
    # 2: the reference StyleGAN2 discriminator (stride-2 downsampling convolutions, a mapping
    # network for the class). 1: ours before that fix; checkpoints without the field are v1.
    d_architecture: int = 2
    d_mapping_layers: int = 8  # depth of the discriminator's class mapping network (v2, conditional)

    def channels(self, res: int) -> int:
        return min(self.channel_base // res, self.channel_max)

    @property
    def log2_res(self) -> int:
        return int(math.log2(self.resolution))

    @property
    def num_ws(self) -> int:
        """Style vectors the synthesis network consumes: 2 per block, 1 for the first and the last toRGB."""
        return 2 * self.log2_res - 2

    def validate(self) -> GANConfig:
        if self.resolution < 8 or self.resolution & (self.resolution - 1):
            raise ConfigError(f"resolution: must be a power of two >= 8, got {self.resolution}")
        for name in ("img_channels", "z_dim", "w_dim", "mapping_layers", "channel_base",
                     "channel_max", "mbstd_group"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be >= 1, got {getattr(self, name)}")
        if self.num_classes < 0:
            raise ConfigError(f"num_classes: must be >= 0 (0 = unconditional), got {self.num_classes}")
        if self.mbstd_channels < 0:
            raise ConfigError(f"mbstd_channels: must be >= 0, got {self.mbstd_channels}")
        if not 0.0 < self.mapping_lr_mul <= 1.0:
            raise ConfigError(f"mapping_lr_mul: must be in (0, 1], got {self.mapping_lr_mul}")
        if not 0.0 <= self.w_avg_beta < 1.0:
            raise ConfigError(f"w_avg_beta: must be in [0, 1), got {self.w_avg_beta}")
        if self.conv_clamp is not None and not self.conv_clamp > 0:
            raise ConfigError(f"conv_clamp: must be > 0 or None (no clamp), got {self.conv_clamp}")
        if self.d_architecture not in D_ARCHITECTURES:
            raise ConfigError(f"d_architecture: must be one of {D_ARCHITECTURES}, got {self.d_architecture}")
        if self.d_mapping_layers < 1:
            raise ConfigError(f"d_mapping_layers: must be >= 1, got {self.d_mapping_layers}")
        if self.channels(self.resolution) < 1:
            raise ConfigError(f"channel_base: {self.channel_base} gives no channels at {self.resolution} px")
        return self


@dataclass(frozen=True)
class TrainConfig:
    kimg: float = 25.0  # train until this many thousand real images were shown (fractions allowed)
    batch: int = 16  # global batch, split evenly across GPUs
    glr: float = 0.0025
    dlr: float = 0.0025
    betas: tuple[float, float] = (0.0, 0.99)
    adam_eps: float = 1e-8
    gamma: float = 10.0  # R1 weight
    r1_interval: int = 16  # lazy R1: every N discriminator steps
    pl_weight: float = 0.0  # path length regularisation weight; 0 switches it off
    pl_interval: int = 4
    pl_decay: float = 0.01
    pl_batch_shrink: int = 2  # path length runs on batch // pl_batch_shrink samples: a rough estimate suffices
    style_mixing: float = 0.0  # probability of mixing two w's in a training sample
    ema_kimg: float | None = 10.0  # half-life of the generator EMA in kimg; None = batch * 10 / 32 (NVIDIA)
    ema_rampup: float | None = None  # EMA half-life is at most ema_rampup * images seen (None = off)
    mirror: bool = False  # x-flipped copies of the data double the dataset
    augment_p: float = 0.0  # initial ADA probability
    ada_target: float | None = 0.6  # r_t target; None keeps augment_p fixed
    ada_interval: int = 4  # adjust p every N steps
    ada_kimg: float = 500.0  # p can move from 0 to 1 within this many kimg
    checkpoint_every_kimg: float = 50.0
    report_every: int = 10  # call progress_fn every N steps
    freeze_d: int = 0  # first N discriminator layers frozen (see Discriminator.layers())
    seed: int = 0
    grid_seeds: tuple[int, ...] = tuple(range(16))
    mixed_precision: str = "auto"  # auto = bf16 autocast on CUDA, fp32 on CPU
    num_workers: int = 2  # data loader processes per GPU (0 = load in the training process)

    def validate(self) -> TrainConfig:
        if not self.kimg > 0:
            raise ConfigError(f"kimg: must be > 0, got {self.kimg}")
        for name in ("batch", "r1_interval", "pl_interval", "pl_batch_shrink", "ada_interval", "report_every"):
            if getattr(self, name) < 1:
                raise ConfigError(f"{name}: must be >= 1, got {getattr(self, name)}")
        for name in ("glr", "dlr", "adam_eps", "ada_kimg", "checkpoint_every_kimg"):
            if not getattr(self, name) > 0:
                raise ConfigError(f"{name}: must be > 0, got {getattr(self, name)}")
        if self.ema_kimg is not None and not self.ema_kimg > 0:
            raise ConfigError(f"ema_kimg: must be > 0 or None (batch * 10 / 32), got {self.ema_kimg}")
        if self.ema_rampup is not None and not self.ema_rampup > 0:
            raise ConfigError(f"ema_rampup: must be > 0 or None (no ramp-up), got {self.ema_rampup}")
        for name in ("gamma", "pl_weight", "freeze_d", "num_workers"):
            if getattr(self, name) < 0:
                raise ConfigError(f"{name}: must be >= 0, got {getattr(self, name)}")
        for name in ("style_mixing", "augment_p", "pl_decay"):
            if not 0.0 <= getattr(self, name) <= 1.0:
                raise ConfigError(f"{name}: must be in [0, 1], got {getattr(self, name)}")
        if self.ada_target is not None and not 0.0 < self.ada_target < 1.0:
            raise ConfigError(f"ada_target: must be in (0, 1) or None, got {self.ada_target}")
        if len(self.betas) != 2 or not all(0.0 <= b < 1.0 for b in self.betas):
            raise ConfigError(f"betas: must be two values in [0, 1), got {self.betas}")
        if self.mixed_precision not in MIXED_PRECISION_CHOICES:
            raise ConfigError(f"mixed_precision: must be one of {MIXED_PRECISION_CHOICES}, "
                              f"got {self.mixed_precision!r}")
        if not self.grid_seeds or any(not 0 <= s < SEED_LIMIT for s in self.grid_seeds):
            raise ConfigError("grid_seeds: need at least one seed, each in [0, 2**32)")
        return self

    @property
    def ema_half_life_kimg(self) -> float:
        """ema_kimg, or NVIDIA's batch * 10 / 32 when it is None (train.py: `c.ema_kimg`)."""
        return self.batch * 10 / 32 if self.ema_kimg is None else self.ema_kimg


CONFIGS: dict[str, tuple[GANConfig, TrainConfig]] = {
    "tiny": (
        GANConfig(resolution=32, z_dim=64, w_dim=64, mapping_layers=2, channel_base=1024,
                  channel_max=64),
        TrainConfig(kimg=20.0, batch=8, glr=0.002, dlr=0.002, gamma=0.5, r1_interval=4,
                    ema_kimg=1.0, ema_rampup=0.05, ada_kimg=5.0, checkpoint_every_kimg=5.0,
                    mirror=True, num_workers=0, grid_seeds=tuple(range(16))),
    ),
    "paper": (
        GANConfig(resolution=512, z_dim=512, w_dim=512, mapping_layers=2, channel_base=32768,
                  channel_max=512, conv_clamp=256.0),
        # From scratch the EMA ramps up (0.05) and ADA moves at 500 kimg per unit of p; a fine-tune
        # (recipe.resolve(fine_tune=True)) switches the ramp-up off and uses 100 kimg, as NVIDIA's --resume.
        TrainConfig(kimg=10000.0, batch=16, glr=0.003, dlr=0.003, gamma=8.2, r1_interval=16,
                    pl_weight=2.0, pl_interval=4, style_mixing=0.9, ema_kimg=None, ema_rampup=0.05,
                    mirror=True, ada_kimg=500.0, checkpoint_every_kimg=200.0, grid_seeds=tuple(range(32))),
    ),
}


def field_names(cls) -> set[str]:
    return {f.name for f in fields(cls)}


def get_config(name: str, **overrides) -> tuple[GANConfig, TrainConfig]:
    """Return validated (GANConfig, TrainConfig) for a named config with overrides applied."""
    if name not in CONFIGS:
        raise ConfigError(f"config: unknown name {name!r}; choose from {sorted(CONFIGS)}")
    gan_cfg, train_cfg = CONFIGS[name]
    gan_keys, train_keys = field_names(GANConfig), field_names(TrainConfig)
    unknown = set(overrides) - gan_keys - train_keys
    if unknown:
        raise ConfigError(f"{sorted(unknown)[0]}: not a GANConfig or TrainConfig field")
    gan_cfg = replace(gan_cfg, **{k: v for k, v in overrides.items() if k in gan_keys})
    train_cfg = replace(train_cfg, **{k: v for k, v in overrides.items() if k in train_keys})
    return gan_cfg.validate(), train_cfg.validate()


def gan_config_from_dict(data: dict) -> GANConfig:
    """Rebuild a GANConfig from `asdict()` output (as stored in checkpoints), ignoring unknown keys.

    A dict without `d_architecture` was written before the reference discriminator: it is v1.
    """
    known = field_names(GANConfig)
    values = {"d_architecture": 1, **{k: v for k, v in data.items() if k in known}}
    return GANConfig(**values).validate()


def train_config_from_dict(data: dict) -> TrainConfig:
    known = field_names(TrainConfig)
    values = {k: v for k, v in data.items() if k in known}
    # JSON and torch.save turn tuples into lists; the dataclass wants tuples (it is hashable).
    for key in ("betas", "grid_seeds"):
        if key in values:
            values[key] = tuple(values[key])
    return TrainConfig(**values).validate()


def config_dict(gan_cfg: GANConfig, train_cfg: TrainConfig) -> dict:
    """Both configs as plain data, for JSON files and checkpoints."""
    return {"gan": asdict(gan_cfg), "train": asdict(train_cfg)}


__all__ = [
    "CONFIGS",
    "D_ARCHITECTURES",
    "ConfigError",
    "GANConfig",
    "TrainConfig",
    "config_dict",
    "gan_config_from_dict",
    "get_config",
    "train_config_from_dict",
]
