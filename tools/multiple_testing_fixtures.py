#!/usr/bin/python3
"""Golden values for the multiple-testing corrections in src/drift/multiple-testing.ts.

Usage:
    /usr/bin/python3 tools/multiple_testing_fixtures.py

statsmodels is not installed here and Debian's scipy (1.10.1) predates
scipy.stats.false_discovery_control (1.11), so the adjusted p-values are computed with numpy
from the published definitions, and each is cross-checked against the procedure it adjusts:
for many levels alpha, the hypotheses that Holm's step-down (or Benjamini-Hochberg's
step-up) procedure rejects at alpha, run as the papers state it, are exactly those whose
adjusted p-value is at most alpha (for alpha < 1).

    Holm (1979): sort p ascending; reject H(1), H(2), ... while p(k) <= alpha / (m - k + 1),
                 stop at the first that fails. Adjusted p(k) = max_{j<=k} min(1, (m-j+1) p(j)).
    BH (1995):   let k* be the largest k with p(k) <= k alpha / m; reject H(1)..H(k*).
                 Adjusted p(k) = min_{j>=k} min(1, m p(j) / j).

A NaN p-value (a test that could not run) stays NaN and is not counted in m; NaN is written
as null. Deterministic (numpy default_rng, fixed seed). Writes
test/fixtures/drift/multiple_testing.json: [{"name", "p", "holm", "bh"}].
"""
import json
import os

import numpy as np

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# The procedures compare p with alpha·c/m: at alpha equal to an adjusted value, rounding can
# put the bound an ulp below p.
TOLERANCE = 1 + 1e-12
OUT = os.path.join(ROOT, "test", "fixtures", "drift", "multiple_testing.json")


def adjusted(p, method):
    p = np.asarray(p, dtype=float)
    out = np.full(p.shape, np.nan)
    keep = np.flatnonzero(~np.isnan(p))
    m = keep.size
    if m == 0:
        return out
    order = keep[np.argsort(p[keep], kind="stable")]
    ps = p[order]
    k = np.arange(1, m + 1)
    if method == "holm":
        adj = np.maximum.accumulate(np.minimum(1.0, (m - k + 1) * ps))
    else:
        adj = np.minimum.accumulate((m * ps / k)[::-1])[::-1]
        adj = np.minimum(1.0, adj)
    out[order] = adj
    return out


def rejected_by_procedure(p, method, alpha):
    p = np.asarray(p, dtype=float)
    keep = np.flatnonzero(~np.isnan(p))
    m = keep.size
    order = keep[np.argsort(p[keep], kind="stable")]
    rejected = set()
    if method == "holm":
        for k, i in enumerate(order, start=1):
            if p[i] <= alpha / (m - k + 1) * TOLERANCE:
                rejected.add(int(i))
            else:
                break
    else:
        k_star = 0
        for k, i in enumerate(order, start=1):
            if p[i] <= k * alpha / m * TOLERANCE:
                k_star = k
        rejected = {int(i) for i in order[:k_star]}
    return rejected


def check(p, method, adj):
    # Levels at every adjusted value (where the rejected set changes) and between them.
    # (Below 1: an adjusted value clipped to 1 is not a level at which the procedure rejects.)
    levels = sorted({float(a) for a in adj if not np.isnan(a) and a < 1} | {0.001, 0.01, 0.05, 0.1, 0.5})
    for alpha in levels:
        want = rejected_by_procedure(p, method, alpha)
        got = {i for i, a in enumerate(adj) if not np.isnan(a) and a <= alpha}
        assert want == got, (method, alpha, p, want, got)


def case(name, p):
    p = [float(x) for x in p]
    row = {"name": name, "p": [None if np.isnan(x) else x for x in p]}
    for method in ("holm", "bh"):
        adj = adjusted(p, method)
        check(p, method, adj)
        row[method] = [None if np.isnan(x) else float(x) for x in adj]
    return row


def main():
    rng = np.random.default_rng(20261202)
    cases = [
        case("one test", [0.03]),
        case("the issue's example: 23 features, one p-value just under 0.01", [0.009] + list(rng.uniform(0.05, 1, 22))),
        case("uniform, 23 tests", rng.uniform(0, 1, 23)),
        case("a few strong signals among 23", np.concatenate([[1e-12, 3e-5, 0.0004], rng.uniform(0, 1, 20)])),
        case("ties and ones", [0.01, 0.01, 0.04, 0.04, 1.0, 1.0, 0.2]),
        case("with tests that could not run", [0.02, float("nan"), 0.001, float("nan"), 0.5]),
        case("every p-value tiny", [1e-300, 1e-200, 1e-100, 1e-50, 0.0]),
        case("log-uniform, 100 tests", 10 ** rng.uniform(-8, 0, 100)),
        case("all NaN", [float("nan"), float("nan")]),
    ]
    with open(OUT, "w") as f:
        json.dump({"generator": "tools/multiple_testing_fixtures.py", "numpy": np.__version__, "cases": cases}, f, indent=1)
        f.write("\n")
    print("wrote %s: %d cases" % (OUT, len(cases)))


if __name__ == "__main__":
    main()
