"""Seed lists from text like '0-2500' or '1,5,9' (ranges include both ends), kept as ranges.

No torch here: the web process and the commands' validation read seed lists too.

    >>> seeds = parse_seeds("0-3,7")
    >>> list(seeds), len(parse_seeds("0-99999999"))
    ([0, 1, 2, 3, 7], 100000000)
"""
from __future__ import annotations

import itertools
from collections.abc import Sequence
from typing import Iterator


class Seeds(Sequence):
    """Seeds kept as ranges, never expanded: '0-99999999' costs two numbers, not gigabytes."""

    def __init__(self, ranges: list[range]):
        self.ranges = [r for r in ranges if len(r)]

    def __len__(self) -> int:
        return sum(len(r) for r in self.ranges)

    def __iter__(self) -> Iterator[int]:
        return itertools.chain.from_iterable(self.ranges)

    def __getitem__(self, index):
        if isinstance(index, slice):
            return list(itertools.islice(self, *index.indices(len(self))))
        if index < 0:
            index += len(self)
        for r in self.ranges:
            if 0 <= index < len(r):
                return r[index]
            index -= len(r)
        raise IndexError("seed index out of range")

    def __str__(self) -> str:
        """'0-2500,3000': the ranges as a --seeds flag writes them."""
        return ",".join(f"{r.start}-{r.stop - 1}" if len(r) > 1 else str(r.start) for r in self.ranges)

    def __repr__(self) -> str:
        return f"Seeds({self})"


def parse_seeds(text: str) -> Seeds:
    """'0-3,7' -> the seeds 0, 1, 2, 3, 7 (ranges include both ends). ValueError names the bad part."""
    ranges: list[range] = []
    for part in filter(None, (p.strip() for p in text.split(","))):
        lo, sep, hi = part.partition("-")
        try:
            first, last = int(lo), int(hi) if sep else int(lo)
        except ValueError:
            raise ValueError(f"{part!r} is not a seed or a range like 0-2500") from None
        if last < first:
            raise ValueError(f"{part!r} runs backwards (write {last}-{first})")
        ranges.append(range(first, last + 1))
    return Seeds(ranges)
