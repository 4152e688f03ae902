"""One label map and one key rule, applied once where a label comes in (manifest rows, class
folders, run labels, a network's class names); stored labels are already normal and read as they are.

The key of a name is its ASCII letters, lowercased: "Malignant_Melanoma", "melanoma 2019" and
"MELANOMA-2019" all have the key "melanoma..." and become "melanoma". Digits and punctuation are
dropped because folder names carry years and counters ("Melanoma_2019", "nevus2"); a name whose key
is not in the map keeps its own spelling. (Two rules disagreed before: one kept digits, so
`Melanoma_2019` was melanoma to the classifier and neither class to the Turing test.)

    >>> normalise_label("Melanoma_2019"), normalise_label("Melanocytic naevus"), normalise_label("bcc")
    ('melanoma', 'nevus', 'bcc')
    >>> class_index("MalignantMelanoma"), class_index("nevus"), class_index("bcc")
    (1, 0, None)
"""

from __future__ import annotations

import re

MELANOMA = "melanoma"
NEVUS = "nevus"
CLASSES = (NEVUS, MELANOMA)  # the classifier's class index is the position here (melanoma = 1)
LABEL_ALIASES = {
    "malignantmelanoma": MELANOMA,
    "melanoma": MELANOMA,
    "melanocyticnevus": NEVUS,
    "melanocyticnaevus": NEVUS,
    "nevus": NEVUS,
    "naevus": NEVUS,
}
NOT_A_LETTER = re.compile(r"[^a-z]")


def label_key(name: str) -> str:
    """The letters a-z of a name, lowercased: the only part of it the map looks at."""
    return NOT_A_LETTER.sub("", name.lower())


def normalise_label(name: str) -> str:
    """"melanoma" or "nevus" for any name of theirs; other names unchanged."""
    return LABEL_ALIASES.get(label_key(name), name)


def class_index(name: str) -> int | None:
    """1 for melanoma, 0 for nevus, None for any other label."""
    label = normalise_label(name)
    return CLASSES.index(label) if label in CLASSES else None
