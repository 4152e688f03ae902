"""Folder scanning, the decode-once cache and the augmentation recipes."""

import logging
import os

import numpy as np
import pytest
import torch
from PIL import Image

from classifier.cnn import data
from classifier.cnn.data import (
    ImageCache,
    ImageDataset,
    make_loader,
    scan_dirs,
    stratified_split,
    train_transform,
)


def make_folder(root, counts=None, size=(40, 30)):
    """ROOT/<label>/img<i>.png with distinct solid colours; returns ROOT."""
    counts = counts or {"melanoma": 3, "nevus": 4}
    for label, n in counts.items():
        (root / label).mkdir(parents=True, exist_ok=True)
        for i in range(n):
            Image.new("RGB", size, (20 * i, 100 if label == "melanoma" else 200, 7)).save(root / label / f"img{i}.png")
    return root


def test_it_unites_folders_and_ignores_others_with_a_warning(tmp_path, caplog):
    a = make_folder(tmp_path / "a", {"MalignantMelanoma": 2, "naevus": 1})
    b = make_folder(tmp_path / "b", {"melanoma": 1, "bcc": 5})
    with caplog.at_level(logging.WARNING):
        items = scan_dirs([a, b])
    assert sorted(label for _, label in items) == [0, 1, 1, 1]
    assert "bcc" in caplog.text
    with pytest.raises(FileNotFoundError):
        scan_dirs(tmp_path / "missing")


def test_a_stratified_split_keeps_the_class_shares():
    items = [(f"m{i}", 1) for i in range(70)] + [(f"n{i}", 0) for i in range(100)]
    rest, held = stratified_split(items, 0.3, seed=1)
    assert (sum(label for _, label in held), len(held), len(rest)) == (21, 51, 119)
    assert stratified_split(items, 0.3, seed=1) == (rest, held) != stratified_split(items, 0.3, seed=2)


def test_images_are_resized_to_a_square_not_cropped(tmp_path):
    wide = np.zeros((100, 300, 3), np.uint8)
    wide[:, :100, 0] = wide[:, 100:200, 1] = wide[:, 200:, 2] = 255  # red | green | blue
    Image.fromarray(wide).save(tmp_path / "wide.png")
    out = data.decode_resized(str(tmp_path / "wide.png"), 30)
    assert out.shape == (30, 30, 3) and out.dtype == np.uint8
    assert out[15, 2, 0] == 255 and out[15, 15, 1] == 255 and out[15, 27, 2] == 255  # all three bands kept


def test_the_cache_decodes_each_image_once_and_notices_changed_files(tmp_path):
    root = make_folder(tmp_path / "set")
    paths = [p for p, _ in scan_dirs(root)]
    cache = ImageCache(tmp_path / "cache", 32)
    assert cache.warm(paths) == ([], 7)
    loader = make_loader(ImageDataset(scan_dirs(root), cache, train_transform("reference")), batch=4, train=True)
    for _ in range(2):  # two epochs
        assert sum(len(y) for _, y in loader) == 7
    assert cache.decodes == 7
    again = ImageCache(tmp_path / "cache", 32)  # a later run reuses the files
    assert again.warm(paths) == ([], 0)
    os.utime(paths[0], ns=(1, 1))  # an edited image is decoded afresh
    assert again.warm(paths) == ([], 1)
    assert len(list((tmp_path / "cache" / "32px").rglob(".tmp-*"))) == 0


def test_unreadable_files_are_reported_not_fatal(tmp_path, caplog):
    root = make_folder(tmp_path / "set")
    (root / "nevus" / "broken.jpg").write_bytes(b"not a jpeg")
    paths = [p for p, _ in scan_dirs(root)]
    with caplog.at_level(logging.WARNING):
        bad, decoded = ImageCache(tmp_path / "cache", 16).warm(paths)
    assert [os.path.basename(p) for p in bad] == ["broken.jpg"] and decoded == 7
    assert "broken.jpg" in caplog.text


def test_the_recipes_flip_and_keep_uint8_images():
    torch.manual_seed(0)
    x = torch.arange(2 * 3 * 8 * 8, dtype=torch.int64).remainder(251).to(torch.uint8).view(2, 3, 8, 8)[0]
    seen = {tuple(train_transform("reference")(x)[0, 0, :2].tolist()) for _ in range(40)}
    assert len(seen) == 4  # none, horizontal, vertical, both
    strong = train_transform("strong")(x)
    assert strong.dtype == torch.uint8 and strong.shape == x.shape
    with pytest.raises(ValueError):
        train_transform("fancy")


def test_balanced_sampling_evens_out_the_classes(tmp_path):
    items = [(f"m{i}", 1) for i in range(10)] + [(f"n{i}", 0) for i in range(90)]
    loader = make_loader(ImageDataset(items, ImageCache(None, 8)), batch=10, train=True, balanced=True)
    loader.generator.manual_seed(0)
    drawn = [items[i][1] for i in loader.sampler]
    assert 0.35 < np.mean(drawn) < 0.65
