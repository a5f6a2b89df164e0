#!/usr/bin/python3
"""Golden values for the drift statistics in src/drift/{bins,psi,chi2}.ts.

Usage:
    /usr/bin/python3 tools/drift_fixtures.py

Needs Debian's numpy (1.24) and scipy (1.10); deterministic (numpy default_rng, fixed
seeds). Writes test/fixtures/drift/psi_chi2.json:

    numeric       reference/current arrays (NaN written as null) and, for 10 and 5
                  quantiles: numpy's raw quantile edges, the collapsed edges, counts per
                  bin for both arrays and the PSI between them
    categorical   reference/current arrays (None = missing), top K, the ranked categories,
                  counts per bin, PSI, and scipy.stats.chisquare over the bins the
                  reference populates
    chisquare     observed counts, expected proportions, scipy.stats.chisquare
    chisquare_zero_expected
                  proportions with zeros; scipy.stats.chisquare on the categories with a
                  positive proportion, and the observations left out
    chi2_sf, chi2_cdf, chi2_ppf, chi2_isf
                  [x or p, dof, value] from scipy.stats.chi2
    psi_critical  chi2.ppf(1 - alpha, bins - 1) * (1/n_ref + 1/n_cur)

The binning rules mirror src/drift/bins.ts (see its module comment) but are computed here
independently: edges with np.quantile(x, np.arange(Q + 1) / Q) (method 'linear'), an edge
kept only if strictly above the last kept one; membership with np.searchsorted(side='right')
(left-closed bins), the reference maximum in the last interior bin — cross-checked against
np.histogram, which uses the same convention.
"""

import json
import math
import os
import sys

import numpy as np
import scipy
from scipy import stats

sys.dont_write_bytecode = True

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
OUT = os.path.join(ROOT, "test", "fixtures", "drift", "psi_chi2.json")
PSI_EPSILON = 1e-4


# --- numeric bins -------------------------------------------------------------------------

def numeric_edges(reference, quantiles):
    x = reference[~np.isnan(reference)]
    raw = np.quantile(x, np.arange(quantiles + 1) / quantiles)
    distinct = np.unique(x)
    if 2 <= len(distinct) <= quantiles:
        # few distinct values: one bin per value, the last a point bin [max, max]
        return [float(e) for e in raw], [float(v) for v in distinct] + [float(distinct[-1])]
    edges = [float(raw[0])]
    for e in raw[1:]:
        if e > edges[-1]:
            edges.append(float(e))
    return [float(e) for e in raw], edges


def count_numeric(edges, values):
    e = np.asarray(edges)
    interior = max(len(e) - 1, 1)
    counts = np.zeros(interior + 3, dtype=np.int64)
    nan = np.isnan(values)
    v = values[~nan]
    counts[0] = nan.sum()
    counts[1] = (v < e[0]).sum()
    counts[-1] = (v > e[-1]).sum()
    inside = v[(v >= e[0]) & (v <= e[-1])]
    k = np.minimum(np.searchsorted(e, inside, side="right") - 1, interior - 1)
    counts[2:2 + interior] = np.bincount(k, minlength=interior)
    if len(e) > 1:
        assert (np.histogram(inside, bins=e)[0] == counts[2:2 + interior]).all()
    assert counts.sum() == len(values)
    return [int(c) for c in counts]


def psi(ref_counts, cur_counts, eps=PSI_EPSILON):
    rt, ct = sum(ref_counts), sum(cur_counts)
    total = 0.0
    for r, c in zip(ref_counts, cur_counts):
        r = max(r / rt, eps)
        c = max(c / ct, eps)
        total += (c - r) * math.log(c / r)
    return total


def rounded(values, digits):
    # Python's round() is correctly rounded, so the JSON holds short decimals.
    return np.array([v if math.isnan(v) else round(float(v), digits) for v in values])


def with_nans(rng, values, rate):
    values = values.astype(float).copy()
    values[rng.random(len(values)) < rate] = np.nan
    return values


def numeric_cases():
    cases = []

    def add(name, reference, current):
        entry = {"name": name, "reference": to_json(reference), "current": to_json(current), "bins": {}}
        for q in (10, 5):
            raw, edges = numeric_edges(reference, q)
            ref_counts = count_numeric(edges, reference)
            cur_counts = count_numeric(edges, current)
            entry["bins"][str(q)] = {
                "quantiles_raw": raw,
                "edges": edges,
                "counts_reference": ref_counts,
                "counts_current": cur_counts,
                "psi": psi(ref_counts, cur_counts),
            }
        cases.append(entry)

    rng = np.random.default_rng(20240101)
    add("normal, same distribution",
        rounded(rng.normal(0, 1, 2000), 4), rounded(rng.normal(0, 1, 1500), 4))

    rng = np.random.default_rng(20240102)
    add("normal, current shifted and wider",
        rounded(rng.normal(50, 10, 3000), 3), rounded(rng.normal(53, 12, 2500), 3))

    rng = np.random.default_rng(20240103)
    ref = np.where(rng.random(5000) < 0.6, 0.0, rng.lognormal(3, 1, 5000))
    cur = np.where(rng.random(4000) < 0.45, 0.0, rng.lognormal(3.2, 1, 4000))
    add("zero for 60 % of the reference (heavy ties)", rounded(ref, 2), rounded(cur, 2))

    rng = np.random.default_rng(20240104)
    add("integer counts (Poisson), current mean higher",
        rng.poisson(3, 3000).astype(float), rng.poisson(3.6, 3000).astype(float))

    rng = np.random.default_rng(20240105)
    add("integer ages, current older",
        np.clip(np.round(rng.normal(40, 12, 2000)), 18, 80), np.clip(np.round(rng.normal(44, 12, 1800)), 18, 85))

    rng = np.random.default_rng(20240106)
    add("NaN in both, current partly outside the reference range",
        with_nans(rng, rounded(rng.uniform(0, 100, 2000), 2), 0.05),
        with_nans(rng, rounded(rng.uniform(-10, 120, 1500), 2), 0.15))

    rng = np.random.default_rng(20240107)
    ref = rng.normal(0, 1, 400)
    _, deciles = numeric_edges(ref, 10)
    _, quintiles = numeric_edges(ref, 5)
    cur = np.concatenate([rng.choice(ref, 1000), deciles, quintiles])
    add("full-precision reference, current drawn from it and its edges", ref, cur)

    rng = np.random.default_rng(20240108)
    add("seven reference values", rng.normal(0, 1, 7), rounded(rng.normal(0, 1.5, 60), 3))

    rng = np.random.default_rng(20240109)
    add("constant reference", np.full(100, 3.5), rng.choice([3.0, 3.5, 4.0], 80, p=[0.1, 0.8, 0.1]))

    rng = np.random.default_rng(20240110)
    add("0/1 feature (one interior bin: ties collapse)",
        (rng.random(1000) < 0.3).astype(float), (rng.random(1000) < 0.5).astype(float))

    rng = np.random.default_rng(20240111)
    ref = np.where(rng.random(1000) < 0.1, -1, 1) * rng.lognormal(9, 2, 1000)
    cur = np.where(rng.random(800) < 0.2, -1, 1) * rng.lognormal(9.5, 2, 800)
    add("large amounts with negative refunds", rounded(ref, 2), rounded(cur, 2))
    return cases


def to_json(values):
    return [None if math.isnan(v) else (int(v) if float(v).is_integer() and abs(v) < 2**53 else float(v)) for v in values]


# --- categorical bins ---------------------------------------------------------------------

def rank_key(item):
    value, count = item
    return (-count, 0 if isinstance(value, (int, float)) else 1, value)


def categorical_case(name, reference, current, top_k):
    counts = {}
    for v in reference:
        if v is not None:
            counts[v] = counts.get(v, 0) + 1
    ranked = [v for v, _ in sorted(counts.items(), key=rank_key)]
    kept, other = ranked[:top_k], ranked[top_k:]
    index = {v: i + 1 for i, v in enumerate(kept)}
    index.update({v: len(kept) + 1 for v in other})

    def count(values):
        c = [0] * (len(kept) + 3)
        for v in values:
            c[0 if v is None else index.get(v, len(kept) + 2)] += 1
        return c

    ref_counts, cur_counts = count(reference), count(current)
    ref = np.array(ref_counts, dtype=float)
    cur = np.array(cur_counts, dtype=float)
    mask = ref > 0
    f_obs = cur[mask]
    f_exp = ref[mask] / ref[mask].sum() * f_obs.sum()
    res = stats.chisquare(f_obs, f_exp)
    return {
        "name": name, "reference": list(reference), "current": list(current), "top_k": top_k,
        "categories": kept, "other": other, "counts_reference": ref_counts, "counts_current": cur_counts,
        "psi": psi(ref_counts, cur_counts),
        "chisquare": {"statistic": float(res.statistic), "dof": int(mask.sum() - 1), "p_value": float(res.pvalue),
                      "excluded": int(cur[~mask].sum())},
    }


def categorical_cases():
    cases = []
    rng = np.random.default_rng(20240201)
    p = np.array([30, 20, 15, 10, 8, 7, 5, 3, 1.5, 0.5]) / 100
    cases.append(categorical_case(
        "integer codes, same distribution",
        [int(v) for v in rng.choice(10, 3000, p=p)], [int(v) for v in rng.choice(10, 2000, p=p)], 20))

    rng = np.random.default_rng(20240202)
    w = 1 / np.arange(1, 32) ** 1.1
    ref = [None if rng.random() < 0.03 else int(v) for v in rng.choice(31, 5000, p=w / w.sum())]
    w2 = w.copy()
    w2[:5] = w2[4::-1]
    cur = [None if rng.random() < 0.08 else int(v) for v in rng.choice(31, 4000, p=w2 / w2.sum())]
    cur += [40] * 25 + [41] * 3
    rng.shuffle(cur)
    cases.append(categorical_case("codes shifted, with missing and unseen codes, top 10", ref, cur, 10))

    rng = np.random.default_rng(20240203)
    ref = ["b"] * 50 + ["a"] * 50 + ["c"] * 50 + ["d"] * 20 + ["e"] * 20 + ["f"] * 5
    cur = ["a"] * 70 + ["b"] * 40 + ["c"] * 45 + ["d"] * 10 + ["e"] * 30 + ["g"] * 2 + [None] * 3
    rng.shuffle(ref)
    rng.shuffle(cur)
    cases.append(categorical_case("strings with equal counts, top 2", ref, cur, 2))

    rng = np.random.default_rng(20240204)
    ref = ["x"] * 30 + [2] * 30 + ["B"] * 30 + [10] * 30 + ["a"] * 12 + [-1] * 12 + [None] * 6
    cur = ["x"] * 20 + [2] * 35 + ["B"] * 30 + [10] * 25 + ["a"] * 20 + [-1] * 8 + [3] * 4
    rng.shuffle(ref)
    rng.shuffle(cur)
    cases.append(categorical_case("numbers and strings with equal counts, top 3", ref, cur, 3))
    return cases


# --- chi-square -----------------------------------------------------------------------------

def chisquare_entry(name, observed, proportions):
    observed = np.asarray(observed, dtype=float)
    proportions = np.asarray(proportions, dtype=float)
    res = stats.chisquare(observed, proportions * observed.sum())
    return {"name": name, "observed": [int(o) for o in observed], "proportions": [float(p) for p in proportions],
            "statistic": float(res.statistic), "dof": len(observed) - 1, "p_value": float(res.pvalue)}


def chisquare_cases():
    rng = np.random.default_rng(20240301)
    cases = [chisquare_entry("three categories", [10, 20, 30], [0.2, 0.3, 0.5])]
    for name, k, n, shift in [
        ("five categories, no drift", 5, 1000, 0.0),
        ("ten categories, mild drift", 10, 2000, 0.1),
        ("twenty categories, clear drift", 20, 5000, 0.3),
        ("four categories, p around 1e-100", 4, 2000, 1.1),
        ("six categories, p around 1e-250", 6, 3000, 1.3),
        ("three categories, p underflows to 0", 3, 200000, 1.0),
        ("150 categories, no drift", 150, 20000, 0.0),
        ("200 categories, drift", 200, 50000, 0.15),
        ("60 categories, large counts", 60, 1000000, 0.02),
    ]:
        p = rng.dirichlet(np.full(k, 2.0))
        q = p * np.exp(shift * rng.normal(0, 1, k))
        q /= q.sum()
        cases.append(chisquare_entry(name, rng.multinomial(n, q), p))
    return cases


def chisquare_zero_expected_cases():
    out = []
    for name, observed, proportions in [
        ("unseen bin with observations", [40, 35, 20, 5], [0.4, 0.4, 0.2, 0.0]),
        ("empty reference bins in the middle and at the ends", [0, 12, 3, 30, 0, 55, 7], [0.0, 0.1, 0.0, 0.3, 0.0, 0.6, 0.0]),
        ("zero-proportion bins without observations", [100, 0, 200, 0], [0.35, 0.0, 0.65, 0.0]),
    ]:
        o = np.array(observed, dtype=float)
        p = np.array(proportions)
        mask = p > 0
        res = stats.chisquare(o[mask], p[mask] / p[mask].sum() * o[mask].sum())
        out.append({"name": name, "observed": observed, "proportions": proportions, "statistic": float(res.statistic),
                    "dof": int(mask.sum() - 1), "p_value": float(res.pvalue), "excluded": int(o[~mask].sum())})
    return out


DOFS = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 12, 15, 19, 20, 21, 25, 30, 40, 50, 60, 75, 100, 125, 150, 175, 199, 200]


def chi2_grids():
    sf, cdf, ppf, isf = [], [], [], []
    xs = np.logspace(-3, 3, 31)
    tiny_q = [1e-20, 1e-50, 1e-100, 1e-200, 1e-300]
    for dof in DOFS:
        for x in xs:
            s, c = float(stats.chi2.sf(x, dof)), float(stats.chi2.cdf(x, dof))
            if s >= 1e-300:
                sf.append([float(x), dof, s])
            if c >= 1e-300:
                cdf.append([float(x), dof, c])
        for q in tiny_q:
            x = float(stats.chi2.isf(q, dof))
            sf.append([x, dof, float(stats.chi2.sf(x, dof))])
        for p in [1e-12, 1e-6, 1e-3, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 0.75, 0.9, 0.95, 0.975, 0.99, 0.999, 0.999999]:
            ppf.append([p, dof, float(stats.chi2.ppf(p, dof))])
        for q in [0.05, 0.01, 1e-3, 1e-10] + tiny_q:
            isf.append([q, dof, float(stats.chi2.isf(q, dof))])
    return sf, cdf, ppf, isf


def psi_critical():
    out = []
    for n_ref in [1000, 10000, 100000]:
        for n_cur in [500, 5000, 50000]:
            for bins in [2, 5, 10, 12, 22]:
                for alpha in [0.05, 0.01, 0.001]:
                    value = float(stats.chi2.ppf(1 - alpha, bins - 1)) * (1 / n_ref + 1 / n_cur)
                    out.append({"n_ref": n_ref, "n_cur": n_cur, "bins": bins, "alpha": alpha, "value": value})
    return out


def main():
    sf, cdf, ppf, isf = chi2_grids()
    fixture = {
        "generated_by": "tools/drift_fixtures.py",
        "numpy": np.__version__,
        "scipy": scipy.__version__,
        "psi_epsilon": PSI_EPSILON,
        "numeric": numeric_cases(),
        "categorical": categorical_cases(),
        "chisquare": chisquare_cases(),
        "chisquare_zero_expected": chisquare_zero_expected_cases(),
        "chi2_sf": sf,
        "chi2_cdf": cdf,
        "chi2_ppf": ppf,
        "chi2_isf": isf,
        "psi_critical": psi_critical(),
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    text = json.dumps(fixture, separators=(",", ":"), allow_nan=False)
    with open(OUT, "w") as f:
        f.write(text + "\n")
    print(f"wrote {os.path.relpath(OUT, ROOT)} ({len(text)} bytes)")


if __name__ == "__main__":
    main()
