#!/usr/bin/python3
"""Writes test/fixtures/drift/ks2samp.json: two-sample Kolmogorov-Smirnov cases with scipy's answers.

Run with Debian's interpreter, the one that has numpy and scipy:

    /usr/bin/python3 tools/ks_fixtures.py

Each case holds the two samples and what scipy.stats.ks_2samp(a, b) gives with its defaults
(alternative='two-sided', method='auto'): statistic, pvalue, and the method that produced the
p-value. The method is 'asymp' for an exact attempt that scipy abandoned (it warns
"Exact calculation unsuccessful"). Samples of moderate size are stored as arrays from numpy's
default_rng with fixed seeds. Floats are written with repr, so the TypeScript side reads back the
same doubles. Samples of 10,000 values or more are stored as a recipe (see RECIPES) that
test/drift/ks.test.ts expands to bit-identical values without Python. `asympBranch` records
which part of scipy's kstwo.sf (_kolmogn) an asymptotic p-value came from, so coverage can be
checked.
"""

import json
import math
import os
import sys
import warnings

import numpy as np
import scipy
from scipy import stats

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), '..', 'test', 'fixtures', 'drift', 'ks2samp.json')

RECIPES = {
    'lcg': (
        'n values; a 32-bit LCG, state = (1664525 * state + 1013904223) mod 2^32, starting at '
        'state = seed; value i = (u_1 + ... + u_draws + offset) / scale where each u is a fresh '
        'step\'s (state >>> 8) % modulus. Integers and halves stay exact, so one division '
        'rounds the same in any language.'
    ),
    'grid': 'n values; value i = (start + i * step) / scale, i = 0 .. n-1.',
}


def lcg(seed, n, draws, modulus, offset, scale):
    state = seed & 0xFFFFFFFF
    out = np.empty(n)
    for i in range(n):
        total = 0
        for _ in range(draws):
            state = (1664525 * state + 1013904223) & 0xFFFFFFFF
            total += (state >> 8) % modulus
        out[i] = (total + offset) / scale
    return out


def grid(n, start, step, scale):
    return np.array([(start + i * step) / scale for i in range(n)], dtype=np.float64)


def expand(spec):
    if isinstance(spec, dict):
        args = {k: v for k, v in spec.items() if k != 'recipe'}
        return {'lcg': lcg, 'grid': grid}[spec['recipe']](**args)
    return np.asarray(spec, dtype=np.float64)


def kstwo_branch(d, n1, n2):
    """Which branch of scipy's kstwo.sf(d, round(en)) (stats/_ksstats.py, _kolmogn) answers."""
    m, n = sorted([float(n1), float(n2)], reverse=True)
    N = int(np.round(m * n / (m + n)))
    if d <= 0.5 / N:
        return f'n={N}: below support, p=1'
    if d >= 1:
        return f'n={N}: above support, p=0'
    t = N * d
    if t <= 1:
        return f'n={N}: ruben-gambino (t<=1)'
    if t >= N - 1:
        return f'n={N}: ruben-gambino (t>=n-1)'
    if d >= 0.5:
        return f'n={N}: smirnov (x>=0.5)'
    nx2 = t * d
    if N <= 140:
        if nx2 <= 0.754693:
            return f'n={N}: durbin-mtw'
        if nx2 <= 4:
            return f'n={N}: pomeranz'
        return f'n={N}: smirnov'
    if nx2 >= 370:
        return f'n={N}: zero (n*x^2>=370)'
    if nx2 >= 2.2:
        return f'n={N}: smirnov'
    if N <= 100000 and N * d ** 1.5 <= 1.4:
        return f'n={N}: durbin-mtw'
    return f'n={N}: pelz-good'


def L(seed, n, draws=1, modulus=1_000_000, offset=0, scale=1000):
    return {'recipe': 'lcg', 'seed': seed, 'n': n, 'draws': draws, 'modulus': modulus, 'offset': offset, 'scale': scale}


def G(n, start, step, scale=1):
    return {'recipe': 'grid', 'n': n, 'start': start, 'step': step, 'scale': scale}


def normal(seed, n, loc=0.0):
    return np.random.default_rng(seed).normal(loc, 1.0, n)


def cases():
    c = []

    def add(name, a, b):
        c.append((name, a, b))

    # Exact branch, n1 == n2 (_compute_prob_outside_square) and n1 != n2 (inside method)
    add('5 v 5 from the same normal', normal(101, 5), normal(102, 5))
    add('5 v 7 shifted by one standard deviation', normal(103, 5), normal(104, 7, 1.0))
    add('10 v 10 completely separated (D = 1)', normal(105, 10), normal(106, 10, 10.0))
    add('20 v 35 shifted by 0.5', normal(107, 20), normal(108, 35, 0.5))
    add('50 v 50 from the same normal', normal(109, 50), normal(110, 50))
    add('100 v 80 shifted by 1', normal(111, 100), normal(112, 80, 1.0))
    add('500 v 400 shifted by 0.3', normal(113, 500), normal(114, 400, 0.3))
    add('500 v 400 completely separated (tiny exact p)', normal(115, 500), normal(116, 400, 20.0))
    add('1000 v 1000 from the same normal', normal(117, 1000), normal(118, 1000))
    add('1000 v 1000 shifted by 0.6 (tiny exact p, n1 == n2)', normal(119, 1000), normal(120, 1000, 0.6))
    add('3000 v 2000 shifted by 0.1 (gcd 1000)', normal(121, 3000), normal(122, 2000, 0.1))
    add('9000 v 10000 shifted by 0.05 (gcd 1000)', normal(123, 9000), normal(124, 10000, 0.05))
    add('120 v 84 shifted by 0.4 (gcd 12)', normal(125, 120), normal(126, 84, 0.4))
    add('2 v 1 (smallest sizes)', normal(127, 2), normal(128, 1))

    # Ties
    rng = np.random.default_rng(130)
    add('300 v 200 heavy ties, both Poisson(2)', rng.poisson(2.0, 300).astype(float), rng.poisson(2.0, 200).astype(float))
    add('300 v 200 heavy ties, Poisson(2) v Poisson(2.6)', rng.poisson(2.0, 300).astype(float), rng.poisson(2.6, 200).astype(float))
    add('40 v 60 with the second sample constant', normal(131, 40), np.zeros(60))
    add('64 v 48 with both samples constant at the same value', np.full(64, 3.5), np.full(48, 3.5))
    add('250 v 250 with both samples constant at different values', np.full(250, 1.0), np.full(250, 2.0))
    add('30 v 45 ties across the samples (values rounded to 0.5)',
        np.round(normal(132, 30) * 2) / 2, np.round(normal(133, 45, 0.3) * 2) / 2)

    # Exact attempt rejected (probability rounds above 1), scipy falls back to asymp
    add('5 v 5 perfectly interleaved: exact rounds above 1, falls back to asymp',
        np.arange(5) * 2.0, np.arange(5) * 2.0 + 1)
    add('60 v 60 interleaved two apart (h = 2): exact falls back to asymp',
        np.arange(60) * 2.0, np.arange(60) * 2.0 + 3)

    # Just over the switch: auto picks asymp
    add('10001 v 500 just over MAX_AUTO_N, shifted by 0.2', normal(140, 10001), normal(141, 500, 0.2))

    # Large samples from recipes
    add('10000 v 10000 at MAX_AUTO_N (exact, n1 == n2)', L(1, 10000, draws=4), L(2, 10000, draws=4, offset=20000))
    add('30000 v 30000 from the same distribution', L(3, 30000, draws=4), L(4, 30000, draws=4))
    add('30000 v 30000 heavy ties, 5 distinct values', L(5, 30000, modulus=5, scale=1), L(6, 30000, modulus=5, scale=1))
    add('30000 v 30000 heavy ties, 5 v 6 distinct values', L(7, 30000, modulus=5, scale=1), L(8, 30000, modulus=6, scale=1))
    add('30000 v 30000 with the first sample constant', G(30000, 500, 0), L(9, 30000))
    add('100000 v 30000 shifted to p near 1e-300', L(10, 100000), L(11, 30000, offset=120500))
    add('100000 v 30000 shifted to a subnormal p', L(10, 100000), L(11, 30000, offset=122000))
    add('100000 v 30000 shifted slightly', L(12, 100000), L(13, 30000, offset=8000))
    add('100000 v 100000 from the same distribution', L(14, 100000, draws=4), L(15, 100000, draws=4))
    add('100000 v 100000 shifted far (p exactly 0)', L(16, 100000), L(17, 100000, offset=200000))
    add('100000 v 100000 completely separated (D = 1)', L(18, 100000), L(19, 100000, offset=2_000_000))
    add('100000 v 100000 the same values offset by half a step', L(20, 100000), L(20, 100000, offset=0.5))
    add('1000000 v 30000 shifted by 0.01', L(21, 1000000), L(22, 30000, offset=10000))

    # Asymptotic p-values at small effective n (kstwo's n <= 140 branches)
    add('10001 v 5 (asymp, n = 5), same distribution', L(30, 10001), L(31, 5))
    add('10001 v 5 (asymp, n = 5), second sample above most of the first', L(32, 10001), L(33, 5, offset=700000))
    add('12000 v 3 (asymp, n = 3)', L(34, 12000), L(35, 3, offset=300000))
    add('20000 v 50 (asymp, n = 50), same distribution', L(36, 20000), G(50, 10000, 20000, 1000))
    add('20000 v 50 (asymp, n = 50), shifted by 0.15', L(37, 20000), L(38, 50, offset=150000))
    add('20000 v 50 (asymp, n = 50), shifted by 0.4', L(39, 20000), L(40, 50, offset=400000))
    add('15000 v 140 (asymp, n = 139), shifted by 0.1', L(41, 15000), L(42, 140, offset=100000))
    add('15000 v 300 (asymp, n = 294), evenly spaced second sample', L(43, 15000), G(300, 1666, 3333, 1000))
    add('15000 v 300 (asymp, n = 294), both evenly spaced (D <= 1/n)', G(15000, 0, 1), G(300, 0, 50))
    return c


def main():
    out_cases = []
    for name, a_spec, b_spec in cases():
        a = expand(a_spec)
        b = expand(b_spec)
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter('always')
            res = stats.ks_2samp(a, b)
        fell_back = any('Exact calculation unsuccessful' in str(w.message) for w in caught)
        n1, n2 = len(a), len(b)
        method = 'exact' if max(n1, n2) <= 10000 and not fell_back else 'asymp'
        case = {
            'name': name,
            'a': a_spec if isinstance(a_spec, dict) else [float(v) for v in a],
            'b': b_spec if isinstance(b_spec, dict) else [float(v) for v in b],
            'n1': n1,
            'n2': n2,
            'statistic': float(res.statistic),
            'pvalue': float(res.pvalue),
            'method': method,
        }
        if method == 'asymp':
            case['asympBranch'] = kstwo_branch(float(res.statistic), n1, n2)
        if fell_back:
            case['exactFellBack'] = True
        out_cases.append(case)

    doc = {
        'generator': 'tools/ks_fixtures.py (run with /usr/bin/python3)',
        'reference': f'scipy.stats.ks_2samp(a, b) of scipy {scipy.__version__} (alternative="two-sided", method="auto"), numpy {np.__version__}',
        'recipes': RECIPES,
        'cases': out_cases,
    }
    os.makedirs(os.path.dirname(OUT), exist_ok=True)
    with open(OUT, 'w') as f:
        json.dump(doc, f, separators=(',', ':'))
        f.write('\n')

    print(f'{len(out_cases)} cases -> {os.path.relpath(OUT)} ({os.path.getsize(OUT):,} bytes)')
    for c in out_cases:
        extra = c.get('asympBranch', '')
        if c.get('exactFellBack'):
            extra = 'exact fell back; ' + extra
        print(f"  {c['method']:5}  D={c['statistic']:<22.17g} p={c['pvalue']:<24.17g} {c['name']}  {extra}")


if __name__ == '__main__':
    sys.exit(main())
