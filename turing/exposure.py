"""What public pages may show of a live Turing set: nothing that tells its images' truth.

A visitor who finds a test image, or its source, on a labelled public page knows its answer. So:
- the galleries and thumbnails of a dataset that a live (not archived) set draws from are for staff
  only (`live_source_dataset_ids`, asked by the dataset views);
- a synthetic image rendered from a seed that a seed page publishes (or a run page's sample grid
  shows) is never put in a set (the build leaves it out and names it), and a seed page is never published
  for a seed that a live set's synthetic image was rendered from (`live_synthetic_seeds`, asked by seeds.services).

Which run rendered a synthetic image is not recorded on its row, so the match is by what is: its file
name (`seed0042.png`, as the generator writes it) and its class, against every publication of a run of
that class (an unlabelled run matches every class). It errs towards leaving an image out.
"""
from __future__ import annotations

import re
from pathlib import PurePosixPath

from datasets.models import ImageRecord

from .models import Truth, TuringImage

SEED_NAME = re.compile(r"seed0*([0-9]+)\.[A-Za-z0-9]+")


def record_seed(record: ImageRecord) -> int | None:
    """The seed a synthetic image's file name says it was rendered from, or None."""
    match = SEED_NAME.fullmatch(PurePosixPath(record.no).name)
    return int(match.group(1)) if match else None


def live_source_dataset_ids() -> set[int]:
    """The datasets whose images are in a set that participants can take now."""
    return set(TuringImage.objects.filter(turing_set__archived_at__isnull=True, record__isnull=False)
               .values_list("record__dataset_id", flat=True).distinct())


def published_ranges() -> list[tuple[str, int, int]]:
    """(class, first seed, last seed) of every seed publication, of any status (a failed or queued one
    may have pages already, or soon), and of every run's sample grid, which its public run page shows;
    '' is a run of every class."""
    # seeds ask this module in turn (a refused publication): imported when called
    from generator.models import TrainingRun
    from seeds.models import Publication

    # Run and image labels are stored normalised (common.labels, at import): compared as they are.
    ranges = [(label or "", lo, hi)
              for label, lo, hi in Publication.objects.values_list("run__label", "seed_lo", "seed_hi")]
    for label, config in TrainingRun.objects.exclude(latest_grid="").values_list("label", "config"):
        for seed in (config or {}).get("train", {}).get("grid_seeds", ()):
            ranges.append((label or "", seed, seed))
    return ranges


def is_published(record: ImageRecord, ranges: list[tuple[str, int, int]]) -> bool:
    seed = record_seed(record)
    if seed is None:
        return False
    return any(lo <= seed <= hi and cls in ("", record.label) for cls, lo, hi in ranges)


def live_synthetic_seeds(label: str, lo: int, hi: int) -> list[str]:
    """The synthetic images of live sets rendered (by their names) from a seed in [lo, hi] of class
    `label` ('' for every class), named as 'DATASET/ITEM (set N)'."""
    wanted = label or ""
    images = (TuringImage.objects.filter(turing_set__archived_at__isnull=True, truth=Truth.SYNTHETIC,
                                         record__isnull=False)
              .select_related("record", "record__dataset", "turing_set").order_by("turing_set__number", "id"))
    found = []
    for image in images:
        seed = record_seed(image.record)
        if seed is not None and lo <= seed <= hi and wanted in ("", image.record.label):
            found.append(f"{image.record.dataset.name}/{image.record.no} (set {image.turing_set.number})")
    return found
