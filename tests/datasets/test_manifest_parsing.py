"""The manifest parser on its own: field splitting, validation, encodings (no database)."""
from pathlib import Path

import pytest

from datasets.manifest import (
    ManifestError,
    Rejected,
    Row,
    parse_line,
    read_manifest,
    sniff,
)
from tests.conftest import shared_path


def write(tmp_path: Path, text: str | bytes, name: str = "m.csv") -> Path:
    path = tmp_path / name
    path.write_bytes(text if isinstance(text, bytes) else text.encode("utf-8"))
    return path


def test_it_keeps_spaces_inside_the_url():
    row = parse_line(7, "00004 nevus 0.5 0.5 0.6 0.8 http://www.siue.edu/~s/Borders Complete/Dysplastic Nevus/F 2.jpg")
    assert isinstance(row, Row)
    assert row.url == "http://www.siue.edu/~s/Borders Complete/Dysplastic Nevus/F 2.jpg"
    assert (row.no, row.label, row.x, row.y, row.w, row.h) == ("00004", "nevus", 0.5, 0.5, 0.6, 0.8)


@pytest.mark.parametrize("line, reason", [
    ("1 nevus 0.5 abc 0.5 0.5 http://a/b.jpg", "bad-number"),
    ("1 nevus 0.5 nan 0.5 0.5 http://a/b.jpg", "not-finite"),
    ("1 nevus 0.5 inf 0.5 0.5 http://a/b.jpg", "not-finite"),
    ("1 nevus 1.2 0.5 0.5 0.5 http://a/b.jpg", "out-of-range"),
    ("1 nevus 0.5 0.5 -0.1 0.5 http://a/b.jpg", "out-of-range"),
    ("1 nevus 0.5 0.5 0.0 0.5 http://a/b.jpg", "zero-size"),
    ("1 nevus 0.5 0.5 0.5 0 http://a/b.jpg", "zero-size"),
    ("1 nevus 0.5 0.5 0.5 0.5 ftp://a/b.jpg", "bad-scheme"),
    ("1 nevus 0.5 0.5 0.5 0.5 file:///etc/passwd", "bad-scheme"),
    ("1 nevus 0.5 0.5 0.5 0.5 javascript:alert(1)", "bad-scheme"),
    ("1 nevus 0.5 0.5 0.5", "wrong-field-count"),
])
def test_it_rejects_bad_rows_with_a_reason(line, reason):
    result = parse_line(3, line)
    assert isinstance(result, Rejected)
    assert (result.line, result.reason) == (3, reason)
    assert result.detail


def test_it_accepts_the_edges_of_the_unit_box():
    assert isinstance(parse_line(1, "1 nevus 0 1 1 1 https://a/b.jpg"), Row)


def test_it_handles_bom_crlf_comments_and_non_ascii(tmp_path):
    text = "\ufeff## comment\r\n\r\n00001 nevus 0.5 0.5 0.5 0.5 https://exämple.org/naevus_ü.jpg\r\n"
    items = list(read_manifest(write(tmp_path, text)))
    assert items == [Row(3, "00001", "nevus", 0.5, 0.5, 0.5, 0.5, "https://exämple.org/naevus_ü.jpg")]


def test_a_bom_before_a_data_line_does_not_spoil_its_number(tmp_path):
    items = list(read_manifest(write(tmp_path, "\ufeff00001 nevus 0.5 0.5 0.5 0.5 https://a/b.jpg\n")))
    assert items[0].no == "00001"


def test_it_refuses_binary_files(tmp_path):
    with pytest.raises(ManifestError, match="binary"):
        sniff(write(tmp_path, b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR" + bytes(range(256))))


def test_it_refuses_text_that_is_not_utf8(tmp_path):
    with pytest.raises(ManifestError, match="UTF-8"):
        sniff(write(tmp_path, "1 nevus 0.5 0.5 0.5 0.5 http://a/é.jpg\n".encode("latin-1") + b"x" * 10))


def test_the_real_can2000_manifest_parses_with_its_real_defects():
    items = list(read_manifest(shared_path("manifests", "CAN2000.csv")))
    rows = [i for i in items if isinstance(i, Row)]
    rejected = [i for i in items if isinstance(i, Rejected)]
    assert len(items) == 2006
    assert {r.reason for r in rejected} == {"zero-size"}
    assert len(rows) == 2006 - len(rejected)
    assert any(" " in r.url for r in rows), "CAN2000 has URLs with spaces"
    assert {r.label for r in rows} == {"nevus", "melanoma"}  # normalised as they are read (common.labels)
