"""The site's languages as views and pages use them (settings.LANGUAGES is the one list of them).

    codes()                       ["en", "ko", "es"]
    label_name("melanoma")        "흑색종" while Korean is active; other labels as they are stored
    allowed_language("ko", ["en", "es"], "ko,es;q=0.5")   "es": the language a page limited to those shows
    limit_language(request, ["en", "es"])   the same for a request, activated

Visitors choose with the switcher (templates/languages.html posts to Django's set_language, which keeps the
choice in a cookie) or their browser's Accept-Language; LocaleMiddleware activates it for each request.
"""
from __future__ import annotations

import re
from collections.abc import Sequence

from django.conf import settings
from django.utils import translation
from django.utils.translation import pgettext_lazy

from common.labels import MELANOMA, NEVUS

LABEL_NAMES = {MELANOMA: pgettext_lazy("lesion class", "melanoma"),
               NEVUS: pgettext_lazy("lesion class", "nevus")}
ACCEPT_ITEM = re.compile(r"\s*([A-Za-z]{1,8}(?:-[A-Za-z0-9]{1,8})*|\*)\s*(?:;\s*q\s*=\s*([01](?:\.\d{0,3})?))?\s*$")


def codes() -> list[str]:
    return [code for code, _ in settings.LANGUAGES]


def label_name(label: str) -> str:
    """A class label (normalised by common.labels) in the active language; a label of no known class stays."""
    name = LABEL_NAMES.get(label)
    return str(name) if name is not None else label


def accepted(header: str) -> list[str]:
    """The primary language codes of an Accept-Language header, best first (q=0 and malformed items dropped)."""
    weighted = []
    for index, item in enumerate(header.split(",")[:50]):  # a header of thousands of items is no browser's
        match = ACCEPT_ITEM.match(item)
        if match and (quality := float(match.group(2) or 1)) > 0:
            weighted.append((-quality, index, match.group(1).split("-")[0].lower()))
    return [code for _, _, code in sorted(weighted)]


def allowed_language(active: str, allowed: Sequence[str], accept: str = "") -> str:
    """The language of a page that may only be shown in `allowed` (a study's languages).

    The visitor's active language (their switcher choice, else Accept-Language; "es-cl" counts as "es") when
    it is allowed; else the best of their other Accept-Language choices that is; else the first allowed one.
    An empty `allowed` allows all of the site's."""
    allowed = [code for code in allowed if code in codes()] or codes()
    active = (active or settings.LANGUAGE_CODE).lower()
    for code in (active, active.split("-")[0], *accepted(accept)):
        if code in allowed:
            return code
    return allowed[0]


def limit_language(request, allowed: Sequence[str]) -> str:
    """allowed_language() for this request, activated for the rest of it (and in request.LANGUAGE_CODE)."""
    chosen = allowed_language(translation.get_language(), allowed, request.META.get("HTTP_ACCEPT_LANGUAGE", ""))
    translation.activate(chosen)
    request.LANGUAGE_CODE = chosen
    return chosen
