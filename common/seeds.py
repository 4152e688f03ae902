"""Seed lists from text like '0-2500' or '1,5,9' (ranges include both ends), kept as ranges.

One grammar for every tool that reads seeds (the GAN's command line, `generate`, `publish_seeds`,
`export_seed_pages`): parts separated by commas, each a seed or a range `a-b`, written in ASCII
digits 0-9 only. `int()` alone also takes '٣' (Arabic-Indic three), '1_0' and '+5', which no
other part of the site would read back the same way. Seeds lie in [0, 2**32), numpy's
RandomState range, since z for seed s is `np.random.RandomState(s).randn(1, z_dim)`.

    >>> seeds = parse_seeds("0-3,7")
    >>> list(seeds), len(parse_seeds("0-99999999")), parse_seed_range("10-19"), parse_seed(" 42")
    ([0, 1, 2, 3, 7], 100000000, (10, 19), 42)
"""

from __future__ import annotations

import itertools
from collections.abc import Iterator, Sequence
from typing import overload

SEED_LIMIT = 2**32  # seeds are in [0, SEED_LIMIT)
MAX_SEED = SEED_LIMIT - 1
MAX_SEEDS = 100_000  # per request or publication: a typo like 0-50000000 should not queue days of work
MAX_DIGITS = len(str(MAX_SEED))  # longer digit strings are refused before int() reads them


class SeedError(ValueError):
    """Text that is not a seed list; the message names the part and says why, in one line."""


class Seeds(Sequence[int]):
    """Seeds kept as ranges, never expanded: '0-99999999' costs two numbers, not gigabytes."""

    def __init__(self, ranges: list[range]):
        self.ranges = [r for r in ranges if len(r)]

    def __len__(self) -> int:
        return sum(len(r) for r in self.ranges)

    def __iter__(self) -> Iterator[int]:
        return itertools.chain.from_iterable(self.ranges)

    @overload
    def __getitem__(self, index: int) -> int: ...

    @overload
    def __getitem__(self, index: slice) -> list[int]: ...

    def __getitem__(self, index: int | slice) -> int | list[int]:
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


def _number(text: str, part: str) -> int:
    if not (text.isascii() and text.isdigit()) or len(text) > MAX_DIGITS:
        raise SeedError(f"{part!r} is not a seed or a range like 0-2500 (digits 0-9 only)")
    value = int(text)
    if value > MAX_SEED:
        raise SeedError(f"{part!r}: seeds go from 0 to {MAX_SEED} (below 2**32)")
    return value


def _range(part: str) -> range:
    lo, sep, hi = part.partition("-")
    first = _number(lo.strip(), part)
    last = _number(hi.strip(), part) if sep else first
    if last < first:
        raise SeedError(f"{part!r} runs backwards (write {last}-{first})")
    return range(first, last + 1)


def parse_seeds(text: str) -> Seeds:
    """'0-3,7' -> the seeds 0, 1, 2, 3, 7 (ranges include both ends); SeedError names the bad part."""
    seeds = Seeds([_range(part) for part in filter(None, (p.strip() for p in text.split(",")))])
    if not len(seeds):
        raise SeedError(f"{text!r} names no seed (write e.g. 0-2500 or 1,5,9)")
    return seeds


def parse_seed(text: str) -> int:
    """'42' -> 42: exactly one seed (no range, no list); SeedError otherwise."""
    return _number(text.strip(), text)


def parse_seed_range(text: str) -> tuple[int, int]:
    """'0-4999' -> (0, 4999), '7' -> (7, 7): one range, for what must be contiguous (a publication)."""
    if "," in text:
        raise SeedError(f"{text!r} is not one range like 0-4999")
    seeds = parse_seeds(text)
    return seeds.ranges[0].start, seeds.ranges[0].stop - 1
