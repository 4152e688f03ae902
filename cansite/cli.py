"""What management commands share: argparse types for numeric flags, and a row looked up by its name.

The number types live in common.flags (the pure command lines use them too) and are re-exported here:

    parser.add_argument("--limit", type=positive_int)  # --limit 0 -> "argument --limit: must be ..."

Management commands called with call_command turn the parser's error into a CommandError; from
the shell argparse prints it with the usage line and exits with status 2. No traceback either way.
"""
from __future__ import annotations

from django.core.management.base import CommandError

from common.flags import (
    MAX_INT,
    finite_float,
    non_negative_float,
    non_negative_int,
    number_type,
    positive_float,
    positive_int,
    ranged_float,
)

__all__ = ["MAX_INT", "finite_float", "named", "non_negative_float", "non_negative_int", "number_type",
           "positive_float", "positive_int", "ranged_float"]


def named(rows, name: str, *, flag: str, what: str = "run"):
    """The row of `rows` (a model's manager or queryset) called `name`, or the command's one-line error
    naming the flag: `named(TrainingRun.objects, "x", flag="--run")` -> "--run: no run named 'x'"."""
    row = rows.filter(name=name).first()
    if row is None:
        raise CommandError(f"{flag}: no {what} named {name!r}")
    return row
