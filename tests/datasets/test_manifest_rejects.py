"""Hostile manifest lines become rejected lines with a reason, never a traceback or a merged row.

These are database tests, so that they run on PostgreSQL too (where an over-long value is a
DataError, not silently stored as on SQLite).
"""
import pytest
from django.core.management import call_command

from datasets.models import ImageRecord
from datasets.services import import_manifest
from tests.datasets.factory import manifest_line

pytestmark = pytest.mark.django_db
GOOD = manifest_line("1", "nevus", "https://a.org/1.jpg").encode()
# Rows before the hostile line: it lands past the 64 KB that are sniffed for binary data up front.
PADDING = 1500


def write_lines(tmp_path, *lines: bytes, padding: int = 0):
    """A manifest of GOOD, `padding` filler rows, then the given lines, LF-terminated."""
    filler = [manifest_line(f"pad{i}", "nevus", f"https://a.org/pad{i}.jpg").encode() for i in range(padding)]
    path = tmp_path / "hostile.csv"
    path.write_bytes(b"\n".join([GOOD, *filler, *lines]) + b"\n")
    return path


@pytest.mark.parametrize("line, reason", [
    (manifest_line("2", "nevus", "https://[::1").encode(), "bad-url"),
    (manifest_line("2", "nevus", "https://[::1/x.jpg").encode(), "bad-url"),
    (manifest_line("2", "nevus", "http://").encode(), "bad-url"),
    (manifest_line("2", "nevus", "http:///x.jpg").encode(), "bad-url"),
    (manifest_line("2", "nevus", "http://a.org:99999/x.jpg").encode(), "bad-url"),
    (manifest_line("2" * 65, "nevus", "https://a.org/2.jpg").encode(), "too-long"),
    (manifest_line("2", "n" * 65, "https://a.org/2.jpg").encode(), "too-long"),
    (manifest_line("2", "ne\x00vus", "https://a.org/2.jpg").encode(), "control-character"),
    (manifest_line("2", "nevus", "https://a.org/2\x00.jpg").encode(), "control-character"),
    (manifest_line("2", "nevus", "https://a.org/2\x1b[31m.jpg").encode(), "control-character"),
    (manifest_line("2", "nevus", "https://a.org/2\t.jpg").encode(), "control-character"),
    (manifest_line("2", "nevus", "https://a.org/2\x7f.jpg").encode(), "control-character"),
    (manifest_line("2", "nevus", "https://a.org/2\u0085.jpg").encode(), "control-character"),
    (manifest_line("2", "nevus", "https://a.org/2").encode() + b"\xff.jpg", "bad-encoding"),
])
def test_a_hostile_line_is_rejected_with_its_reason_and_the_rest_imports(tmp_path, line, reason):
    path = write_lines(tmp_path, line, padding=PADDING)
    assert path.stat().st_size > 64 * 1024
    summary = import_manifest(path=path, name="hostile")
    assert (summary.imported, summary.rejected, dict(summary.rejected_by_reason)) == (PADDING + 1, 1, {reason: 1})
    assert summary.rejections[0].line == PADDING + 2 and summary.rejections[0].detail
    assert not ImageRecord.objects.filter(no__startswith="2").exists()
    assert not [url for url in ImageRecord.objects.values_list("url", flat=True) if not url.isprintable()]


@pytest.mark.parametrize("end", [b"\r", b"\r\n", b"\n"])
def test_every_line_end_keeps_rows_apart(tmp_path, end):
    second = manifest_line("2", "melanoma", "https://a.org/2.jpg").encode()
    path = tmp_path / "ends.csv"
    path.write_bytes(GOOD + end + second + end)
    summary = import_manifest(path=path, name="ends")
    assert (summary.lines, summary.imported, summary.rejected) == (2, 2, 0)
    assert list(ImageRecord.objects.order_by("no").values_list("no", "line", "url")) == [
        ("1", 1, "https://a.org/1.jpg"), ("2", 2, "https://a.org/2.jpg")]


def test_the_command_names_the_file_and_line_of_each_rejection(tmp_path, capsys):
    path = write_lines(tmp_path, manifest_line("2", "nevus", "https://[::1").encode())
    call_command("import_manifest", str(path), "--name", "hostile")
    assert f"{path}:2: rejected (bad-url): Invalid IPv6 URL" in capsys.readouterr().err
