"""export_dataset: the DEST/<label>/<file> layout, squaring and resizing, resuming."""
from pathlib import Path

import numpy as np
import pytest
from django.core.management import CommandError, call_command
from PIL import Image

from datasets.services import import_folder
from tests.datasets import webserver as w
from tests.datasets.factory import make_dataset, make_row

pytestmark = pytest.mark.django_db


def downloaded_dataset(media_root):
    dataset = make_dataset()
    for no, label, size in (("1", "nevus", (300, 200)), ("2", "melanoma", (90, 150))):
        relative = f"datasets/demo/{label}/{no}.png"
        (media_root / relative).parent.mkdir(parents=True, exist_ok=True)
        w.make_photo(*size, seed=int(no)).save(media_root / relative)
        make_row(dataset, no, f"https://x.org/{no}.jpg", label=label, status="ok", file=relative,
                 width=size[0], height=size[1])
    make_row(dataset, "3", "https://x.org/3.jpg", status="failed", failure_reason="http-404")
    return dataset


def test_it_writes_label_folders_of_the_good_images(media_root, tmp_path, capsys):
    downloaded_dataset(media_root)
    call_command("export_dataset", "demo", str(tmp_path / "out"))
    assert sorted(p.relative_to(tmp_path / "out").as_posix() for p in (tmp_path / "out").rglob("*.png")) == [
        "melanoma/2.png", "nevus/1.png"]
    assert Image.open(tmp_path / "out/nevus/1.png").size == (300, 200)
    assert "2 written, 0 already there, 0 failed" in capsys.readouterr().out


def test_square_and_size_centre_crop_then_resize(media_root, tmp_path):
    downloaded_dataset(media_root)
    call_command("export_dataset", "demo", str(tmp_path / "sq"), "--square", "--size", "64")
    wide = Image.open(tmp_path / "sq/nevus/1.png")
    assert wide.size == (64, 64) and wide.mode == "RGB"
    source = np.asarray(Image.open(media_root / "datasets/demo/nevus/1.png"))
    centre = Image.fromarray(source[:, 50:250]).resize((64, 64), Image.Resampling.LANCZOS)
    assert np.abs(np.asarray(wide).astype(int) - np.asarray(centre).astype(int)).max() <= 1


def test_a_second_export_skips_what_is_up_to_date(media_root, tmp_path, capsys):
    downloaded_dataset(media_root)
    call_command("export_dataset", "demo", str(tmp_path / "o"))
    call_command("export_dataset", "demo", str(tmp_path / "o"))
    assert "0 written, 2 already there" in capsys.readouterr().out


def test_folder_datasets_export_their_original_files(tmp_path):
    (tmp_path / "in" / "naevus").mkdir(parents=True)
    data = w.jpeg_bytes(w.make_photo())
    (tmp_path / "in" / "naevus" / "a.jpg").write_bytes(data)
    import_folder(path=tmp_path / "in", name="set")
    call_command("export_dataset", "set", str(tmp_path / "out"))
    assert (tmp_path / "out" / "nevus" / "a.jpg").read_bytes() == data


def test_size_without_square_is_an_error(media_root, tmp_path):
    downloaded_dataset(media_root)
    with pytest.raises(CommandError, match="--size needs --square"):
        call_command("export_dataset", "demo", str(tmp_path / "o"), "--size", "64")
    with pytest.raises(CommandError, match="no dataset named 'nope'"):
        call_command("export_dataset", "nope", str(tmp_path / "o"))


def test_every_image_a_folder_import_accepts_reaches_the_classifier(media_root, tmp_path):
    """A .gif (or any accepted suffix) imported from a folder is exported and then read by the
    classifier's loader; it used to be skipped there without a word."""
    from classifier.cnn.data import scan_dirs
    from common.images import IMAGE_SUFFIXES

    source = tmp_path / "src" / "melanoma"
    source.mkdir(parents=True)
    for i, suffix in enumerate(sorted(IMAGE_SUFFIXES)):
        image = w.make_photo(40, 30, seed=i)
        image.save(source / f"{i}{suffix}", format=Image.registered_extensions()[suffix])
    summary = import_folder(path=tmp_path / "src", name="suffixes")
    assert summary.files == len(IMAGE_SUFFIXES), summary.as_dict()
    call_command("export_dataset", "suffixes", str(tmp_path / "out"))
    found = scan_dirs(tmp_path / "out")
    assert sorted(Path(p).suffix for p, _ in found) == sorted(IMAGE_SUFFIXES)
    assert {label for _, label in found} == {1}
