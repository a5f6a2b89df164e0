#!/usr/bin/python3
"""Golden values for the performance metrics in src/performance/{metrics,intervals}.ts.

Usage:
    /usr/bin/python3 tools/performance_fixtures.py

Needs Debian's numpy (1.24), scipy (1.10) and scikit-learn (1.2.1); deterministic (numpy
default_rng, fixed seeds). Writes test/fixtures/performance/metrics.json:

    cases       labels (a string of '0'/'1', one character per row) and probabilities, and:
                  auc           sklearn.metrics.roc_auc_score (null with one class)
                  ks            max(tpr - fpr) over sklearn.metrics.roc_curve (null with one class)
                  brier         sklearn.metrics.brier_score_loss
                  log_loss      sklearn.metrics.log_loss(y, p, labels=[0, 1]) (eps 'auto')
                  observed_rate, mean_predicted   np.mean(y), np.mean(p)
                  confusion     per threshold: sklearn.metrics.confusion_matrix of p >= t,
                                precision_score / recall_score / f1_score (zero_division=0), and
                                the Wilson intervals of precision (tp of tp + fp) and recall
                                (tp of tp + fn) at 95 %
                  calibration   per n_bins: np.linspace edges, sklearn.calibration
                                .calibration_curve(y, p, n_bins, strategy='uniform') (prob_true,
                                prob_pred: non-empty bins only), the count in every bin, ECE
                  delong        per level: the DeLong variance and interval of the AUC
    wilson      [successes, trials, level, lower, upper]
    norm_ppf    [p, scipy.stats.norm.ppf(p)]

Independent code paths, not ports of the TypeScript:
- DeLong (DeLong, DeLong & Clarke-Pearson 1988) from its definition: the placement values
  V10(x_i) = mean_j psi(x_i, y_j) and V01(y_j) = mean_i psi(x_i, y_j), psi = 1 / ½ / 0 for
  x > y / x = y / x < y, by O(n²) comparison (the TypeScript uses Sun & Xu's midranks);
  var = var(V10, ddof=1)/m + var(V01, ddof=1)/n, interval AUC ± z·sqrt(var) with
  z = norm.isf((1 - level)/2), clipped to [0, 1]. NaN (null) with fewer than 2 of a class.
- Wilson from its formula as statsmodels' proportion_confint(method='wilson') writes it
  (statsmodels is not installed), z = norm.isf((1 - level)/2), clipped to [0, 1].
- ECE from calibration_curve's outputs and the bin counts: Σ count/n · |prob_true - prob_pred|.
  The counts use calibration_curve's own binning (np.searchsorted(linspace(0, 1, n_bins +
  1)[1:-1], p), side 'left': bins (e_k, e_k+1], the first also holding 0) and are checked
  against its prob_pred, recomputed bit for bit.
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import scipy
import sklearn
from scipy import stats
from sklearn.calibration import calibration_curve
from sklearn.metrics import (brier_score_loss, confusion_matrix, f1_score, log_loss, precision_score, recall_score,
                             roc_auc_score, roc_curve)

sys.dont_write_bytecode = True

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "performance", "metrics.json")
THRESHOLDS = [0.2, 0.5]
LEVELS = [0.95, 0.9]


def num(x):
    """A float for JSON, None for NaN."""
    x = float(x)
    return None if math.isnan(x) else x


# --- independent reference implementations --------------------------------------------------

def delong(y, p, level):
    pos, neg = p[y == 1], p[y == 0]
    m, n = len(pos), len(neg)
    if m < 2 or n < 2:
        return {"level": level, "variance": None, "lower": None, "upper": None}
    v10 = np.empty(m)
    for s in range(0, m, 256):
        x = pos[s:s + 256, None]
        v10[s:s + 256] = ((x > neg[None, :]) + 0.5 * (x == neg[None, :])).mean(axis=1)
    v01 = np.empty(n)
    for s in range(0, n, 256):
        t = neg[s:s + 256, None]
        v01[s:s + 256] = ((pos[None, :] > t) + 0.5 * (pos[None, :] == t)).mean(axis=1)
    auc = v10.mean()
    assert abs(auc - v01.mean()) < 1e-12
    assert abs(auc - roc_auc_score(y, p)) < 1e-12
    var = v10.var(ddof=1) / m + v01.var(ddof=1) / n
    z = stats.norm.isf((1 - level) / 2)
    half = z * math.sqrt(var)
    return {"level": level, "variance": float(var), "lower": max(0.0, float(auc - half)),
            "upper": min(1.0, float(auc + half))}


def wilson(successes, trials, level):
    if trials == 0:
        return None, None
    z = stats.norm.isf((1 - level) / 2)
    z2 = z * z
    q = successes / trials
    denom = 1 + z2 / trials
    center = (q + z2 / (2 * trials)) / denom
    dist = z * math.sqrt(q * (1 - q) / trials + z2 / (4 * trials ** 2)) / denom
    return max(0.0, float(center - dist)), min(1.0, float(center + dist))


# --- one case -----------------------------------------------------------------------------

def sklearn_bins(p, n_bins):
    edges = np.linspace(0.0, 1.0, n_bins + 1)
    return edges, np.searchsorted(edges[1:-1], p)


def calibration_entry(y, p, n_bins):
    prob_true, prob_pred = calibration_curve(y, p, n_bins=n_bins, strategy="uniform")
    edges, binids = sklearn_bins(p, n_bins)
    counts = np.bincount(binids, minlength=n_bins)
    nonzero = counts > 0
    # The binning above is calibration_curve's own: same bins, same sums (bincount adds in input order).
    sums = np.bincount(binids, weights=p, minlength=n_bins)
    assert np.array_equal(sums[nonzero] / counts[nonzero], prob_pred)
    assert np.array_equal(np.bincount(binids, weights=y, minlength=n_bins)[nonzero] / counts[nonzero], prob_true)
    ece = 0.0
    for c, t, q in zip(counts[nonzero], prob_true, prob_pred):
        ece += c / len(p) * abs(t - q)
    return {"n_bins": n_bins, "edges": [float(e) for e in edges], "counts": [int(c) for c in counts],
            "prob_true": [float(v) for v in prob_true], "prob_pred": [float(v) for v in prob_pred], "ece": ece}


def confusion_entry(y, p, t):
    pred = (p >= t).astype(int)
    tn, fp, fn, tp = (int(v) for v in confusion_matrix(y, pred, labels=[0, 1]).ravel())
    with warnings.catch_warnings():
        warnings.simplefilter("ignore")
        precision = precision_score(y, pred, zero_division=0)
        recall = recall_score(y, pred, zero_division=0)
        f1 = f1_score(y, pred, zero_division=0)
    pl, pu = wilson(tp, tp + fp, 0.95)
    rl, ru = wilson(tp, tp + fn, 0.95)
    return {"threshold": t, "tp": tp, "fp": fp, "tn": tn, "fn": fn,
            "precision": float(precision), "recall": float(recall), "f1": float(f1),
            "precision_interval": [pl, pu], "recall_interval": [rl, ru]}


def make_case(name, y, p, thresholds=THRESHOLDS, n_bins=(10,)):
    y = np.asarray(y, dtype=np.int64)
    p = np.asarray(p, dtype=np.float64)
    assert len(y) == len(p) and ((y == 0) | (y == 1)).all() and ((p >= 0) & (p <= 1)).all()
    two_classes = len(np.unique(y)) == 2
    if two_classes:
        fpr, tpr, _ = roc_curve(y, p)
        auc, ks = float(roc_auc_score(y, p)), float(np.max(tpr - fpr))
    else:
        auc, ks = None, None
    return {
        "name": name,
        "n": len(y),
        "labels": "".join(str(v) for v in y),
        "probabilities": [float(v) for v in p],
        "auc": auc,
        "ks": ks,
        "brier": float(brier_score_loss(y, p)),
        "log_loss": float(log_loss(y, p, labels=[0, 1])),
        "observed_rate": float(np.mean(y)),
        "mean_predicted": float(np.mean(p)),
        "confusion": [confusion_entry(y, p, t) for t in thresholds],
        "calibration": [calibration_entry(y, p, b) for b in n_bins],
        "delong": [delong(y, p, level) for level in LEVELS],
    }


def rounded(values, digits):
    # Python's round() is correctly rounded, so the JSON holds short decimals.
    return np.array([round(float(v), digits) for v in values])


def sigmoid(s):
    return 1 / (1 + np.exp(-s))


def scored(rng, n, prevalence, separation):
    """Labels with the given prevalence; probabilities from a logistic score shifted by separation for positives."""
    y = (rng.random(n) < prevalence).astype(int)
    s = rng.normal(0, 1, n) + separation * y + math.log(prevalence / (1 - prevalence))
    return y, sigmoid(s)


def demo_model_case():
    """The demo model's sklearn probabilities for the first 200 reference rows, with their labels."""
    with open(os.path.join(ROOT, "test", "fixtures", "credit-default", "sklearn_probabilities.json")) as f:
        fixture = json.load(f)
    with open(os.path.join(ROOT, "models", "credit-default", "reference.csv")) as f:
        header = f.readline().strip().split(",")
        rows = [line.strip().split(",") for _, line in zip(range(len(fixture["rows"])), f)]
    assert header[:-1] == fixture["features"] and header[-1] == "default.payment.next.month"
    for row, features in zip(rows, fixture["rows"]):
        assert [float(v) for v in row[:-1]] == [float(v) for v in features]
    y = [int(row[-1]) for row in rows]
    return make_case("demo model (credit default), first 200 reference rows", y, fixture["probability"],
                     thresholds=[0.2, 0.5, 0.35])


def cases():
    out = []
    out.append(make_case("ten rows with ties",
                         [0, 0, 1, 1, 0, 1, 0, 1, 1, 0],
                         [0.1, 0.4, 0.35, 0.8, 0.4, 0.9, 0.2, 0.4, 0.65, 0.05],
                         thresholds=[0.2, 0.5, 0.4, 0.95], n_bins=(10, 3)))

    rng = np.random.default_rng(20240401)
    y, p = scored(rng, 2000, 0.4, 4.0)
    out.append(make_case("well separated, 2000 rows, full precision", y, p, n_bins=(10, 5, 20)))

    rng = np.random.default_rng(20240402)
    y, p = scored(rng, 5000, 0.3, 0.8)
    out.append(make_case("overlapping, 5000 rows", y, rounded(p, 6), n_bins=(10, 7)))

    rng = np.random.default_rng(20240403)
    y, p = scored(rng, 20000, 0.25, 1.5)
    out.append(make_case("heavy ties: probabilities to 2 decimals, 20000 rows", y, rounded(p, 2), n_bins=(10, 20)))

    rng = np.random.default_rng(20240404)
    y, p = scored(rng, 10000, 0.5, 1.2)
    out.append(make_case("heavy ties: probabilities to 1 decimal (on the bin edges), 10000 rows", y, rounded(p, 1),
                         n_bins=(10, 5, 4)))

    rng = np.random.default_rng(20240405)
    y, p = scored(rng, 3000, 0.3, 2.0)
    p = rounded(p, 5)
    extreme = rng.random(3000)
    p[extreme < 0.1] = 0.0
    p[extreme > 0.9] = 1.0
    wrong = rng.random(3000) < 0.02  # some confidently wrong: log loss hits the clipping
    p[wrong] = 1.0 - y[wrong]
    out.append(make_case("extreme probabilities: 0 and 1 exactly, some confidently wrong, 3000 rows", y, p))

    rng = np.random.default_rng(20240406)
    y, p = scored(rng, 20000, 0.01, 2.5)
    out.append(make_case("rare positives (1 %), 20000 rows", y, rounded(p, 5), thresholds=[0.2, 0.5, 0.05]))

    rng = np.random.default_rng(20240407)
    y, p = scored(rng, 500, 0.4, -1.0)
    out.append(make_case("worse than random (AUC below 0.5), 500 rows", y, rounded(p, 4)))

    rng = np.random.default_rng(20240408)
    y = (rng.random(100) < 0.3).astype(int)
    out.append(make_case("constant model, 100 rows", y, np.full(100, 0.3)))

    rng = np.random.default_rng(20240409)
    y = (rng.random(300) < 0.5).astype(int)
    p = np.where(y == 1, rng.uniform(0.6, 1.0, 300), rng.uniform(0.0, 0.55, 300))
    out.append(make_case("perfect separation, 300 rows", y, rounded(p, 4)))

    rng = np.random.default_rng(20240410)
    y = np.zeros(30, dtype=int)
    y[7] = 1
    out.append(make_case("a single positive, 30 rows", y, rounded(rng.uniform(0, 1, 30), 3)))

    rng = np.random.default_rng(20240411)
    out.append(make_case("negatives only, 50 rows", np.zeros(50, dtype=int), rounded(rng.beta(1, 6, 50), 4),
                         thresholds=[0.2, 0.5, 1.0]))

    # Values on, just below and just above the bin edges numpy.linspace gives (0.30000000000000004, ...).
    rng = np.random.default_rng(20240412)
    edges = np.linspace(0, 1, 11)
    p = np.concatenate([edges, np.nextafter(edges, 0), np.nextafter(edges, 1), np.arange(11) / 10])
    p = np.clip(p, 0, 1)
    y = (rng.random(len(p)) < p).astype(int)
    y[:2] = [0, 1]
    out.append(make_case("probabilities on, just below and just above the bin edges", y, p, n_bins=(10, 5, 20)))

    out.append(demo_model_case())
    return out


def wilson_grid():
    out = []
    for trials in [1, 2, 5, 10, 37, 100, 1000, 123456]:
        for successes in sorted({0, 1, trials // 3, trials // 2, trials - 1, trials}):
            if 0 <= successes <= trials:
                for level in [0.95, 0.9, 0.99, 0.5]:
                    lo, hi = wilson(successes, trials, level)
                    out.append([successes, trials, level, lo, hi])
    return out


def norm_grid():
    ps = [1e-300, 1e-200, 1e-100, 1e-50, 1e-20, 1e-15, 1e-12, 1e-10, 1e-8, 1e-5, 1e-3, 0.005, 0.01, 0.025, 0.05,
          0.075, 0.0751, 0.1, 0.2, 0.3, 0.4, 0.45, 0.49, 0.499999, 0.5, 0.500001, 0.51, 0.6, 0.7, 0.8, 0.9, 0.924,
          0.925, 0.95, 0.975, 0.99, 0.995, 0.999, 1 - 1e-5, 1 - 1e-8, 1 - 1e-10, 1 - 1e-12, 1 - 1e-15]
    ps += [1 - (1 - level) / 2 for level in [0.95, 0.9, 0.99, 0.5]] + [(1 - level) / 2 for level in [0.95, 0.9, 0.99]]
    rng = np.random.default_rng(20240501)
    ps += [float(v) for v in rng.random(200)]
    ps += [float(v) for v in 10.0 ** rng.uniform(-300, -1, 100)]
    ps += [float(1 - v) for v in 10.0 ** rng.uniform(-15, -1, 50)]
    return [[p, float(stats.norm.ppf(p))] for p in ps]


def main():
    fixture = {
        "generated_by": "tools/performance_fixtures.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "sklearn": sklearn.__version__,
        "log_loss_eps": float(np.finfo(np.float64).eps),
        "cases": cases(),
        "wilson": wilson_grid(),
        "norm_ppf": norm_grid(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps(fixture, separators=(",", ":"), allow_nan=False)
    with open(OUT, "w") as f:
        f.write(text + "\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
