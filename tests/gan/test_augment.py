"""The ADA augmentation pipeline and its p controller."""

from __future__ import annotations

import torch

from generator.gan.augment import AdaController, AugmentPipe
from generator.gan.train import train

from .helpers import make_solid_colour_dataset, make_tiny_configs


def test_augmentation_with_p_zero_returns_the_images_untouched():
    images = torch.rand(4, 3, 16, 16) * 2 - 1
    assert AugmentPipe()(images, 0.0) is images


def test_augmentation_changes_images_and_passes_gradients_back():
    torch.manual_seed(0)
    images = (torch.rand(8, 3, 16, 16) * 2 - 1).requires_grad_(True)
    out = AugmentPipe()(images, 1.0)
    assert out.shape == images.shape
    assert not torch.allclose(out, images)
    out.square().sum().backward()
    assert images.grad is not None and images.grad.abs().sum() > 0


def test_integer_geometric_transforms_move_pixels_exactly():
    # With only flips, 90-degree turns and integer shifts, bilinear sampling lands on pixel
    # centres: every output pixel value must be one of the input's pixel values.
    torch.manual_seed(1)
    pipe = AugmentPipe(scale_std=0, rotate_max=0, aniso_std=0, xfrac_std=0)
    image = torch.arange(64.0).reshape(1, 1, 8, 8).repeat(4, 1, 1, 1)
    out = pipe.geometric(image, 1.0)
    assert torch.allclose(out, out.round(), atol=1e-4)
    assert not torch.equal(out, image)


def test_colour_transforms_keep_grey_grey_under_hue_and_saturation():
    pipe = AugmentPipe(brightness_std=0, contrast_std=0)
    grey = torch.full((6, 3, 4, 4), 0.3)
    out = pipe.colour(grey, 1.0)
    assert torch.allclose(out[:, 0], out[:, 1], atol=1e-5) and torch.allclose(out[:, 1], out[:, 2], atol=1e-5)


def test_ada_p_rises_while_reals_score_above_target_and_falls_to_zero_below():
    ada = AdaController(p=0.0, target=0.6, interval=1, kimg=0.1, batch=10)
    for _ in range(5):
        ada.accumulate(torch.ones(10))  # r_t = 1 > 0.6: D is overconfident on reals
        ada.update()
    assert abs(ada.p - 0.5) < 1e-9
    for _ in range(10):
        ada.accumulate(-torch.ones(10))
        ada.update()
    assert ada.p == 0.0


def test_ada_p_rises_when_the_discriminator_overfits_a_tiny_dataset(tmp_path):
    data_dir = make_solid_colour_dataset(tmp_path / "data", count=2)
    gan_cfg, train_cfg = make_tiny_configs(kimg=40 * 8 / 1000, ada_target=0.6, ada_interval=1, ada_kimg=1.0,
                                           augment_p=0.0, checkpoint_every_kimg=1.0, report_every=5)
    seen = []
    result = train(train_cfg, gan_cfg, data_dir, tmp_path / "run", device="cpu",
                   progress_fn=lambda info: seen.append(info["augment_p"]))
    assert result["augment_p"] > 0.05, seen
    assert max(seen) > 0.05
