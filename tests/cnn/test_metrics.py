"""Metrics against scikit-learn, the slow DeLong definition, pROC's and Newcombe's
published numbers, and an independent Wilson interval."""

import json
import math

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from classifier.cnn.metrics import (
    Z95,
    binary_metrics,
    delong_auc_cov,
    delong_test,
    wilson_interval,
    youden_threshold,
)

# pROC's example data set aSAH (Turck et al. 2010, Intensive Care Med 36:107-115; shipped
# with R's pROC): outcome (1 = poor, 41 of 113), s100b and wfns, in the data set's order.
# pROC's documentation reports for it: roc(outcome, s100b) AUC 0.7314, 95% CI (DeLong)
# 0.6301-0.8326; roc(outcome, wfns) AUC 0.8237, CI 0.7485-0.8988; roc.test(s100b, wfns)
# Z = -2.209, p = 0.02718; coords(s100b, "best") threshold 0.205, specificity 0.8055556,
# sensitivity 0.6341463.
ASAH_Y = [
    0, 0, 0, 0, 1, 1, 0, 1, 0, 0, 1, 0, 1, 1, 0, 0, 1, 0, 1, 1, 1, 0, 1, 0, 0, 0, 0, 0,
    0, 0, 0, 0, 1, 0, 0, 1, 1, 0, 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 0, 0, 0, 1, 0,
    0, 0, 1, 0, 1, 0, 0, 1, 1, 1, 0, 1, 1, 0, 1, 1, 1, 1, 0, 0, 0, 1, 1, 0, 1, 0, 0, 0,
    0, 0, 0, 1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1, 0, 0, 0, 1, 0, 0,
    0,
]  # fmt: skip
ASAH_S100B = [
    0.13, 0.14, 0.1, 0.04, 0.13, 0.1, 0.47, 0.16, 0.18, 0.1, 0.12, 0.1, 0.44, 0.71,
    0.04, 0.08, 0.49, 0.04, 0.07, 0.33, 0.09, 0.09, 0.07, 0.11, 0.07, 0.17, 0.07, 0.11,
    0.13, 0.19, 0.05, 0.16, 0.41, 0.14, 0.34, 0.35, 0.48, 0.09, 0.96, 0.25, 0.5, 0.46,
    0.16, 0.07, 0.43, 0.45, 0.11, 0.08, 0.09, 0.86, 0.52, 0.08, 0.06, 0.13, 2.07, 0.1,
    0.14, 0.15, 0.07, 0.06, 0.77, 0.05, 0.09, 0.3, 0.03, 0.09, 0.04, 0.23, 0.7, 0.09,
    0.27, 0.71, 0.08, 0.26, 0.08, 0.16, 0.09, 0.13, 0.1, 0.08, 0.11, 0.33, 0.11, 0.28,
    0.07, 0.1, 0.32, 0.22, 0.07, 0.05, 0.24, 0.38, 0.1, 0.15, 0.08, 0.14, 0.1, 0.07,
    0.04, 0.19, 0.56, 0.14, 0.58, 0.32, 0.82, 0.74, 0.15, 0.47, 0.17, 0.44, 0.15, 0.5,
    0.48,
]  # fmt: skip
ASAH_WFNS = [
    1, 1, 1, 1, 3, 2, 5, 4, 1, 2, 5, 2, 5, 5, 1, 2, 5, 2, 2, 5, 2, 1, 1, 1, 1, 2, 1, 2,
    1, 1, 3, 4, 2, 1, 4, 5, 4, 1, 4, 2, 5, 5, 1, 1, 2, 4, 1, 1, 2, 5, 5, 2, 1, 2, 5, 1,
    2, 2, 2, 1, 5, 1, 1, 2, 5, 2, 1, 4, 5, 2, 4, 4, 1, 4, 1, 2, 1, 4, 2, 1, 2, 3, 2, 4,
    2, 1, 4, 5, 1, 1, 5, 4, 2, 2, 1, 1, 1, 3, 1, 2, 5, 2, 2, 5, 5, 5, 2, 4, 4, 5, 1, 1,
    1,
]  # fmt: skip


def make_scores(seed: int, n: int = 200, decimals: int = 1):
    """Labels and scores that overlap, rounded so that many scores tie."""
    rng = np.random.default_rng(seed)
    y = rng.integers(0, 2, n)
    s = np.round(rng.normal(size=n) + 0.8 * y, decimals)
    return y, s


def slow_delong(y, scores):
    """DeLong et al. (1988) straight from the definition: the m x n comparison matrix."""
    y = np.asarray(y)
    scores = np.atleast_2d(scores)
    v10, v01, aucs = [], [], []
    for s in scores:
        pos, neg = s[y == 1], s[y == 0]
        psi = (pos[:, None] > neg[None, :]) + 0.5 * (pos[:, None] == neg[None, :])
        aucs.append(psi.mean())
        v10.append(psi.mean(axis=1))  # one per positive
        v01.append(psi.mean(axis=0))  # one per negative
    m, n = len(v10[0]), len(v01[0])
    cov = np.cov(np.array(v10)) / m + np.cov(np.array(v01)) / n
    return np.array(aucs), np.atleast_2d(cov)


@pytest.mark.parametrize("seed", range(5))
def test_it_matches_sklearn_auc_with_ties(seed):
    y, s = make_scores(seed)
    assert len(np.unique(s)) < len(s) / 3  # plenty of ties
    assert binary_metrics(y, s)["auc"] == pytest.approx(roc_auc_score(y, s), abs=1e-12)


@pytest.mark.parametrize("seed", range(3))
def test_its_delong_covariance_equals_the_slow_definition(seed):
    y, a = make_scores(seed)
    b = np.round(a + np.random.default_rng(seed).normal(size=len(a)), 1)  # correlated with a
    fast_auc, fast_cov = delong_auc_cov(y, np.vstack([a, b]))
    slow_auc, slow_cov = slow_delong(y, np.vstack([a, b]))
    np.testing.assert_allclose(fast_auc, slow_auc, rtol=1e-12)
    np.testing.assert_allclose(fast_cov, slow_cov, rtol=1e-10)


def test_it_reproduces_proc_on_the_asah_example():
    s100b = binary_metrics(ASAH_Y, ASAH_S100B)
    assert s100b["auc"] == pytest.approx(0.7314, abs=5e-5)
    assert s100b["auc_ci"] == pytest.approx([0.6301, 0.8326], abs=5e-5)
    wfns = binary_metrics(ASAH_Y, ASAH_WFNS)  # a 5-level score: mostly ties
    assert wfns["auc"] == pytest.approx(0.8237, abs=5e-5)
    assert wfns["auc_ci"] == pytest.approx([0.7485, 0.8988], abs=5e-5)
    test = delong_test(ASAH_Y, ASAH_S100B, ASAH_WFNS)
    assert test["z"] == pytest.approx(-2.209, abs=5e-4)
    assert test["p"] == pytest.approx(0.02718, abs=5e-6)
    assert test["diff"] == pytest.approx(s100b["auc"] - wfns["auc"])


def test_its_youden_threshold_matches_proc_best_coords():
    t = youden_threshold(ASAH_Y, ASAH_S100B)
    m = binary_metrics(ASAH_Y, ASAH_S100B, t)
    assert t == pytest.approx(0.205)
    assert (m["spec"], m["sens"]) == pytest.approx((0.8055556, 0.6341463), abs=1e-7)


def wilson_by_quadratic(k, n, z=Z95):
    """Wilson's interval as the two roots p of (k/n - p)^2 = z^2 p (1 - p) / n."""
    phat = k / n
    a, b, c = 1 + z * z / n, -(2 * phat + z * z / n), phat * phat
    return sorted(np.roots([a, b, c]).real)


@pytest.mark.parametrize("k,n", [(0, 7), (3, 10), (81, 263), (50, 50), (1, 1), (499, 1000)])
def test_its_wilson_intervals_match_an_independent_computation(k, n):
    assert wilson_interval(k, n) == pytest.approx(wilson_by_quadratic(k, n), abs=1e-7)


@pytest.mark.parametrize("k,n,expected", [(81, 263, (0.2553, 0.3662)), (15, 148, (0.0624, 0.1605)),
                                          (0, 20, (0.0, 0.1611)), (1, 29, (0.0061, 0.1718))])
def test_its_wilson_intervals_match_newcombe_1998(k, n, expected):
    # Newcombe, Statistics in Medicine 17:857-872 (1998), Table I, method 3 (score, no CC).
    assert wilson_interval(k, n) == pytest.approx(list(expected), abs=5e-5)


def test_it_counts_a_score_equal_to_the_threshold_as_melanoma():
    m = binary_metrics([1, 0, 1, 0], [0.5, 0.5, 0.2, 0.1], threshold=0.5)
    assert (m["tp"], m["fp"], m["tn"], m["fn"]) == (1, 1, 1, 1)


def test_its_rates_and_intervals_agree_with_the_counts():
    y, s = make_scores(7)
    m = binary_metrics(y, 1 / (1 + np.exp(-s)), threshold=0.6)
    assert m["tp"] + m["fp"] + m["tn"] + m["fn"] == m["n"] == len(y)
    assert m["sens"] == m["tp"] / (m["tp"] + m["fn"])
    assert m["npv"] == m["tn"] / (m["tn"] + m["fn"])
    for name in ("acc", "sens", "spec", "ppv", "npv"):
        low, high = m[f"{name}_ci"]
        assert 0 <= low <= m[name] <= high <= 1
        assert m[f"{name}_ci"] == wilson_interval(*{"acc": (m["tp"] + m["tn"], m["n"]),
                                                    "sens": (m["tp"], m["n_pos"]), "spec": (m["tn"], m["n_neg"]),
                                                    "ppv": (m["tp"], m["tp"] + m["fp"]),
                                                    "npv": (m["tn"], m["tn"] + m["fn"])}[name])
    assert m["auc_ci"] == pytest.approx([m["auc"] - Z95 * m["auc_se"], m["auc"] + Z95 * m["auc_se"]])


def test_it_gives_none_where_a_denominator_is_zero():
    m = binary_metrics([1, 0, 1, 0], [0.1, 0.2, 0.3, 0.4], threshold=0.9)  # nothing called melanoma
    assert m["ppv"] is None and m["ppv_ci"] == [None, None]
    assert m["sens"] == 0.0 and m["npv"] == 0.5
    one_class = binary_metrics([0, 0, 0], [0.1, 0.7, 0.3])
    assert one_class["auc"] is None and one_class["auc_ci"] == [None, None] and one_class["roc"] is None
    assert one_class["sens"] is None and one_class["spec"] == pytest.approx(2 / 3)


def test_it_clips_the_auc_interval_and_handles_perfect_separation():
    m = binary_metrics([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.3, 0.7, 0.8, 0.9])
    assert m["auc"] == 1.0 and m["auc_se"] == 0.0 and m["auc_ci"] == [1.0, 1.0]
    m = binary_metrics([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.75, 0.7, 0.8, 0.9])
    assert m["auc_ci"][1] <= 1.0 and m["auc_ci"][0] < m["auc"]


def test_its_output_is_strict_json():
    y, s = make_scores(3)
    text = json.dumps(binary_metrics(y, s, 0.3), allow_nan=False)
    roc = json.loads(text)["roc"]
    assert roc["fpr"][0] == 0.0 and roc["tpr"][-1] == 1.0 and roc["thresholds"][0] is None
    assert len(roc["fpr"]) == len(roc["tpr"]) == len(roc["thresholds"])


def test_delong_test_finds_no_difference_between_identical_scores():
    y, s = make_scores(1)
    t = delong_test(y, s, s)
    assert (t["diff"], t["z"], t["p"]) == (0.0, 0.0, 1.0)


def test_delong_test_detects_a_clearly_better_model():
    rng = np.random.default_rng(0)
    y = rng.integers(0, 2, 400)
    good, bad = y * 2.0 + rng.normal(size=400), y * 0.3 + rng.normal(size=400)
    t = delong_test(y, good, bad)
    assert t["diff"] > 0 and t["p"] < 1e-6 and t["diff_ci"][0] > 0
    assert t["z"] == pytest.approx(t["diff"] / t["se"])
    assert t["p"] == pytest.approx(math.erfc(abs(t["z"]) / math.sqrt(2)))


def test_youden_threshold_separates_a_separable_set():
    t = youden_threshold([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9])
    assert t == pytest.approx(0.45)
    m = binary_metrics([0, 0, 1, 1], [0.1, 0.3, 0.6, 0.9], t)
    assert m["sens"] == m["spec"] == 1.0


@pytest.mark.parametrize("y,s", [([0, 1, 2], [0.1, 0.2, 0.3]), ([0, 1], [0.1]), ([0, 1], [0.1, float("nan")])])
def test_it_refuses_bad_input(y, s):
    with pytest.raises(ValueError):
        binary_metrics(y, s)


def wilson_closed_form(k, n, z=Z95):
    """The closed form wilson_interval used before it became one scipy call, clamped to [0, 1]."""
    p = k / n
    denom = 1.0 + z * z / n
    centre = (p + z * z / (2 * n)) / denom
    half = z * math.sqrt(p * (1 - p) / n + z * z / (4 * n * n)) / denom
    return [max(0.0, centre - half), min(1.0, centre + half)]


@pytest.mark.parametrize("n", [1, 2, 7, 10, 263, 1000])
def test_the_scipy_wilson_interval_gives_the_old_closed_forms_numbers(n):
    for k in range(n + 1):  # 0/n and n/n included: exactly 0 and 1 at the ends, as before
        assert wilson_interval(k, n) == pytest.approx(wilson_closed_form(k, n), abs=1e-12)
    assert wilson_interval(0, n)[0] == 0.0 and wilson_interval(n, n)[1] == 1.0
    assert wilson_interval(0, 0) == [None, None]
