"""The seed grammar of common.seeds, under the name this package's callers import it by.

No torch here: the web process and the commands' validation read seed lists too.
"""
from __future__ import annotations

from common.seeds import MAX_SEEDS, SEED_LIMIT, SeedError, Seeds, parse_seeds

__all__ = ["MAX_SEEDS", "SEED_LIMIT", "SeedError", "Seeds", "parse_seeds"]
