"""Fixtures for test/drift/ks-sketch.test.ts: two-sample KS by scipy on continuous and tied
samples, large enough for the asymptotic p-value, so the sketch's bound
D_sketch <= D <= D_sketch + eps and p in [p_lower, p] can be checked against an independent
implementation. Run with /usr/bin/python3 (scipy 1.10); writes test/fixtures/window/ks_sketch.json.
"""
import json
import numpy as np
from scipy import stats

rng = np.random.default_rng(20261202)
cases = []
def case(name, ref, cur):
    ref, cur = np.round(ref, 3), np.round(cur, 3)
    r = stats.ks_2samp(ref, cur, alternative="two-sided", method="auto")
    cases.append({"name": name, "reference": ref.tolist(), "window": cur.tolist(),
                  "statistic": float(r.statistic), "pvalue": float(r.pvalue)})

ref = rng.normal(0, 1, 3000)
case("normal, no shift", ref, rng.normal(0, 1, 12000))
case("normal, shift 0.1, small window (exact p)", ref, rng.normal(0.1, 1, 2000))
case("normal, shift 0.05", ref, rng.normal(0.05, 1, 12000))
case("normal, scale 1.1", ref, rng.normal(0, 1.1, 15000))
case("lognormal, shift", rng.lognormal(0, 1, 2500), rng.lognormal(0.1, 1, 11000))
case("ties (integers 0..40)", rng.integers(0, 41, 4000).astype(float), rng.integers(0, 43, 12000).astype(float))
with open("test/fixtures/window/ks_sketch.json", "w") as f:
    json.dump({"scipy": __import__("scipy").__version__, "cases": cases}, f)
