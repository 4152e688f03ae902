"""Who may see a dataset's images. Those of a dataset that a live Turing test set draws from are for
staff only: a labelled thumbnail on a public page is the answer to a test image (turing/exposure.py)."""
from __future__ import annotations


def hidden_dataset_ids() -> set[int]:
    """Datasets whose images visitors may not see now."""
    # turing builds on datasets: asked when called, not imported with the module
    from turing.exposure import live_source_dataset_ids

    return live_source_dataset_ids()


def images_shown(user, dataset_id: int, hidden: set[int] | None = None) -> bool:
    if getattr(user, "is_staff", False):
        return True
    return dataset_id not in (hidden_dataset_ids() if hidden is None else hidden)
