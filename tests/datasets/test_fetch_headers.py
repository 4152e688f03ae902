"""Retry-After as servers send it: delta-seconds in ASCII digits, or an HTTP date; anything else is ignored."""
from datasets.download.fetch import retry_after_seconds


def test_retry_after_reads_ascii_seconds_and_ignores_other_digits():
    assert retry_after_seconds("7") == 7.0
    assert retry_after_seconds(" 12 ") == 12.0
    assert retry_after_seconds("\u00b2") is None  # '²'.isdigit() is true; float() refuses it
    assert retry_after_seconds("\u0663") is None  # Arabic-Indic three: not what HTTP means by a digit
    assert retry_after_seconds("soon") is None and retry_after_seconds(None) is None


def test_retry_after_reads_an_http_date_as_seconds_from_now():
    assert retry_after_seconds("Wed, 21 Oct 2015 07:28:00 GMT") == 0.0  # in the past: retry now
