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


def test_luma_flip_negates_the_grey_component_of_about_half_the_images():
    torch.manual_seed(0)
    pipe = AugmentPipe(brightness_std=0, contrast_std=0, hue_max=0, saturation_std=0)  # luma flip only
    images = (torch.rand(32, 3, 1, 1) * 2 - 1).expand(-1, -1, 4, 4)
    out = pipe.colour(images, 1.0)
    grey = torch.full((3,), 3 ** -0.5)
    flipped = images - 2 * torch.einsum("nchw,c->nhw", images, grey)[:, None] * grey[:, None, None]
    same = (out - images).abs().amax(dim=(1, 2, 3)) < 1e-5
    reflected = (out - flipped).abs().amax(dim=(1, 2, 3)) < 1e-5
    assert bool((same | reflected).all()), "each image is either untouched or reflected through the grey axis"
    assert 8 <= int(reflected.sum()) <= 24  # each image flips with probability 1/2 at p = 1


def test_fractional_translation_shifts_by_an_eighth_of_the_image_at_p_one():
    # NVIDIA's xfrac: a normal shift with std xfrac_std (0.125) of the image size, not rounded to pixels.
    torch.manual_seed(0)
    pipe = AugmentPipe(xint_max=0, scale_std=0, rotate_max=0, aniso_std=0)
    shift = pipe.geometric_matrix(4000, 32, 1.0, "cpu")[:, :2, 2] / 2  # affine_grid units: the width is 2
    assert 0.115 < float(shift.std()) < 0.135
    pixels = shift * 32
    assert float((pixels - pixels.round()).abs().mean()) > 0.2, "fractional, not whole pixels"


def test_ada_p_keeps_rising_past_one_as_the_reference_lets_it():
    ada = AdaController(p=0.95, target=0.6, interval=1, kimg=0.1, batch=10)  # steps of 0.1
    ada.accumulate(torch.ones(10))
    ada.update()
    assert abs(ada.p - 1.05) < 1e-9
