"""Parse CAN-style manifests: `no label x_center y_center width height url`, one row a line.

Pure Python (no Django), streaming: `read_manifest(path)` yields one `Row` or `Rejected` per data
line and never holds the file in memory. Lines starting `##` are comments. Fields are separated
by single spaces and the URL is everything after the sixth field, because real manifests carry
URLs with spaces in them (CAN2000 line 7: `.../Borders Complete/Dysplastic Nevus/Fbl002.jpg`).
Line ends are LF, CRLF or a lone CR (old Mac files), each one line; a line with any other control
character (NUL, tab, ESC, DEL, C1) is rejected, wherever it is in the file.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterator
from pathlib import Path
from typing import NamedTuple
from urllib.parse import urlsplit

from common.labels import normalise_label

BOM = "\ufeff"
# A file is refused as "not a manifest" when more than this share of its data lines has the
# wrong shape (too few fields or coordinates that are not numbers).
MAX_MALFORMED_SHARE = 0.5
# Bytes sniffed to tell a binary file from text before anything is imported.
SNIFF_BYTES = 64 * 1024
# The longest `no` and label a row can hold (ImageRecord's columns are sized from these).
MAX_NO_LENGTH = 64
MAX_LABEL_LENGTH = 64
# Control characters, and bytes that are not UTF-8 (as surrogateescape decodes them): one search a line.
UNWANTED = re.compile(r"[\x00-\x1f\x7f-\x9f\udc80-\udcff]")


class ManifestError(ValueError):
    """The file as a whole is not a manifest; nothing was imported."""


class Row(NamedTuple):  # a tuple, not a dataclass: built 150,000 times per large import
    line: int
    no: str
    label: str
    x: float
    y: float
    w: float
    h: float
    url: str


class Rejected(NamedTuple):
    line: int
    reason: str
    detail: str
    # "malformed" rows count towards the not-a-manifest test; the rest are well-formed but invalid.
    malformed: bool = False


def sniff(path: Path) -> None:
    """Refuse binary files up front, with the file name in the message."""
    with open(path, "rb") as f:
        head = f.read(SNIFF_BYTES)
    if b"\x00" in head:
        raise ManifestError(f"{path}: not a manifest (binary data: NUL bytes in the first {len(head)} bytes)")
    try:
        head.decode("utf-8")
    except UnicodeDecodeError as exc:
        # A multi-byte character cut by the sniff window is fine; anything earlier is not UTF-8.
        if exc.start < len(head) - 4:
            raise ManifestError(f"{path}: not a manifest (not UTF-8 text at byte {exc.start})") from None


def read_manifest(path: Path) -> Iterator[Row | Rejected]:
    """Yield a Row or a Rejected for every data line, in file order (duplicates not checked here)."""
    # Universal newlines: a lone CR ends a line (it would otherwise glue the next row onto this URL).
    with open(path, encoding="utf-8", errors="surrogateescape", newline=None) as f:
        for number, text in enumerate(f, start=1):
            if number == 1:
                text = text.removeprefix(BOM)
            text = text.removesuffix("\n")
            if not text.strip() or text.startswith("##"):
                continue
            yield parse_line(number, text)


def parse_line(number: int, text: str) -> Row | Rejected:
    unwanted = UNWANTED.search(text)
    if unwanted:
        return reject_unwanted(number, text, unwanted.start())
    fields = text.split(" ", 6)
    if len(fields) < 7 or not fields[6].strip():
        return Rejected(number, "wrong-field-count", f"expected 7 fields, found {len(fields)}", malformed=True)
    no, label, *numbers, url = fields
    if not no or not label:
        return Rejected(number, "wrong-field-count", "empty no or label (double space?)", malformed=True)
    if len(no) > MAX_NO_LENGTH:
        return Rejected(number, "too-long", f"no is {len(no)} characters (at most {MAX_NO_LENGTH})")
    if len(label) > MAX_LABEL_LENGTH:
        return Rejected(number, "too-long", f"label is {len(label)} characters (at most {MAX_LABEL_LENGTH})")
    try:
        x, y, w, h = (float(value) for value in numbers)
    except ValueError:
        return Rejected(number, "bad-number", f"not a number in {' '.join(numbers)!r}", malformed=True)
    return check_values(number, no, label, (x, y, w, h), url.strip())


def reject_unwanted(number: int, text: str, at: int) -> Rejected:
    if "\udc80" <= text[at] <= "\udcff":
        offset = len(text[:at].encode("utf-8", "surrogateescape"))
        return Rejected(number, "bad-encoding", f"not UTF-8 at byte {offset} of the line", malformed=True)
    return Rejected(number, "control-character", f"control character U+{ord(text[at]):04X} at column {at + 1}",
                    malformed=True)


def check_values(number: int, no: str, label: str, box: tuple[float, float, float, float], url: str) -> Row | Rejected:
    names = ("x_center", "y_center", "width", "height")
    for name, value in zip(names, box):
        if not math.isfinite(value):
            return Rejected(number, "not-finite", f"{name} is {value}")
    for name, value in zip(names, box):
        if not 0.0 <= value <= 1.0:
            return Rejected(number, "out-of-range", f"{name} {value} outside [0, 1]")
    for name, value in zip(names[2:], box[2:]):
        if value == 0.0:
            return Rejected(number, "zero-size", f"{name} is 0")
    return check_url(number, url) or Row(number, no, normalise_label(label), *box, url)


def check_url(number: int, url: str) -> Rejected | None:
    try:
        parts = urlsplit(url)
        parts.port  # noqa: B018 - raises ValueError for a port that is not a number in 0-65535
    except ValueError as exc:  # "Invalid IPv6 URL" for https://[::1, a bad port
        return Rejected(number, "bad-url", f"{exc}: {url[:200]!r}")
    scheme = parts.scheme.lower()
    if scheme not in ("http", "https"):
        return Rejected(number, "bad-scheme", f"URL scheme {scheme or '(none)'!r} is not http or https")
    if not parts.hostname:
        return Rejected(number, "bad-url", f"URL has no host: {url[:200]!r}")
    return None
