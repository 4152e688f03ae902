"""common.flags: the checked argparse number types of every command line, Django's and the pure ones."""
import argparse

import pytest

from common import flags


@pytest.mark.parametrize(("kind", "text", "value"), [
    (flags.positive_int, "7", 7), (flags.non_negative_int, "0", 0), (flags.finite_float, "-0.5", -0.5),
    (flags.positive_float, "1e-3", 0.001), (flags.seed_number, "4294967295", 2**32 - 1),
    (flags.ranged_float(0, 1), "1", 1.0),
])
def test_good_numbers_are_read(kind, text, value):
    assert kind(text) == value


@pytest.mark.parametrize(("kind", "text", "message"), [
    (flags.positive_int, "0", "must be a whole number >= 1, got '0'"),
    (flags.positive_int, "٣", "must be a whole number >= 1, got '٣'"),  # int() alone reads it as 3
    (flags.non_negative_int, "1.5", "must be a whole number >= 0"),
    (flags.finite_float, "nan", "must be a finite number, got 'nan'"),
    (flags.positive_float, "inf", "must be a finite number > 0"),
    (flags.seed_number, "4294967296", "must be a whole number from 0 to 4294967295"),
    (flags.ranged_float(0, 1), "-0.1", "must be a number from 0 to 1"),
    (flags.positive_int, str(2**63), "must be a whole number >= 1"),  # more than a database integer holds
    (flags.positive_int, "9" * 60, "got '" + "9" * 40 + "…'"),
])
def test_bad_numbers_are_one_line_errors_saying_what_they_must_be(kind, text, message):
    with pytest.raises(argparse.ArgumentTypeError) as error:
        kind(text)
    assert message in str(error.value) and "\n" not in str(error.value)


def test_the_django_commands_use_the_same_types():
    """cansite.cli re-exports common.flags: one home for the commands and the pure command lines."""
    from cansite import cli

    assert cli.positive_int is flags.positive_int and cli.number_type is flags.number_type
