"""What management commands share: argparse types for numeric flags, and a row looked up by its name.

A bad number is refused by the parser with the flag's name:

    parser.add_argument("--limit", type=positive_int)  # --limit 0 -> "argument --limit: must be ..."

Management commands called with call_command turn the parser's error into a CommandError; from
the shell argparse prints it with the usage line and exits with status 2. No traceback either way.
"""
from __future__ import annotations

import argparse
import math
from collections.abc import Callable

from django.core.management.base import CommandError

MAX_INT = 2**63 - 1  # the largest number a database integer column holds


def number_type(kind: type, what: str, accept: Callable[[float], bool] = lambda value: True) -> Callable:
    """An argparse type: `kind(text)`, finite and within a database integer, and `accept`ed, or an
    error saying it "must be {what}"."""
    def parse(text: str):
        try:
            value = kind(text)
        except (TypeError, ValueError):
            value = None
        if value is None or abs(value) > MAX_INT or not math.isfinite(value) or not accept(value):
            shown = text if len(text) <= 40 else text[:40] + "…"
            raise argparse.ArgumentTypeError(f"must be {what}, got {shown!r}")
        return value

    parse.__name__ = what  # argparse names the type in its messages
    return parse


positive_int = number_type(int, "a whole number >= 1", lambda value: value >= 1)
non_negative_int = number_type(int, "a whole number >= 0", lambda value: value >= 0)
finite_float = number_type(float, "a finite number")
positive_float = number_type(float, "a finite number > 0", lambda value: value > 0)
non_negative_float = number_type(float, "a finite number >= 0", lambda value: value >= 0)


def named(rows, name: str, *, flag: str, what: str = "run"):
    """The row of `rows` (a model's manager or queryset) called `name`, or the command's one-line error
    naming the flag: `named(TrainingRun.objects, "x", flag="--run")` -> "--run: no run named 'x'"."""
    row = rows.filter(name=name).first()
    if row is None:
        raise CommandError(f"{flag}: no {what} named {name!r}")
    return row
