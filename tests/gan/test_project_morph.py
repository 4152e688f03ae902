"""Projection into W and morphing between two w's."""

from __future__ import annotations

import numpy as np
from PIL import Image

from generator.gan.checkpoint import load_generator
from generator.gan.morph import morph
from generator.gan.project import project
from generator.gan.sample import generate_images, synthesize


def test_projection_lowers_its_reconstruction_loss_and_writes_w(trained_run, tmp_path):
    target = generate_images(trained_run["checkpoint"], [11], tmp_path / "target", psi=0.5, device="cpu")[0]
    result = project(trained_run["checkpoint"], target, tmp_path / "proj", steps=40, device="cpu")
    history = result["loss_history"]
    assert len(history) == 40
    assert np.mean(history[-5:]) < 0.5 * history[0], history
    with np.load(result["w_path"]) as data:
        assert data["w"].shape == (1, trained_run["gan_cfg"].num_ws, trained_run["gan_cfg"].w_dim)
    assert Image.open(result["image_path"]).size == (16, 16)


def test_morph_includes_both_ends(trained_run, tmp_path):
    ckpt = trained_run["checkpoint"]
    result = morph(ckpt, 3, "17", tmp_path / "morph", frames=5, device="cpu")
    assert [p.name for p in result["frames"]] == [f"frame000{i}.png" for i in range(5)]
    G = load_generator(ckpt)
    first, last = (np.asarray(Image.open(result["frames"][i])) for i in (0, -1))
    assert np.array_equal(first, synthesize(G, [3])[0])
    assert np.array_equal(last, synthesize(G, [17])[0])
    assert result["animation"].exists() and Image.open(result["animation"]).n_frames >= 5


def test_morph_starts_from_a_projected_w(trained_run, tmp_path):
    target = generate_images(trained_run["checkpoint"], [4], tmp_path / "t", device="cpu")[0]
    projected = project(trained_run["checkpoint"], target, tmp_path / "p", steps=2, device="cpu")
    result = morph(trained_run["checkpoint"], projected["w_path"], 4, tmp_path / "m", frames=2, device="cpu")
    assert len(result["frames"]) == 2
    assert np.array_equal(np.asarray(Image.open(result["frames"][1])), np.asarray(Image.open(target)))
