"""Seeded sampling."""

from __future__ import annotations

import numpy as np
import pytest
from PIL import Image

from generator.gan.sample import generate_images, parse_seeds, seed_filename, seeds_to_z


def test_z_for_a_seed_is_numpy_randomstate_randn():
    z = seeds_to_z([42, 7], 32)
    assert np.allclose(z[0].numpy(), np.random.RandomState(42).randn(1, 32).astype(np.float32))
    assert np.allclose(z[1].numpy(), np.random.RandomState(7).randn(1, 32).astype(np.float32))


def test_seed_file_names_are_zero_padded_to_four_digits_and_widen_when_needed():
    assert seed_filename(42) == "seed0042.png"
    assert seed_filename(123456) == "seed123456.png"
    assert list(parse_seeds("0-3,7")) == [0, 1, 2, 3, 7]


def test_seed_lists_stay_ranges_however_long():
    seeds = parse_seeds("0-99999999,5")
    assert len(seeds) == 100_000_001 and seeds[-1] == 5 and seeds[99_999_999] == 99_999_999
    assert seeds[2:5] == [2, 3, 4] and str(seeds) == "0-99999999,5"
    with pytest.raises(ValueError, match="'5-2' runs backwards"):
        parse_seeds("5-2")
    with pytest.raises(ValueError, match="'x' is not a seed"):
        parse_seeds("1,x")


def test_the_same_checkpoint_seed_and_psi_give_the_same_image(trained_run, tmp_path):
    ckpt = trained_run["checkpoint"]
    first = generate_images(ckpt, [3, 5, 1000], tmp_path / "a", psi=0.7, batch_size=2, device="cpu")
    again = generate_images(ckpt, [3, 5, 1000], tmp_path / "b", psi=0.7, batch_size=2, device="cpu")
    assert [p.name for p in first] == ["seed0003.png", "seed0005.png", "seed1000.png"]
    for a, b in zip(first, again):
        assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))
    assert not np.array_equal(np.asarray(Image.open(first[0])), np.asarray(Image.open(first[1])))
    assert np.asarray(Image.open(first[0])).shape == (16, 16, 3)


def test_random_noise_is_reproducible_per_seed_too(trained_run, tmp_path):
    ckpt = trained_run["checkpoint"]
    a = generate_images(ckpt, [9], tmp_path / "a", noise_mode="random", device="cpu")[0]
    b = generate_images(ckpt, [8, 9], tmp_path / "b", noise_mode="random", device="cpu")[1]
    assert np.array_equal(np.asarray(Image.open(a)), np.asarray(Image.open(b)))


def test_an_unconditional_model_refuses_a_class(trained_run, tmp_path):
    with pytest.raises(ValueError, match="class_idx"):
        generate_images(trained_run["checkpoint"], [1], tmp_path, class_idx=0, device="cpu")


def test_the_sample_command_line_writes_the_seeds(trained_run, tmp_path):
    from generator.gan.cli import main

    paths = main(["sample", str(trained_run["checkpoint"]), "--seeds", "0-2", "--out", str(tmp_path),
                  "--device", "cpu"])
    assert sorted(p.name for p in tmp_path.iterdir()) == ["seed0000.png", "seed0001.png", "seed0002.png"]
    assert len(paths) == 3
