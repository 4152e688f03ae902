"""Careful reads for the seed pages: which seeds of a run are published, and by which publication.

A run's published seeds are the union of its finished publications' ranges; each seed shows the latest
finished publication that covers it. One `RunSeeds` is read per request (one query) and answers
everything a page needs: is a seed published, its neighbours, a random one, the morphs listed.
"""
from __future__ import annotations

import bisect
import hashlib
import random

from generator.models import TrainingRun

from .models import Publication, SeedProfile


class RunSeeds:
    """The finished publications of one run, latest first, and the seed ranges they cover."""

    def __init__(self, run: TrainingRun, publications: list[Publication], window: tuple[int, int] | None = None):
        self.run = run
        self.publications = publications  # latest first
        ranges = merge_ranges([(p.seed_lo, p.seed_hi) for p in publications])
        if window is not None:  # only the seeds inside [lo, hi] (a static export of part of a run)
            ranges = [(max(lo, window[0]), min(hi, window[1])) for lo, hi in ranges]
            ranges = [(lo, hi) for lo, hi in ranges if lo <= hi]
        self.ranges = ranges
        self._starts = [lo for lo, _ in self.ranges]

    @classmethod
    def of(cls, run: TrainingRun) -> RunSeeds:
        pubs = list(Publication.objects.done().filter(run=run).exclude(checkpoint_sha256="").latest_first())
        return cls(run, pubs)

    def __bool__(self) -> bool:
        return bool(self.ranges)

    @property
    def count(self) -> int:
        return sum(hi - lo + 1 for lo, hi in self.ranges)

    def has(self, seed: int) -> bool:
        i = bisect.bisect_right(self._starts, seed) - 1
        return i >= 0 and seed <= self.ranges[i][1]

    def publication(self, seed: int) -> Publication | None:
        if not self.has(seed):
            return None
        return next((p for p in self.publications if p.has_seed(seed)), None)

    def nth(self, index: int) -> int:
        """The index-th published seed in order (wrapping around)."""
        index %= self.count
        for lo, hi in self.ranges:
            if index <= hi - lo:
                return lo + index
            index -= hi - lo + 1
        raise IndexError(index)

    def index_of(self, seed: int) -> int:
        i = bisect.bisect_right(self._starts, seed) - 1
        return sum(hi - lo + 1 for lo, hi in self.ranges[:i]) + seed - self.ranges[i][0]

    def neighbours(self, seed: int) -> tuple[int, int]:
        """(previous, next) published seeds, wrapping around at the ends."""
        i = self.index_of(seed)
        return self.nth(i - 1), self.nth(i + 1)

    def stable_random(self, seed: int) -> int:
        """A 'random' other seed that is the same on every render (for the static export's pages)."""
        if self.count < 2:
            return seed
        digest = hashlib.sha256(f"{self.run.name}/{seed}".encode()).digest()
        step = 1 + int.from_bytes(digest[:8], "big") % (self.count - 1)
        return self.nth(self.index_of(seed) + step)

    def morph_pairs(self) -> list[tuple[int, int, Publication]]:
        """Every listed morph (a, b) whose publication is the one shown for seed a, in seed order."""
        seen = {}
        for pub in self.publications:
            for a, b in pub.morph_pairs:
                if (a, b) not in seen and self.has(b) and self.publication(a) is pub:
                    seen[(a, b)] = pub
        return sorted((a, b, pub) for (a, b), pub in seen.items())


def merge_ranges(ranges: list[tuple[int, int]]) -> list[tuple[int, int]]:
    merged: list[list[int]] = []
    for lo, hi in sorted(ranges):
        if merged and lo <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], hi)
        else:
            merged.append([lo, hi])
    return [(lo, hi) for lo, hi in merged]


def all_run_seeds(names: list[str] | None = None, window: tuple[int, int] | None = None) -> list[RunSeeds]:
    """RunSeeds of every run with a finished publication (or of the named ones), by run name, in one query;
    with a window, only the seeds inside it (runs with none inside are left out)."""
    pubs = Publication.objects.done().exclude(checkpoint_sha256="").select_related("run").latest_first()
    if names is not None:
        pubs = pubs.filter(run__name__in=names)
    by_run: dict[str, list[Publication]] = {}
    for pub in pubs:
        by_run.setdefault(pub.run.name, []).append(pub)
    runs = [RunSeeds(group[0].run, group, window) for _, group in sorted(by_run.items())]
    return [seeds for seeds in runs if seeds]


def random_seed(rng: random.Random | None = None) -> tuple[str, int] | None:
    """(run name, seed) drawn uniformly over every published seed of every run, or None."""
    rng = rng or random.SystemRandom()
    runs = all_run_seeds()
    total = sum(s.count for s in runs)
    if not total:
        return None
    pick = rng.randrange(total)
    for seeds in runs:
        if pick < seeds.count:
            return seeds.run.name, seeds.nth(pick)
        pick -= seeds.count
    return None


def counterpart_of(run: TrainingRun) -> TrainingRun | None:
    profile = SeedProfile.objects.filter(run=run).select_related("counterpart").first()
    return profile.counterpart if profile else None


def run_publications(run: TrainingRun) -> list[Publication]:
    """Every publication of a run, newest first (the run page's list, with progress)."""
    return list(Publication.objects.filter(run=run).order_by("-created_at", "-id"))
