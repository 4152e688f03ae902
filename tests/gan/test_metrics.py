"""Frechet distance and KID."""

from __future__ import annotations

import numpy as np
import pytest
import scipy.linalg

from generator.gan.metrics import fid_kid, frechet_distance, kernel_distance

from .helpers import make_solid_colour_dataset


def _random_covariance(rng, dim):
    a = rng.randn(dim, dim * 2)
    return a @ a.T / (dim * 2)


def test_frechet_distance_matches_a_direct_scipy_sqrtm_computation():
    rng = np.random.RandomState(0)
    mu1, mu2 = rng.randn(16), rng.randn(16)
    s1, s2 = _random_covariance(rng, 16), _random_covariance(rng, 16)
    covmean = scipy.linalg.sqrtm(s1 @ s2).real
    expected = np.sum((mu1 - mu2) ** 2) + np.trace(s1 + s2 - 2 * covmean)
    assert frechet_distance(mu1, s1, mu2, s2) == pytest.approx(expected, rel=1e-6)
    assert frechet_distance(mu1, s1, mu1, s1) == pytest.approx(0.0, abs=1e-8)


def test_kid_is_near_zero_for_the_same_distribution_and_large_for_a_shifted_one():
    rng = np.random.RandomState(0)
    a, b = rng.randn(200, 8), rng.randn(200, 8)
    same, _ = kernel_distance(a, b, num_subsets=10, subset_size=100)
    shifted, _ = kernel_distance(a, b + 1.0, num_subsets=10, subset_size=100)
    assert abs(same) < 0.05 < shifted


def test_without_inception_weights_it_reports_labelled_local_kid_and_no_fid(trained_run, tmp_path):
    green = make_solid_colour_dataset(tmp_path / "green", hue=1 / 3, seed=1)
    same = fid_kid(trained_run["data_dir"], trained_run["data_dir"], device="cpu")
    other = fid_kid(trained_run["data_dir"], green, device="cpu")
    assert same["fid"] is None and other["fid"] is None
    assert same["label"] == "KID on random-conv-v1 features, not FID"
    assert "FID not computed" in same["note"]
    assert abs(same["kid_mean"]) * 10 < other["kid_mean"]


@pytest.mark.slow
@pytest.mark.filterwarnings("ignore:This DataLoader will create:UserWarning")  # torch-fidelity's own loader
def test_with_a_local_inception_weights_file_torch_fidelity_reports_fid_and_kid(tmp_path):
    # A randomly initialised Inception-v3 saved in torch-fidelity's format stands in for the real
    # weights: this checks our wiring to torch-fidelity (local file, nothing downloaded), not the values.
    from unittest import mock

    import torch
    from torch_fidelity.feature_extractor_inceptionv3 import FeatureExtractorInceptionV3

    torch.save({}, tmp_path / "empty.pt")
    with mock.patch.object(FeatureExtractorInceptionV3, "load_state_dict", lambda self, sd, **kw: None):
        net = FeatureExtractorInceptionV3("inception-v3-compat", ["2048"],
                                          feature_extractor_weights_path=str(tmp_path / "empty.pt"))
    torch.save(net.state_dict(), tmp_path / "inception.pth")
    real = make_solid_colour_dataset(tmp_path / "real", count=4)
    fake = make_solid_colour_dataset(tmp_path / "fake", count=4, hue=0.5)
    result = fid_kid(real, fake / "red", tmp_path / "inception.pth", device="cpu", batch_size=4)
    assert isinstance(result["fid"], float) and isinstance(result["kid_mean"], float)
    assert result["label"] == "FID and KID on Inception-v3 features"


def test_a_missing_inception_weights_file_is_an_error_not_a_download(tmp_path):
    with pytest.raises(FileNotFoundError, match="inception_weights"):
        fid_kid(tmp_path, tmp_path, tmp_path / "missing.pth", device="cpu")
