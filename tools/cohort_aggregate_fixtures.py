#!/usr/bin/python3
"""Golden values for the matured cohort's aggregates, src/performance/cohort-aggregate.ts.

Usage:
    /usr/bin/python3 tools/cohort_aggregate_fixtures.py

Needs Debian's numpy (1.24) and scikit-learn (1.2.1); deterministic (numpy default_rng, fixed
seeds). Writes test/fixtures/performance/cohort-aggregate.json: per case, the labels (a string
of '0'/'1') and probabilities (rounded to 1e-6, so the JSON carries them exactly), the
threshold, and:

    auc           sklearn.metrics.roc_auc_score(y, p): the rows' AUC
    auc_bins      sklearn.metrics.roc_auc_score(y, floor(p·4096) clipped to 4095): the AUC of
                  the score bins, ties within a bin counting half, as sklearn counts ties
    auc_error     ½ · Σ_k pos_k·neg_k / (P·N), the bound on |auc − auc_bins| (numpy bincount)
    ks            max(tpr − fpr) over sklearn.metrics.roc_curve(y, p)
    ks_bins       the same on the binned scores
    ks_error      max_k min(pos_k/P, neg_k/N), the bound on ks − ks_bins (≥ 0)
    brier         sklearn.metrics.brier_score_loss
    log_loss      sklearn.metrics.log_loss(y, p, labels=[0, 1])
    confusion     sklearn.metrics.confusion_matrix(y, p >= threshold) as tp, fp, tn, fn

The cases: a credit-like model (scores spread over [0, 1]), a fraud-like one (scores
concentrated below 0.02, the uniform bins' weak spot), and scores on a coarse grid (every
score tied with many others, so that exact ties and bin ties coincide).
"""

import json
import os

import numpy as np
import sklearn
from sklearn.metrics import brier_score_loss, confusion_matrix, log_loss, roc_auc_score, roc_curve

BINS = 4096
OUT = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'performance', 'cohort-aggregate.json')


def ks(y, s):
    fpr, tpr, _ = roc_curve(y, s)
    return float(np.max(tpr - fpr))


def case(name, y, p, threshold):
    p = np.round(p, 6)
    b = np.minimum(np.floor(p * BINS), BINS - 1)
    pos = np.bincount(b[y == 1].astype(int), minlength=BINS).astype(float)
    neg = np.bincount(b[y == 0].astype(int), minlength=BINS).astype(float)
    P, N = pos.sum(), neg.sum()
    tn, fp, fn, tp = confusion_matrix(y, p >= threshold, labels=[0, 1]).ravel()
    return {
        'name': name,
        'threshold': threshold,
        'labels': ''.join(str(int(v)) for v in y),
        'probabilities': [float(v) for v in p],
        'auc': float(roc_auc_score(y, p)),
        'auc_bins': float(roc_auc_score(y, b)),
        'auc_error': float((pos * neg).sum() / (2 * P * N)),
        'ks': ks(y, p),
        'ks_bins': ks(y, b),
        'ks_error': float(np.max(np.minimum(pos / P, neg / N))),
        'brier': float(brier_score_loss(y, p)),
        'log_loss': float(log_loss(y, p, labels=[0, 1])),
        'confusion': {'tp': int(tp), 'fp': int(fp), 'tn': int(tn), 'fn': int(fn)},
    }


def main():
    rng = np.random.default_rng(20261202)
    cases = []
    # Credit-like: a latent score, the probability its logistic, the label drawn from it.
    n = 20_000
    z = rng.normal(-1.2, 1.1, n)
    p = 1 / (1 + np.exp(-z))
    y = (rng.random(n) < p).astype(int)
    cases.append(case('credit-like', y, p, 0.2))
    # Fraud-like: most scores below 0.02; positives rare and scoring higher.
    n = 20_000
    y = (rng.random(n) < 0.03).astype(int)
    z = np.where(y == 1, rng.normal(-2.5, 1.5, n), rng.normal(-5.5, 1.0, n))
    p = 1 / (1 + np.exp(-z))
    cases.append(case('fraud-like', y, p, 0.05))
    # Coarse grid: 101 distinct scores.
    n = 5_000
    p = np.round(rng.beta(2, 5, n), 2)
    y = (rng.random(n) < p).astype(int)
    cases.append(case('coarse-grid', y, p, 0.3))
    with open(OUT, 'w') as f:
        json.dump({'generator': 'tools/cohort_aggregate_fixtures.py', 'sklearn': sklearn.__version__, 'numpy': np.__version__, 'bins': BINS, 'cases': cases}, f)
        f.write('\n')


if __name__ == '__main__':
    main()
