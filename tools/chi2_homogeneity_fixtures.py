#!/usr/bin/python3
"""Golden values for chiSquareHomogeneity in src/drift/chi2.ts (the PSI's sampling-noise guard).

Usage:
    /usr/bin/python3 tools/chi2_homogeneity_fixtures.py

Needs Debian's numpy (1.24) and scipy (1.10); deterministic (numpy default_rng, fixed seed).
For two samples counted in the same ordered bins, the bins are merged as the service does
(consecutive bins summed until the group's expected count in the smaller sample,
min(nA, nB) * (a + b) / (nA + nB), reaches min_expected; a last short group joins the one
before), written here independently, and the merged 2 x k table is tested with
scipy.stats.chi2_contingency(table, correction=False). Writes
test/fixtures/drift/chi2_homogeneity.json: [{"name", "a", "b", "min_expected",
"groups", "statistic", "dof", "pvalue"}].
"""
import json
import os

import numpy as np
import scipy
from scipy.stats import chi2_contingency

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "drift", "chi2_homogeneity.json")


def merged(a, b, min_expected):
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    na, nb = a.sum(), b.sum()
    smaller, total = min(na, nb), na + nb
    groups, cur = [], np.zeros(2)
    for x, y in zip(a, b):
        cur += (x, y)
        if cur.sum() > 0 and smaller * cur.sum() / total >= min_expected:
            groups.append(cur.copy())
            cur[:] = 0
    if cur.sum() > 0:
        if groups:
            groups[-1] += cur
        else:
            groups.append(cur.copy())
    return np.array(groups).T  # 2 x k


def case(name, a, b, min_expected=5):
    table = merged(a, b, min_expected)
    row = {"name": name, "a": [int(x) for x in a], "b": [int(x) for x in b], "min_expected": min_expected, "groups": int(table.shape[1])}
    if table.shape[1] < 2:
        row.update(statistic=0.0, dof=0, pvalue=1.0)
    else:
        stat, p, dof, _ = chi2_contingency(table, correction=False)
        row.update(statistic=float(stat), dof=int(dof), pvalue=float(p))
    return row


def main():
    rng = np.random.default_rng(20261202)
    deciles = np.full(10, 0.1)
    ref = rng.multinomial(5000, deciles)
    cases = [
        case("deciles, a stable window of 100", np.r_[0, 0, ref, 0], np.r_[0, 0, rng.multinomial(100, deciles), 0]),
        case("deciles, one window row above the reference maximum", np.r_[0, 0, ref, 0], np.r_[0, 0, rng.multinomial(99, deciles), 1]),
        case("deciles, a shifted window of 1000", np.r_[0, 0, ref, 0], np.r_[0, 0, rng.multinomial(1000, np.r_[0.02, 0.04, 0.06, 0.08, 0.1, 0.1, 0.12, 0.14, 0.16, 0.18]), 0]),
        case("rare categories at the end", [0, 2335, 1745, 835, 55, 20, 5, 5, 0, 0], [0, 49, 39, 9, 0, 1, 2, 0, 0, 0]),
        case("a new value range the reference never saw, 10 % of 1000 rows", np.r_[0, 0, ref, 0], np.r_[0, 0, rng.multinomial(900, deciles), 100]),
        case("without merging (min_expected 0), a bin empty in both", [50, 30, 0, 20, 0], [10, 20, 0, 25, 5], 0),
        case("everything in one group", [10, 0, 0], [1, 1, 0]),
        case("large samples", rng.multinomial(200000, deciles), rng.multinomial(300000, deciles)),
    ]
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/chi2_homogeneity_fixtures.py", "scipy": scipy.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote %s: %d cases" % (OUT, len(cases)))


if __name__ == "__main__":
    main()
