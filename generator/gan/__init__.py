"""Our own StyleGAN2-ADA in plain PyTorch: networks, augmentation, losses, training,
sampling, projection, morphing and metrics. Never imports Django, Redis or the web app:
everything takes paths, a config and callbacks.

Entry points (import from the submodules; names here load lazily so that importing
`generator.gan` stays cheap for the web process):

    config      GANConfig, TrainConfig, get_config(name, **overrides), CONFIGS
    train       train(train_cfg, gan_cfg, data_dir, out_dir, *, resume_from, init_from,
                      progress_fn, abort_fn, device, processes) -> dict
    checkpoint  load_generator(path, device), load_checkpoint(path), latest_checkpoint(dir)
    sample      generate_images(ckpt, seeds, out_dir, psi=1.0, noise_mode="const", ...) -> list[Path]
    project     project(ckpt, target_image, out_dir, steps=1000, ...) -> dict
    morph       morph(ckpt, source, target, out_dir, frames=30, ...) -> dict
    metrics     fid_kid(real_dir, fake_dir, inception_weights=None) -> dict

Command line: python -m generator.gan.cli train|sample|project|morph --help
"""

import importlib

_EXPORTS = {
    "GANConfig": "config", "TrainConfig": "config", "ConfigError": "config", "CONFIGS": "config",
    "get_config": "config", "load_generator": "checkpoint", "load_checkpoint": "checkpoint",
    "latest_checkpoint": "checkpoint", "generate_images": "sample", "parse_seeds": "seeds",
    "fid_kid": "metrics",
}  # train, project and morph are also module names: import them as generator.gan.train.train etc.

__all__ = sorted(_EXPORTS)


def __getattr__(name):
    if name in _EXPORTS:
        return getattr(importlib.import_module(f".{_EXPORTS[name]}", __name__), name)
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
