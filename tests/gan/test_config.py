"""Named configs, overrides and validation messages."""

from __future__ import annotations

import pytest

from generator.gan.config import (
    ConfigError,
    TrainConfig,
    get_config,
    train_config_from_dict,
)


def test_the_paper_config_is_the_can_pretraining_setup():
    gan_cfg, train_cfg = get_config("paper")
    assert (gan_cfg.resolution, gan_cfg.mapping_layers, gan_cfg.channel_base,
            gan_cfg.channel_max) == (512, 2, 32768, 512)
    assert (train_cfg.gamma, train_cfg.batch, train_cfg.glr, train_cfg.dlr,
            train_cfg.mirror) == (8.2, 16, 0.003, 0.003, True)
    assert train_cfg.ada_target == 0.6


def test_overrides_go_to_the_dataclass_that_owns_the_field():
    gan_cfg, train_cfg = get_config("paper", gamma=32.0, freeze_d=13, kimg=500, num_classes=2)
    assert (train_cfg.gamma, train_cfg.freeze_d, train_cfg.kimg, gan_cfg.num_classes) == (32.0, 13, 500, 2)


@pytest.mark.parametrize("overrides, field", [
    ({"resolution": 48}, "resolution"), ({"kimg": 0}, "kimg"), ({"batch": 0}, "batch"),
    ({"ada_target": 1.5}, "ada_target"), ({"mixed_precision": "fp8"}, "mixed_precision"),
    ({"no_such_field": 1}, "no_such_field"), ({"augment_p": 2.0}, "augment_p"),
])
def test_validation_errors_name_the_field(overrides, field):
    with pytest.raises(ConfigError, match=f"^{field}:"):
        get_config("tiny", **overrides)


def test_an_unknown_config_name_is_refused():
    with pytest.raises(ConfigError, match=r"^config:"):
        get_config("huge")


def test_a_train_config_survives_a_round_trip_through_plain_data():
    cfg = TrainConfig(grid_seeds=(1, 2), betas=(0.0, 0.9))
    data = {k: list(v) if isinstance(v, tuple) else v for k, v in cfg.__dict__.items()}
    assert train_config_from_dict(data) == cfg


def test_a_run_config_stored_before_the_recipe_fields_still_loads_as_it_was():
    from generator.gan.config import gan_config_from_dict

    old_train = {"kimg": 500.0, "batch": 16, "ema_kimg": 10.0, "ema_rampup": None, "betas": [0.0, 0.99]}
    cfg = train_config_from_dict(old_train)  # no adam_eps, no pl_batch_shrink: the values they trained with
    assert (cfg.adam_eps, cfg.pl_batch_shrink, cfg.ema_kimg, cfg.ema_rampup) == (1e-8, 2, 10.0, None)
    old_gan = {"resolution": 32, "w_avg_beta": 0.995}
    assert gan_config_from_dict(old_gan).w_avg_beta == 0.995, "an old network keeps its truncation average's beta"


def test_ema_kimg_none_means_nvidias_batch_rule():
    assert TrainConfig(ema_kimg=None, batch=32).ema_half_life_kimg == 10.0
    with pytest.raises(ConfigError, match=r"^ema_kimg:"):
        TrainConfig(ema_kimg=0.0).validate()
