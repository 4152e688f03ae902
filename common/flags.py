"""argparse types for numeric flags, one home for the Django commands (through cansite.cli) and the
pure command lines (python -m generator.gan.cli, ...), which may not import Django.

A bad number is refused by the parser, naming the flag, in one line and before anything runs:

    >>> import argparse
    >>> parser = argparse.ArgumentParser(prog="p", exit_on_error=False)
    >>> _ = parser.add_argument("--limit", type=positive_int)
    >>> parser.parse_args(["--limit", "3"]).limit
    3
    >>> try:
    ...     parser.parse_args(["--limit", "0"])
    ... except argparse.ArgumentError as exc:
    ...     print(exc)
    argument --limit: must be a whole number >= 1, got '0'

Numbers are written in ASCII: `int()` alone also takes '٣' (Arabic-Indic three), which nothing
else here reads back the same way (common.seeds refuses it too).
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from .seeds import MAX_SEED

MAX_INT = 2**63 - 1  # the largest number a database integer column holds
SHOWN = 40  # characters of a refused value repeated in the message


class OneLineParser(argparse.ArgumentParser):
    """The parser of a pure command line: a refused flag is one line, `PROG: error: argument --x: ...`,
    status 2, without argparse's usage block (which --help shows); its subcommands' parsers too."""

    def error(self, message: str):
        self.exit(2, f"{self.prog}: error: {message}\n")


def number_type(kind: type, what: str, accept: Callable[[float], bool] = lambda value: True) -> Callable:
    """An argparse type: `kind(text)`, finite and within a database integer, and `accept`ed, or an
    error saying it "must be {what}"."""
    def parse(text: str):
        try:
            value = kind(text) if text.isascii() else None
        except (TypeError, ValueError):
            value = None
        if value is None or abs(value) > MAX_INT or not math.isfinite(value) or not accept(value):
            shown = text if len(text) <= SHOWN else text[:SHOWN] + "…"
            raise argparse.ArgumentTypeError(f"must be {what}, got {shown!r}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


def ranged_float(lo: float, hi: float) -> Callable:
    """A float flag within [lo, hi] (a truncation psi, a probability)."""
    return number_type(float, f"a number from {lo:g} to {hi:g}", lambda value: lo <= value <= hi)


positive_int = number_type(int, "a whole number >= 1", lambda value: value >= 1)
non_negative_int = number_type(int, "a whole number >= 0", lambda value: value >= 0)
finite_float = number_type(float, "a finite number")
positive_float = number_type(float, "a finite number > 0", lambda value: value > 0)
non_negative_float = number_type(float, "a finite number >= 0", lambda value: value >= 0)
# A random seed, in the range of the seeds of samples (numpy's RandomState takes no more).
seed_number = number_type(int, f"a whole number from 0 to {MAX_SEED}", lambda value: 0 <= value <= MAX_SEED)
