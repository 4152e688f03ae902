"""Binary melanoma-vs-nevus metrics with 95% confidence intervals.

Label 1 is melanoma, 0 is nevus; a score is the melanoma probability and an image
counts as positive when ``score >= threshold``.

- AUC with its DeLong standard error and interval (AUC +- 1.96 SE, clipped to [0, 1]),
  computed with the fast algorithm of Sun & Xu (2014, IEEE Signal Processing Letters
  21(11):1389-1393), which uses midranks so tied scores count one half, as in R's pROC.
- Accuracy, sensitivity, specificity, PPV and NPV with Wilson score intervals
  (no continuity correction).
- ``delong_test`` compares two models scored on the same images (correlated ROC curves).
- ``youden_threshold`` picks the cut-off maximising sensitivity + specificity - 1.

Every result is plain JSON-ready data: floats, ints, lists and ``None``. A value whose
denominator is 0 (PPV with no positive calls, AUC on a one-class set, a DeLong SE with
fewer than two images of a class) is ``None``, and so is its interval: never NaN, so
the dicts can go straight into a JSON column.

    >>> m = binary_metrics([0, 0, 1, 1], [0.1, 0.6, 0.4, 0.9])
    >>> m["auc"], m["sens"], m["spec"]
    (0.75, 0.5, 0.5)
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
from scipy.stats import binomtest, norm, rankdata
from sklearn.metrics import roc_curve

Z95 = float(norm.ppf(0.975))  # 1.959963984540054, the 95% two-sided normal quantile


def _labels(y_true) -> np.ndarray:
    """Validate labels: a 1-D array of 0 (nevus) and 1 (melanoma)."""
    y = np.asarray(y_true)
    if y.ndim != 1:
        raise ValueError("y_true must be one-dimensional")
    if not np.isin(y, (0, 1)).all():
        raise ValueError("y_true must hold only 0 (nevus) and 1 (melanoma)")
    return y.astype(np.int64)


def _scores(scores, n: int) -> np.ndarray:
    """Validate scores: finite floats, one per label (a vector or a (k, n) array)."""
    s = np.asarray(scores, dtype=np.float64)
    if s.shape[-1:] != (n,) or s.ndim > 2:
        raise ValueError(f"scores have shape {s.shape}, expected ({n},) or (k, {n})")
    if not np.isfinite(s).all():
        raise ValueError("scores must be finite")
    return s


def delong_auc_cov(y_true, scores) -> tuple[np.ndarray, np.ndarray | None]:
    """AUCs of k score vectors and their DeLong covariance matrix (k x k).

    ``scores`` is one vector or a (k, n) array. Fast DeLong (Sun & Xu 2014): with m
    positives and n negatives, the structural components come from three midrankings
    (positives alone, negatives alone, all together) instead of the m x n comparison
    matrix. The covariance is ``None`` when either class has fewer than two images,
    because the sample covariance of the components is then undefined.
    """
    y = _labels(y_true)
    s = np.atleast_2d(_scores(scores, len(y)))
    pos, neg = s[:, y == 1], s[:, y == 0]
    m, n = pos.shape[1], neg.shape[1]
    if m == 0 or n == 0:
        raise ValueError("AUC needs both classes (melanoma and nevus) present")
    tx = rankdata(pos, axis=1)  # midranks within positives
    ty = rankdata(neg, axis=1)  # midranks within negatives
    tz = rankdata(np.hstack([pos, neg]), axis=1)  # midranks over all images
    aucs = (tz[:, :m].sum(axis=1) / m - (m + 1) / 2.0) / n
    if m < 2 or n < 2:
        return aucs, None
    v01 = (tz[:, :m] - tx) / n  # per positive: share of negatives it outranks
    v10 = 1.0 - (tz[:, m:] - ty) / m  # per negative: share of positives above it
    cov = np.atleast_2d(np.cov(v01)) / m + np.atleast_2d(np.cov(v10)) / n
    return aucs, cov


def wilson_interval(k: int, n: int, confidence: float = 0.95) -> list[float] | list[None]:
    """Wilson score interval (no continuity correction) for k successes in n trials; [None, None] when n == 0."""
    if n == 0:
        return [None, None]
    ci = binomtest(k, n).proportion_ci(confidence_level=confidence, method="wilson")
    return [float(ci.low), float(ci.high)]


def _rate(k: int, n: int) -> tuple[float | None, list]:
    return (k / n if n else None), wilson_interval(k, n)


def _roc_points(y: np.ndarray, s: np.ndarray) -> dict:
    """ROC corners for plotting; the first threshold (+inf: nothing positive) is None."""
    fpr, tpr, thr = roc_curve(y, s)
    thresholds = [float(t) if math.isfinite(t) else None for t in thr]
    return {"fpr": fpr.tolist(), "tpr": tpr.tolist(), "thresholds": thresholds}


def _auc_fields(y: np.ndarray, s: np.ndarray) -> dict:
    if y.min() == y.max():
        return {"auc": None, "auc_se": None, "auc_ci": [None, None], "roc": None}
    aucs, cov = delong_auc_cov(y, s)
    auc = float(aucs[0])
    if cov is None:
        return {"auc": auc, "auc_se": None, "auc_ci": [None, None], "roc": _roc_points(y, s)}
    se = math.sqrt(max(float(cov[0, 0]), 0.0))
    ci = [max(0.0, auc - Z95 * se), min(1.0, auc + Z95 * se)]
    return {"auc": auc, "auc_se": se, "auc_ci": ci, "roc": _roc_points(y, s)}


def binary_metrics(y_true, y_score, threshold: float = 0.5) -> dict:
    """All the paper's metrics at one threshold, each with its 95% interval.

    Returns keys: n, n_pos, n_neg, threshold, tp, fp, tn, fn; auc, auc_se, auc_ci;
    acc, sens, spec, ppv, npv and acc_ci ... npv_ci as [low, high]; roc as
    {"fpr", "tpr", "thresholds"} lists (None on a one-class set).
    """
    y = _labels(y_true)
    s = _scores(y_score, len(y))
    if len(y) == 0:
        raise ValueError("no images to score")
    pred = s >= threshold
    tp = int(np.sum(pred & (y == 1)))
    fp = int(np.sum(pred & (y == 0)))
    tn = int(np.sum(~pred & (y == 0)))
    fn = int(np.sum(~pred & (y == 1)))
    out: dict[str, Any] = {"n": len(y), "n_pos": tp + fn, "n_neg": tn + fp, "threshold": float(threshold),
           "tp": tp, "fp": fp, "tn": tn, "fn": fn}
    out.update(_auc_fields(y, s))
    for name, k, n in (("acc", tp + tn, len(y)), ("sens", tp, tp + fn), ("spec", tn, tn + fp),
                       ("ppv", tp, tp + fp), ("npv", tn, tn + fn)):
        out[name], out[f"{name}_ci"] = _rate(k, int(n))
    return out


def delong_test(y_true, score_a, score_b) -> dict:
    """DeLong's test for two correlated ROC curves (two models, same images).

    Returns auc_a, auc_b, diff (a - b), se of the difference, its 95% interval
    diff_ci, z and the two-sided p. When the difference has zero variance (for
    example identical rankings), z and p are None unless diff is 0 too, in which
    case z = 0 and p = 1: there is no evidence of any difference.
    """
    y = _labels(y_true)
    aucs, cov = delong_auc_cov(y, np.vstack([_scores(score_a, len(y)), _scores(score_b, len(y))]))
    diff = float(aucs[0] - aucs[1])
    out: dict[str, Any] = {"auc_a": float(aucs[0]), "auc_b": float(aucs[1]), "diff": diff,
           "se": None, "diff_ci": [None, None], "z": None, "p": None}
    if cov is None:
        return out
    var = float(cov[0, 0] + cov[1, 1] - 2 * cov[0, 1])
    se = math.sqrt(max(var, 0.0))
    out["se"], out["diff_ci"] = se, [diff - Z95 * se, diff + Z95 * se]
    if se > 1e-15:
        z = diff / se
        out["z"], out["p"] = z, float(2 * norm.sf(abs(z)))
    elif diff == 0.0:
        out["z"], out["p"] = 0.0, 1.0
    return out


def youden_threshold(y_true, y_score) -> float:
    """Threshold maximising Youden's J = sensitivity + specificity - 1.

    Among the ROC cut-offs the first maximum (the highest threshold) wins. The
    threshold returned is halfway between that score and the next lower distinct
    score, as pROC does: it classifies the given images exactly as the cut-off
    itself does, but does not sit on a training image's score.
    """
    y = _labels(y_true)
    s = _scores(y_score, len(y))
    if len(y) == 0 or y.min() == y.max():
        raise ValueError("the Youden threshold needs both classes present")
    fpr, tpr, thr = roc_curve(y, s, drop_intermediate=False)
    j = tpr[1:] - fpr[1:]  # index 0 is the +inf "nothing positive" corner
    i = int(np.argmax(j)) + 1
    if i + 1 < len(thr):
        return float((thr[i] + thr[i + 1]) / 2.0)
    return float(thr[i])
