"""Tests on the real data beside the repository: a clear skip on a clone without it, a failure in CI."""
import pytest

from tests.shared_data import SHARED_DATA, require


def test_missing_shared_data_skips_with_where_it_goes_outside_ci(monkeypatch, tmp_path):
    monkeypatch.delenv("CI", raising=False)
    with pytest.raises(pytest.skip.Exception, match=f"put the project's shared data at {SHARED_DATA}"):
        require(tmp_path / "manifests" / "CAN2000.csv", "real test data")


def test_missing_shared_data_fails_under_ci(monkeypatch, tmp_path):
    monkeypatch.setenv("CI", "true")
    with pytest.raises(pytest.fail.Exception, match="real test data not found"):
        require(tmp_path / "lesions", "real test data")


def test_present_shared_data_is_returned(tmp_path):
    assert require(tmp_path, "a folder") == tmp_path
