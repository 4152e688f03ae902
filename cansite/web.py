"""HTTP helpers every app's views share: query values read safely, a download's file name, and the
middleware that answers 404 to control characters in a request.

The rule: a malformed or unknown query value is ignored (the page shows its default) or answered
404, never a 500. `int_param` accepts ASCII digits only ("²".isdigit() is True, and int() of a
5,000-digit string raises) within bounds; `text_param` drops values no page could have asked for.
"""
from __future__ import annotations

import re
from pathlib import Path
from urllib.parse import quote

from django.http import FileResponse, Http404
from django.utils.cache import get_conditional_response

DIGITS = re.compile(r"[0-9]{1,9}")
CONTROL = re.compile(r"[\x00-\x1f\x7f]")
TEXT_PARAM_MAX = 500
IMMUTABLE = "public, max-age=31536000, immutable"


def int_param(query, name: str, *, low: int = 0, high: int = 10**6) -> int | None:
    """`query[name]` as an int in [low, high], or None when it is missing or malformed."""
    value = query.get(name, "")
    if not DIGITS.fullmatch(value):
        return None
    number = int(value)
    return number if low <= number <= high else None


def text_param(query, name: str, *, choices=None) -> str:
    """`query[name]`, or "" when it is missing, too long, holds a control character or is not a choice."""
    value = query.get(name, "")
    if len(value) > TEXT_PARAM_MAX or CONTROL.search(value):
        return ""
    if choices is not None and value not in choices:
        return ""
    return value


def attachment(filename: str) -> str:
    """A Content-Disposition value for any name: an ASCII fallback and the exact name (RFC 6266, 5987)."""
    fallback = re.sub(r"[^A-Za-z0-9._-]+", "_", filename).strip("._") or "download"
    return f"attachment; filename=\"{fallback}\"; filename*=UTF-8''{quote(filename, safe='')}"


def reject_control_characters(get_response):
    """404 for a NUL anywhere in the query or a control character in the path, before any view runs.

    No page has such a name, and PostgreSQL refuses NUL in text outright (a DataError: a 500)."""
    def middleware(request):
        if CONTROL.search(request.path) or any(
                "\x00" in key or any("\x00" in value for value in values) for key, values in request.GET.lists()):
            raise Http404("malformed request")
        return get_response(request)

    return middleware


def immutable_file(request, path: Path, content_type: str, etag: str):
    """A file whose name is its identity (its bytes never change): cached for a year, with an ETag, and
    304 to a matching If-None-Match. A missing file is a 404."""
    try:
        size = path.stat().st_size
    except OSError:
        raise Http404("no such file") from None
    etag = f'"{etag}-{size}"'
    response = get_conditional_response(request, etag=etag)
    if response is None:
        response = FileResponse(open(path, "rb"), content_type=content_type)  # noqa: SIM115 (the response closes it)
    response["ETag"], response["Cache-Control"] = etag, IMMUTABLE
    return response
