#!/usr/bin/python3
"""Golden values for fairness by group in src/fairness/metrics.ts.

Usage:
    /usr/bin/python3 tools/fairness_fixtures.py

Needs Debian's numpy (1.24) and scikit-learn (1.2.1); deterministic (numpy default_rng,
fixed seed). fairlearn and Aequitas are not installed here, so their definitions are
computed from sklearn.metrics.confusion_matrix per group, as those libraries define them:

    selection_rate          fairlearn selection_rate: mean(y_pred == 1) over the group's window rows
    favorable_rate          mean(y_pred == favorable_decision)
    adverse_impact_ratio    favorable_rate(group) / favorable_rate(reference) (EEOC impact ratio
                            against a reference group; Aequitas pprev_disparity when the
                            favorable decision is 1)
    tpr, fpr                fairlearn true_positive_rate / false_positive_rate from
                            confusion_matrix(y_true, y_pred, labels=[0, 1]) of the group's cohort rows
    tpr_difference          tpr(group) - tpr(reference), fpr_difference likewise
    equal_opportunity_difference   fairlearn: max - min tpr over the groups (between_groups)
    equalized_odds_difference      fairlearn: max(tpr spread, fpr spread) (agg='worst_case')

Vigia's guard, applied here too: a rate whose denominator (group size for the selection
rate, positives for the TPR, negatives for the FPR) is below min_group_size is null
("insufficient data") and takes no part in a ratio or a spread.

Writes test/fixtures/fairness/metrics.json: cases, each with the window rows
(group, decision), the cohort rows (group, decision, label), the reference, the minimum
and the expected values. The cases include a group with no positive label, a group below
the minimum, and a reference group below the minimum (every ratio then null).
"""
import json
import os

import numpy as np
from sklearn.metrics import confusion_matrix

rng = np.random.default_rng(20261202)


def rate_or_none(num, den, minimum):
    return float(num) / float(den) if den >= minimum and den > 0 else None


def case(name, groups, reference, minimum, favorable):
    """groups: list of (group, window_n, selection_p, cohort_n, positive_p, tpr_p, fpr_p)."""
    window = []
    cohort = []
    for g, n, sel, cn, pos, tpr, fpr in groups:
        d = (rng.random(n) < sel).astype(int)
        window += [[g, int(x)] for x in d]
        y = (rng.random(cn) < pos).astype(int)
        pred = np.where(y == 1, rng.random(cn) < tpr, rng.random(cn) < fpr).astype(int)
        cohort += [[g, int(a), int(b)] for a, b in zip(pred, y)]
    order = [g[0] for g in groups]
    expected = {}
    for g in order:
        wd = np.array([r[1] for r in window if r[0] == g], dtype=int)
        cy = np.array([r[2] for r in cohort if r[0] == g], dtype=int)
        cp = np.array([r[1] for r in cohort if r[0] == g], dtype=int)
        tn, fp, fn, tp = confusion_matrix(cy, cp, labels=[0, 1]).ravel() if len(cy) else (0, 0, 0, 0)
        expected[g] = {
            'n': int(len(wd)),
            'selection_rate': rate_or_none(wd.sum(), len(wd), minimum),
            'favorable_rate': rate_or_none((wd == favorable).sum(), len(wd), minimum),
            'positives': int(tp + fn),
            'negatives': int(fp + tn),
            'tpr': rate_or_none(tp, tp + fn, minimum),
            'fpr': rate_or_none(fp, fp + tn, minimum),
        }
    ref = expected[reference]
    for g in order:
        e = expected[g]
        e['adverse_impact_ratio'] = None if e['favorable_rate'] is None or ref['favorable_rate'] in (None, 0) else e['favorable_rate'] / ref['favorable_rate']
        e['tpr_difference'] = None if e['tpr'] is None or ref['tpr'] is None else e['tpr'] - ref['tpr']
        e['fpr_difference'] = None if e['fpr'] is None or ref['fpr'] is None else e['fpr'] - ref['fpr']
    tprs = [expected[g]['tpr'] for g in order if expected[g]['tpr'] is not None]
    fprs = [expected[g]['fpr'] for g in order if expected[g]['fpr'] is not None]
    eod = max(tprs) - min(tprs) if len(tprs) >= 2 else None
    fod = max(fprs) - min(fprs) if len(fprs) >= 2 else None
    eqodds = None if eod is None and fod is None else max(eod or 0.0, fod or 0.0)
    return {
        'name': name, 'reference': reference, 'min_group_size': minimum, 'favorable_decision': favorable, 'groups': order,
        'window': window, 'cohort': cohort,
        'expected': {'groups': expected, 'equal_opportunity_difference': eod, 'equalized_odds_difference': eqodds},
    }


cases = [
    case('two groups, the second selected far more often', [
        ('1', 900, 0.20, 700, 0.25, 0.70, 0.10),
        ('2', 800, 0.35, 650, 0.22, 0.55, 0.20),
    ], '1', 100, 1),
    case('a group with no positive label and a group below the minimum', [
        ('2', 1200, 0.22, 900, 0.23, 0.65, 0.12),
        ('1', 700, 0.18, 500, 0.0, 0.65, 0.08),
        ('3', 60, 0.30, 40, 0.3, 0.6, 0.2),
        ('other', 400, 0.16, 300, 0.25, 0.75, 0.10),
    ], '2', 100, 0),
    case('a reference group below the minimum', [
        ('north', 50, 0.2, 30, 0.2, 0.7, 0.1),
        ('south', 1000, 0.25, 800, 0.25, 0.6, 0.15),
        ('east', 1000, 0.15, 800, 0.2, 0.7, 0.05),
    ], 'north', 100, 0),
    case('nearly equal groups, silent', [
        ('<25', 600, 0.22, 600, 0.22, 0.6, 0.1),
        ('25-35', 600, 0.22, 600, 0.22, 0.6, 0.1),
        ('>=35', 600, 0.22, 600, 0.22, 0.6, 0.1),
    ], '25-35', 100, 0),
]

out = os.path.join(os.path.dirname(__file__), '..', 'test', 'fixtures', 'fairness', 'metrics.json')
with open(out, 'w') as f:
    json.dump({'generator': 'tools/fairness_fixtures.py', 'cases': cases}, f)
    f.write('\n')
print(f'wrote {out}: {len(cases)} cases')
