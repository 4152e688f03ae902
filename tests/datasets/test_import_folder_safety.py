"""import_folder reads only image files inside the folder, bounded, with the downloader's pixel limit."""
import json
import os
import subprocess
import sys

import pytest
from django.core.management import call_command
from PIL import Image

from datasets.download.imaging import MAX_PIXELS
from datasets.models import ImageRecord
from datasets.services import import_folder
from tests.conftest import REPO, subprocess_env
from tests.datasets import webserver as w

pytestmark = pytest.mark.django_db


def make_class_folders(root, *labels):
    for label in labels:
        (root / label).mkdir(parents=True)
        (root / label / "good.jpg").write_bytes(w.jpeg_bytes(w.make_photo()))
    return root


def imported(capsys, root, name="set"):
    call_command("import_folder", str(root), "--name", name, "--json")
    out, err = capsys.readouterr()
    return json.loads(out.strip().splitlines()[-1]), err


def test_links_out_of_the_folder_are_skipped_and_reported_never_read(tmp_path, capsys):
    root = make_class_folders(tmp_path / "set", "nevus")
    private = tmp_path / "private"
    (private / "melanoma").mkdir(parents=True)
    (private / "melanoma" / "secret.jpg").write_bytes(w.jpeg_bytes(w.make_photo(seed=7)))
    (root / "nevus" / "passwd.jpg").symlink_to("/etc/passwd")
    (root / "nevus" / "secret.jpg").symlink_to(private / "melanoma" / "secret.jpg")
    (root / "melanoma").symlink_to(private / "melanoma")  # a whole class folder outside
    (root / "nevus" / "alias.jpg").symlink_to(root / "nevus" / "good.jpg")  # inside: fine
    summary, err = imported(capsys, root)
    assert sorted(ImageRecord.objects.values_list("no", flat=True)) == ["nevus/alias.jpg", "nevus/good.jpg"]
    assert summary["labels"] == {"nevus": 2} and summary["skipped"] == 3
    for name in ("nevus/passwd.jpg", "nevus/secret.jpg", "set/melanoma"):
        assert f"{name}: skipped: a link to " in err and "outside the imported folder" in err
    assert not ImageRecord.objects.filter(source_path__startswith=str(private)).exists()
    assert not ImageRecord.objects.filter(source_path="/etc/passwd").exists()


def test_only_image_files_become_rows_and_the_rest_is_reported(tmp_path, capsys):
    root = make_class_folders(tmp_path / "set", "nevus")
    (root / "nevus" / "notes.txt").write_text("x")
    (root / "nevus" / "README").write_text("x")
    (root / "nevus" / "deeper").mkdir()
    (root / "nevus" / "deeper" / "hidden.jpg").write_bytes(w.jpeg_bytes(w.make_photo()))
    (root / "stray.jpg").write_bytes(w.jpeg_bytes(w.make_photo()))
    os.mkfifo(root / "nevus" / "pipe.jpg")  # opening it would block forever
    summary, err = imported(capsys, root)
    assert list(ImageRecord.objects.values_list("no", flat=True)) == ["nevus/good.jpg"]
    assert (summary["files"], summary["labels"], summary["skipped"]) == (1, {"nevus": 1}, 5)
    assert "notes.txt: skipped: not an image file name (.txt" in err and "README: skipped: not an image" in err
    assert "deeper: skipped: a nested folder" in err
    assert "stray.jpg: skipped: not in a class folder" in err
    assert "pipe.jpg: skipped: not a regular file" in err


def test_an_image_past_the_downloaders_pixel_limit_is_refused_before_decoding(tmp_path, capsys):
    root = make_class_folders(tmp_path / "set", "nevus")
    side = int(MAX_PIXELS ** 0.5) + 1  # 89.5 MP: over our limit, under Pillow's refusal at twice it
    Image.new("1", (side, side)).save(root / "nevus" / "huge.png")
    import_folder(path=root, name="set")
    huge = ImageRecord.objects.get(no="nevus/huge.png")
    assert (huge.status, huge.failure_reason) == ("failed", "decompression-bomb")
    assert f"exceeds limit of {MAX_PIXELS} pixels" in huge.failure_detail


def test_a_long_file_name_is_skipped_not_a_database_error(tmp_path, capsys):
    root = make_class_folders(tmp_path / "set", "nevus")
    (root / "nevus" / f"{'x' * 70}.jpg").write_bytes(w.jpeg_bytes(w.make_photo()))
    summary, err = imported(capsys, root)
    assert summary["skipped"] == 1 and "longer than 64 characters" in err
    assert ImageRecord.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_a_large_file_is_never_read_whole_into_memory(tmp_path, media_root):
    root = make_class_folders(tmp_path / "set", "nevus")
    with open(root / "nevus" / "big.jpg", "wb") as f:  # 200 MB of zeros, sparse on disk
        f.truncate(200 * 2**20)
    done = subprocess.run([sys.executable, "-c", MEASURE, str(root)], cwd=REPO, env=subprocess_env(media_root),
                          capture_output=True, text=True, timeout=120)
    assert done.returncode == 0, done.stderr
    before, after = (int(kb) / 1024 for kb in done.stdout.split()[-2:])
    assert after - before < 100, f"peak RSS grew by {after - before:.0f} MB: the 200 MB file was read whole"
    assert ImageRecord.objects.get(no="nevus/big.jpg").failure_reason == "unreadable"


MEASURE = """
import resource, sys, django
django.setup()
from datasets.models import Dataset
from datasets.services import import_folder
Dataset.objects.exists()  # connected: what follows is the import's own memory
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
import_folder(path=sys.argv[1], name="big")
print(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
"""
