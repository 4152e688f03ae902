"""import_folder on the real MED-NODE folder and on a folder with broken files."""
import json

import pytest
from django.core.management import CommandError, call_command

from datasets.models import ImageRecord
from datasets.services import import_folder
from tests.conftest import shared_path
from tests.datasets import webserver as w

pytestmark = pytest.mark.django_db


def test_it_imports_the_real_med_node_folder(capsys):
    call_command("import_folder", str(shared_path("lesions")), "--name", "MED-NODE", "--json")
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["labels"] == {"melanoma": 70, "nevus": 100}
    assert (summary["imported"], summary["unreadable"]) == (170, 0)
    small = ImageRecord.objects.get(no="melanoma/1651872.jpg")
    assert (small.width, small.height, small.status) == (201, 257, "ok")
    again = import_folder(path=shared_path("lesions"), name="MED-NODE")
    assert (again.imported, again.unchanged) == (0, 170)


def test_unreadable_files_are_reported_not_fatal(tmp_path, capsys):
    (tmp_path / "naevus").mkdir()
    (tmp_path / "malignantmelanoma").mkdir()
    (tmp_path / "naevus" / "good.jpg").write_bytes(w.jpeg_bytes(w.make_photo()))
    (tmp_path / "naevus" / "cut.jpg").write_bytes(w.truncated_jpeg())
    (tmp_path / "malignantmelanoma" / "notes.txt").write_text("not an image")
    (tmp_path / "malignantmelanoma" / ".DS_Store").write_bytes(b"\x00\x01")
    (tmp_path / "malignantmelanoma" / "fake.png").write_text("not an image either")
    call_command("import_folder", str(tmp_path), "--name", "odd")
    out, err = capsys.readouterr()
    assert "cut.jpg: unreadable" in err and "fake.png: unreadable" in err
    assert "notes.txt: skipped: not an image file name (.txt" in err
    assert "3 files (melanoma 1, nevus 2): 3 imported, 0 updated, 0 unchanged, 2 unreadable, 1 skipped" in out
    assert not ImageRecord.objects.filter(no__endswith=".txt").exists()
    good = ImageRecord.objects.get(no="naevus/good.jpg")
    assert (good.label, good.status, good.width, good.height) == ("nevus", "ok", 120, 80)
    assert ImageRecord.objects.get(no="naevus/cut.jpg").failure_reason == "unreadable"


def test_a_path_that_is_not_a_class_folder_is_refused(tmp_path):
    with pytest.raises(CommandError, match="no class folders"):
        call_command("import_folder", str(tmp_path), "--name", "empty")
    with pytest.raises(CommandError, match="not a folder"):
        call_command("import_folder", str(tmp_path / "nope"), "--name", "empty")
