"""turing.stats against hand-worked examples and scipy."""
from __future__ import annotations

import math

import pytest
from scipy.stats import binomtest, norm

from turing import stats

# Fleiss (1971) as worked on Wikipedia's "Fleiss' kappa" page: 10 subjects, 14 raters, 5 categories.
FLEISS_TABLE = [[0, 0, 0, 0, 14], [0, 2, 6, 4, 2], [0, 0, 3, 5, 6], [0, 3, 9, 2, 0], [2, 2, 8, 1, 1],
                [7, 7, 0, 0, 0], [3, 2, 6, 3, 0], [2, 5, 3, 2, 2], [6, 5, 2, 1, 0], [0, 2, 2, 3, 7]]


def test_wilson_matches_the_hand_worked_interval_and_scipy():
    low, high = stats.wilson(8, 10)
    assert (round(low, 4), round(high, 4)) == (0.4902, 0.9433)
    for k, n in [(0, 5), (5, 5), (482, 1000), (133, 200), (1, 3)]:
        ci = binomtest(k, n).proportion_ci(method="wilson")
        assert stats.wilson(k, n) == pytest.approx((ci.low, ci.high), abs=1e-12)
    assert stats.wilson(0, 0) == (None, None)


def test_the_binomial_test_is_two_sided_and_exact():
    assert stats.binomial_p(0, 5) == pytest.approx(2 / 32)
    assert stats.binomial_p(9, 10) == pytest.approx(22 / 1024)  # P(X >= 9) = 11/1024, doubled
    assert stats.binomial_p(5, 10) == pytest.approx(1.0)
    assert stats.binomial_p(482, 1000) == pytest.approx(binomtest(482, 1000, 0.5).pvalue)
    assert stats.binomial_p(0, 0) is None


def test_dprime_and_c_use_the_log_linear_correction():
    # 15 of 20 synthetic called synthetic, 8 of 20 real called synthetic:
    # H = 15.5/21 = 0.7381 (z 0.6375), F = 8.5/21 = 0.4048 (z -0.2410): d' = 0.8785, c = -0.1982
    d, c = stats.dprime_c(15, 20, 8, 20)
    assert (round(d, 4), round(c, 4)) == (0.8785, -0.1982)
    # Perfect answers stay finite: H = 10.5/11, F = 0.5/11
    d, c = stats.dprime_c(10, 10, 0, 10)
    assert d == pytest.approx(2 * norm.ppf(10.5 / 11)) and abs(c) < 1e-12
    assert round(d, 3) == 3.381
    assert stats.dprime_c(0, 0, 3, 10) == (None, None)


def test_fleiss_kappa_matches_the_worked_example():
    assert round(stats.fleiss_kappa(FLEISS_TABLE), 3) == 0.210


def test_fleiss_kappa_is_one_for_full_agreement_and_near_zero_for_coin_flips():
    assert stats.fleiss_kappa([[3, 0], [0, 3], [3, 0]]) == pytest.approx(1.0)
    assert stats.fleiss_kappa([[1, 1], [1, 1]]) == pytest.approx(-1.0)  # every pair disagrees
    assert stats.fleiss_kappa([[4, 0], [4, 0]]) is None  # one category only: undefined
    assert stats.fleiss_kappa([[1, 0]]) is None  # a single rater


def test_percentile_counts_ties_as_half():
    assert stats.percentile(0.5, [0.25, 0.5, 0.75, 1.0]) == pytest.approx(100 * 1.5 / 4)
    assert stats.percentile(1.0, [1.0]) == 50.0
    assert stats.percentile(0.3, []) is None


def test_summarise_names_synthetic_as_the_signal():
    # 10 synthetic images: 7 called synthetic; 10 real: 6 called real (4 false alarms).
    s = stats.summarise(correct=13, n=20, hits=7, signal=10, false_alarms=4, noise=10)
    assert (s["accuracy"], s["sensitivity"], s["specificity"]) == (0.65, 0.7, 0.6)
    assert s["sensitivity_ci"] == pytest.approx(stats.wilson(7, 10))
    assert s["specificity_ci"] == pytest.approx(stats.wilson(6, 10))
    assert not any(isinstance(v, float) and math.isnan(v) for v in s.values())


def percentile_by_counting(value, values):
    """The counting rule percentile() used before it became one scipy call: ties count half."""
    below = sum(v < value for v in values)
    equal = sum(v == value for v in values)
    return 100 * (below + 0.5 * equal) / len(values)


@pytest.mark.parametrize("values", [[0.5], [0.1, 0.5, 0.5, 0.9], [0.0, 0.0, 0.0], [0.2, 0.4, 0.6, 0.8, 1.0],
                                    [i / 19 for i in range(20)]])
def test_the_scipy_percentile_rank_gives_the_old_counting_rules_numbers(values):
    for value in values:
        assert stats.percentile(value, values) == pytest.approx(percentile_by_counting(value, values), abs=1e-12)
    assert stats.percentile(0.5, []) is None
