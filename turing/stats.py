"""The statistics of a Turing test, as plain functions of counts (no Django).

"Signal" is a synthetic image: sensitivity is synthetic called synthetic (hit rate), specificity
real called real (1 - false-alarm rate). d' and c use the log-linear correction of Hautus (1995,
Behavior Research Methods 27:46-51): add 0.5 to the hit and false-alarm counts and 1 to each total,
so that rates of 0 or 1 give finite values. Values with an empty denominator are None, never NaN.
"""
from __future__ import annotations

import math

from scipy.stats import binomtest, norm, percentileofscore, ttest_1samp, ttest_ind


def proportion(k: int, n: int) -> float | None:
    return k / n if n else None


def wilson(k: int, n: int) -> tuple[float, float] | tuple[None, None]:
    """The 95% Wilson score interval (no continuity correction): the one the classifier's metrics use.
    (Imported here, not at the top: it brings scikit-learn, which the web process loads only when asked.)"""
    from classifier.cnn.metrics import wilson_interval

    low, high = wilson_interval(k, n)
    return low, high


def binomial_p(k: int, n: int) -> float | None:
    """Two-sided exact binomial test of k successes in n against 50%."""
    return float(binomtest(k, n, 0.5, alternative="two-sided").pvalue) if n else None


def dprime_c(hits: int, signal: int, false_alarms: int, noise: int) -> tuple[float, float] | tuple[None, None]:
    """d' and criterion c with the log-linear correction; c > 0 leans towards "real"."""
    if signal == 0 or noise == 0:
        return None, None
    zh = norm.ppf((hits + 0.5) / (signal + 1))
    zf = norm.ppf((false_alarms + 0.5) / (noise + 1))
    return float(zh - zf), float(-(zh + zf) / 2)


def fleiss_kappa(table: list[list[int]]) -> float | None:
    """Fleiss' kappa of a subjects x categories table of counts (every subject rated by n raters).

    Subjects rated by different numbers of raters keep their own n_i in P_i (the usual extension).
    """
    rows = [row for row in table if sum(row) >= 2]
    if not rows:
        return None
    total = sum(sum(row) for row in rows)
    p_j = [sum(row[j] for row in rows) / total for j in range(len(rows[0]))]
    p_i = [(sum(c * c for c in row) - sum(row)) / (sum(row) * (sum(row) - 1)) for row in rows]
    p_bar, p_e = sum(p_i) / len(p_i), sum(p * p for p in p_j)
    if p_e == 1:
        return None  # everyone gave one answer to everything: agreement is undefined, not perfect
    return (p_bar - p_e) / (1 - p_e)


def percentile(value: float, values: list[float]) -> float | None:
    """Percentile rank of value among values (which include it): ties count half ("mean" kind)."""
    return float(percentileofscore(values, value, kind="mean")) if values else None


def summarise(*, correct: int, n: int, hits: int, signal: int, false_alarms: int, noise: int) -> dict:
    """Accuracy, sensitivity, specificity with Wilson intervals, the binomial p, d' and c."""
    correct_rejections = noise - false_alarms
    d, c = dprime_c(hits, signal, false_alarms, noise)
    return {
        "answers": n, "correct": correct,
        "accuracy": proportion(correct, n), "accuracy_ci": wilson(correct, n), "p_value": binomial_p(correct, n),
        "sensitivity": proportion(hits, signal), "sensitivity_ci": wilson(hits, signal),
        "specificity": proportion(correct_rejections, noise), "specificity_ci": wilson(correct_rejections, noise),
        "dprime": d, "criterion": c,
    }


def cohen_kappa(hits: int, signal: int, false_alarms: int, noise: int) -> float | None:
    """Cohen's kappa of the answers against the truth: accuracy corrected for the agreement that the answer
    rates alone would give by chance (a participant calling everything "real" has kappa 0, not 50%)."""
    n = signal + noise
    if n == 0:
        return None
    said_synthetic = (hits + false_alarms) / n
    observed = (hits + noise - false_alarms) / n
    chance = signal / n * said_synthetic + noise / n * (1 - said_synthetic)
    if chance == 1:
        return None  # one truth and one answer throughout: chance agreement is total, kappa undefined
    return (observed - chance) / (1 - chance)


def mean_change(values: list[float], bounds: tuple[float, float] = (-math.inf, math.inf)) -> dict:
    """Mean of paired differences with its 95% t interval (cut to `bounds`, the values a difference can
    take) and the two-sided one-sample t test against 0 (scipy's ttest_1samp). None where undefined: under
    two values, or (interval aside) differences that are all the same."""
    n = len(values)
    mean = sum(values) / n if n else None
    if n < 2:
        return {"n": n, "mean": mean, "ci": (None, None), "p_value": None}
    if len(set(values)) == 1:  # compared as values, not as a float sd that rounding may leave just above 0
        return {"n": n, "mean": values[0], "ci": (values[0], values[0]), "p_value": None}
    test = ttest_1samp(values, 0.0)
    low, high = test.confidence_interval(0.95)
    return {"n": n, "mean": mean, "ci": (max(float(low), bounds[0]), min(float(high), bounds[1])),
            "p_value": float(test.pvalue)}


def welch_difference(a: list[float], b: list[float], bounds: tuple[float, float] = (-math.inf, math.inf)) -> dict:
    """mean(a) - mean(b) of two independent groups with the 95% Welch interval (cut to `bounds`) and the
    two-sided Welch t test (scipy's ttest_ind with unequal variances). None where undefined: a group
    under two values, or both groups without any spread."""
    mean = (sum(a) / len(a) - sum(b) / len(b)) if a and b else None
    result = {"n": [len(a), len(b)], "mean": mean, "ci": (None, None), "p_value": None}
    if len(a) < 2 or len(b) < 2 or (len(set(a)) == 1 and len(set(b)) == 1):
        return result
    test = ttest_ind(a, b, equal_var=False)
    low, high = test.confidence_interval(0.95)
    return {**result, "ci": (max(float(low), bounds[0]), min(float(high), bounds[1])), "p_value": float(test.pvalue)}
