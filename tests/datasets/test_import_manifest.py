"""import_manifest: counts, idempotent re-import, edits, refusals, the real CAN2000."""
import json

import pytest
from django.core.management import CommandError, call_command

from datasets.manifest import ManifestError
from datasets.models import Dataset, ImageRecord
from datasets.services import import_manifest
from tests.conftest import shared_path
from tests.datasets.factory import manifest_line, write_manifest

pytestmark = pytest.mark.django_db


def three_rows(tmp_path, **changes):
    lines = [
        manifest_line("001", "nevus", "https://a.org/1.jpg"),
        manifest_line("002", "melanoma", "https://a.org/2 with space.jpg", (0.3, 0.4, 0.2, 0.2)),
        manifest_line("003", "nevus", "https://b.org/3.jpg"),
    ]
    for index, line in changes.items():
        lines[int(index[1:])] = line
    return write_manifest(tmp_path / "set.csv", lines)


def test_it_imports_rows_and_counts_each_line_once(tmp_path):
    path = three_rows(tmp_path)
    path.write_text(path.read_text() + manifest_line("004", "nevus", "https://a.org/4.jpg", (0.5, 0.5, 0, 1)) + "\n")
    summary = import_manifest(path=path)
    assert (summary.lines, summary.imported, summary.updated, summary.unchanged, summary.rejected) == (4, 3, 0, 0, 1)
    assert summary.rejected_by_reason == {"zero-size": 1}
    row = ImageRecord.objects.get(no="002")
    assert (row.dataset.name, row.label, row.url, row.line, row.status) == (
        "set", "melanoma", "https://a.org/2 with space.jpg", 3, "pending")


def test_reimporting_the_same_file_changes_nothing(tmp_path):
    path = three_rows(tmp_path)
    import_manifest(path=path)
    before = list(ImageRecord.objects.values())
    summary = import_manifest(path=path)
    assert (summary.imported, summary.updated, summary.unchanged, summary.missing) == (0, 0, 3, 0)
    assert list(ImageRecord.objects.values()) == before


def test_an_edited_row_is_updated_and_its_download_invalidated(tmp_path, media_root):
    import_manifest(path=three_rows(tmp_path))
    crop = media_root / "datasets/set/nevus/001.png"
    crop.parent.mkdir(parents=True)
    crop.write_bytes(b"png")
    ImageRecord.objects.filter(no="001").update(status="ok", file="datasets/set/nevus/001.png", width=5, sha256="ab")
    edited = three_rows(tmp_path, r0=manifest_line("001", "nevus", "https://a.org/1.jpg", (0.5, 0.5, 0.4, 0.4)))
    summary = import_manifest(path=edited)
    assert (summary.updated, summary.unchanged, summary.invalidated) == (1, 2, 1)
    row = ImageRecord.objects.get(no="001")
    assert (row.w, row.status, row.file, row.width, row.sha256) == (0.4, "pending", "", None, "")


def test_removing_the_stale_crop_waits_for_the_commit(tmp_path, media_root, django_capture_on_commit_callbacks):
    import_manifest(path=three_rows(tmp_path))
    crop = media_root / "datasets/set/nevus/001.png"
    crop.parent.mkdir(parents=True)
    crop.write_bytes(b"png")
    ImageRecord.objects.filter(no="001").update(status="ok", file="datasets/set/nevus/001.png")
    with django_capture_on_commit_callbacks(execute=True):
        import_manifest(path=three_rows(tmp_path, r0=manifest_line("001", "nevus", "https://a.org/new.jpg")))
    assert not crop.exists()


def test_rows_missing_from_the_new_file_are_reported_not_deleted(tmp_path):
    import_manifest(path=three_rows(tmp_path))
    shorter = write_manifest(tmp_path / "set.csv", [manifest_line("001", "nevus", "https://a.org/1.jpg")])
    summary = import_manifest(path=shorter)
    assert (summary.missing, summary.missing_sample) == (2, ["002", "003"])
    assert ImageRecord.objects.count() == 3


def test_a_repeated_no_is_rejected_and_the_first_wins(tmp_path):
    path = write_manifest(tmp_path / "dup.csv", [
        manifest_line("7", "nevus", "https://a.org/first.jpg"),
        manifest_line("7", "melanoma", "https://a.org/second.jpg"),
    ])
    summary = import_manifest(path=path)
    assert summary.rejected_by_reason == {"duplicate-no": 1}
    assert summary.rejections[0].line == 3 and "line 2" in summary.rejections[0].detail
    assert ImageRecord.objects.get(no="7").url == "https://a.org/first.jpg"


def test_a_file_that_is_mostly_not_a_manifest_is_refused_and_imports_nothing(tmp_path):
    path = tmp_path / "notes.csv"
    path.write_text("name,age\nalice,3\nbob,4\n" + manifest_line("1", "nevus", "https://a.org/1.jpg") + "\n")
    with pytest.raises(ManifestError, match=r"notes.csv: not a manifest \(3 of 4 lines"):
        import_manifest(path=path)
    assert not Dataset.objects.exists() and not ImageRecord.objects.exists()


def test_a_binary_file_is_refused(tmp_path):
    path = tmp_path / "photo.csv"
    path.write_bytes(b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" * 50)
    with pytest.raises(ManifestError, match=r"photo.csv: not a manifest"):
        import_manifest(path=path)


def test_the_command_prints_rejections_with_line_numbers_and_a_json_summary(tmp_path, capsys):
    path = three_rows(tmp_path, r2=manifest_line("003", "nevus", "gopher://b.org/3.jpg"))
    call_command("import_manifest", str(path), "--name", "mine", "--json")
    out, err = capsys.readouterr()
    assert f"{path}:4: rejected (bad-scheme)" in err
    summary = json.loads(out.strip().splitlines()[-1])
    assert summary["dataset"] == "mine"
    assert {k: summary[k] for k in ("lines", "imported", "updated", "unchanged", "rejected")} == {
        "lines": 3, "imported": 2, "updated": 0, "unchanged": 0, "rejected": 1}
    assert summary["rejected_by_reason"] == {"bad-scheme": 1}


def test_the_command_turns_refusals_into_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="no such file"):
        call_command("import_manifest", str(tmp_path / "absent.csv"))
    with pytest.raises(CommandError, match="dataset name"):
        call_command("import_manifest", str(three_rows(tmp_path)), "--name", "../etc")


def test_the_real_can2000_manifest_imports(capsys):
    call_command("import_manifest", str(shared_path("manifests", "CAN2000.csv")), "--json", "--quiet-rejects")
    summary = json.loads(capsys.readouterr().out.strip().splitlines()[-1])
    assert summary["lines"] == 2006
    assert summary["lines"] == summary["imported"] + summary["updated"] + summary["unchanged"] + summary["rejected"]
    assert summary["rejected_by_reason"] == {"zero-size": summary["rejected"]}
    assert ImageRecord.objects.filter(dataset__name="CAN2000").count() == summary["imported"]
    labels = set(ImageRecord.objects.values_list("label", flat=True))
    assert labels == {"nevus", "melanoma"}  # normalised at import (common.labels)
    assert ImageRecord.objects.filter(url__contains=" ").exists()
