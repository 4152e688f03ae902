"""What a visitor may see of internal text: one rule for server paths, tracebacks and error detail.

Staff (`user.is_staff`) see everything. Anyone else sees a file name instead of a server path and
one short line instead of a traceback or an exception's detail. Templates use it as a filter
library (`{% load visibility %}`, registered in settings.TEMPLATES):

    {{ dataset.source|path_for:user }}          staff: /work/main/var/x.csv    visitors: x.csv
    {{ image.failure_detail|text_for:user }}    staff: the whole text          visitors: one safe line
    {% job_error run %}                          a failed run's `error`; staff also get `error_detail`
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from django import template
from django.utils.html import format_html

register = template.Library()

PUBLIC_TEXT_MAX = 160
# An absolute path's folders: a '/' (or 'C:\') that does not continue a word or a URL, then one or
# more "name/" steps. They are dropped and the file name kept, so "https://host/a/b.jpg" is left alone.
FOLDERS = re.compile(r"(?<![\w:/.~-])(?:[A-Za-z]:)?[\\/](?:[^\s\\/'\"]+[\\/])+")
TRACEBACK_HEAD = "Traceback (most recent call last)"


def is_staff(user) -> bool:
    return bool(getattr(user, "is_staff", False))


def public_path(path) -> str:
    """A server path as a visitor may see it: its last part only."""
    return PurePosixPath(str(path).replace("\\", "/")).name if path else ""


def public_text(text, limit: int = PUBLIC_TEXT_MAX) -> str:
    """One short line, safe for anyone: no traceback frames, no folders of a server path."""
    lines = [line.strip() for line in str(text or "").splitlines() if line.strip()]
    if not lines:
        return ""
    # A traceback's last line names the exception; its frames (files, lines, code) stay private.
    line = lines[-1] if lines[0].startswith(TRACEBACK_HEAD) else lines[0]
    line = FOLDERS.sub("", line)
    return line if len(line) <= limit else line[:limit - 1] + "…"


@register.filter
def path_for(value, user) -> str:
    return str(value or "") if is_staff(user) else public_path(value)


@register.filter
def text_for(value, user) -> str:
    return str(value or "") if is_staff(user) else public_text(value)


@register.simple_tag(takes_context=True)
def job_error(context, record):
    """The Error section of a failed run or experiment: a short reason; staff also get the traceback."""
    error, detail = getattr(record, "error", "") or "", getattr(record, "error_detail", "") or ""
    reason = public_text(error or detail)
    if not reason:
        return ""
    # Rows failed before `error_detail` existed hold the whole traceback in `error`.
    full = detail or (error if error.strip() != reason else "")
    if not (full and is_staff(context.get("user"))):
        return format_html('<h2>Error</h2><p class="failed error">{}</p>', reason)
    return format_html('<h2>Error</h2><p class="failed error">{}</p><details open><summary>Detail (staff only)'
                       '</summary><pre class="failed scroll">{}</pre></details>', reason, full)
