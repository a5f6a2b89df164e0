import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { categoricalBins, countCategorical } from '../../src/drift/bins.js';
import type { Category } from '../../src/drift/bins.js';
import {
  chiSquareCdf,
  chiSquareGoodnessOfFit,
  chiSquareHomogeneity,
  chiSquareIsf,
  chiSquareQuantile,
  chiSquareSf,
  chiSquareStatistic,
} from '../../src/drift/chi2.js';

// Golden values from tools/drift_fixtures.py (scipy 1.10).
interface ChiSquareCase {
  name: string;
  observed: number[];
  proportions: number[];
  statistic: number;
  dof: number;
  p_value: number;
  excluded?: number;
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/drift/psi_chi2.json'), 'utf8')) as {
  categorical: {
    name: string;
    reference: (Category | null)[];
    current: (Category | null)[];
    top_k: number;
    chisquare: { statistic: number; dof: number; p_value: number; excluded: number };
  }[];
  chisquare: ChiSquareCase[];
  chisquare_zero_expected: ChiSquareCase[];
  chi2_sf: [number, number, number][];
  chi2_cdf: [number, number, number][];
  chi2_ppf: [number, number, number][];
  chi2_isf: [number, number, number][];
};
const relErr = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

/** Statistic to 1e-9 relative; p-value to 1e-6 relative, or 1e-12 absolute once scipy's is below 1e-300. */
function assertMatches(actual: { statistic: number; dof: number; pValue: number }, expected: ChiSquareCase | { statistic: number; dof: number; p_value: number }, name: string) {
  assert.equal(actual.dof, expected.dof, name);
  assert.ok(relErr(actual.statistic, expected.statistic) <= 1e-9, `${name}: statistic ${actual.statistic} vs ${expected.statistic}`);
  if (expected.p_value > 1e-300) assert.ok(relErr(actual.pValue, expected.p_value) <= 1e-6, `${name}: p ${actual.pValue} vs ${expected.p_value}`);
  else assert.ok(Math.abs(actual.pValue - expected.p_value) <= 1e-12, `${name}: p ${actual.pValue} vs ${expected.p_value}`);
  return relErr(actual.pValue, expected.p_value);
}

describe('chiSquareGoodnessOfFit', () => {
  it('matches scipy.stats.chisquare, down to p-values near 1e-267 and up to 199 degrees of freedom', (t) => {
    let worst = 0;
    for (const c of fixture.chisquare) {
      const result = chiSquareGoodnessOfFit(c.observed, c.proportions);
      if (c.p_value > 0) worst = Math.max(worst, assertMatches(result, c, c.name));
      else assertMatches(result, c, c.name);
      assert.equal(result.excluded, 0);
    }
    t.diagnostic(`worst relative p-value deviation ${worst}`);
  });

  it('matches scipy on the fixture’s categorical windows, with reference counts as the proportions', () => {
    for (const c of fixture.categorical) {
      const bins = categoricalBins(c.reference, { topK: c.top_k });
      const result = chiSquareGoodnessOfFit(countCategorical(bins, c.current), countCategorical(bins, c.reference));
      assertMatches(result, c.chisquare, c.name);
      assert.equal(result.excluded, c.chisquare.excluded, c.name);
    }
  });

  it('leaves categories with expected proportion 0 out of the test and reports their observations as excluded', () => {
    for (const c of fixture.chisquare_zero_expected) {
      const result = chiSquareGoodnessOfFit(c.observed, c.proportions);
      assertMatches(result, c, c.name);
      assert.equal(result.excluded, c.excluded, c.name);
    }
    // Unseen observations alone never make the statistic infinite.
    const unseen = chiSquareGoodnessOfFit([50, 50, 1_000_000], [0.5, 0.5, 0]);
    assert.deepEqual(unseen, { statistic: 0, dof: 1, pValue: 1, excluded: 1_000_000 });
  });

  it('gives the same answer for reference counts as for proportions', () => {
    const a = chiSquareGoodnessOfFit([30, 50, 20], [0.25, 0.5, 0.25]);
    const b = chiSquareGoodnessOfFit([30, 50, 20], [200, 400, 200]);
    assert.ok(relErr(a.statistic, b.statistic) < 1e-15);
    assert.ok(relErr(a.pValue, b.pValue) < 1e-15);
  });

  it('has no verdict without a degree of freedom or without observations', () => {
    assert.deepEqual(chiSquareGoodnessOfFit([10, 3], [1, 0]), { statistic: 0, dof: 0, pValue: 1, excluded: 3 });
    const empty = chiSquareGoodnessOfFit([0, 0, 4], [0.5, 0.5, 0]);
    assert.ok(Number.isNaN(empty.statistic) && Number.isNaN(empty.pValue));
    assert.equal(empty.excluded, 4);
  });

  it('refuses mismatched lengths, negative or non-finite inputs and all-zero proportions', () => {
    assert.throws(() => chiSquareGoodnessOfFit([1, 2], [1]), /observed has 2 categories but expectedProportions has 1/);
    assert.throws(() => chiSquareGoodnessOfFit([1, -2], [0.5, 0.5]), /observed\[1\] = -2 is not a finite count ≥ 0/);
    assert.throws(() => chiSquareGoodnessOfFit([1, 2], [0.5, NaN]), /expectedProportions\[1\] = NaN/);
    assert.throws(() => chiSquareGoodnessOfFit([1, 2], [0, 0]), /every expected proportion is 0/);
  });

  it('drifts when the p-value is low', () => {
    assert.deepEqual(chiSquareStatistic, { name: 'chi2', drifts: 'low' });
  });
});

describe('chi-square distribution', () => {
  const check = (rows: [number, number, number][], f: (x: number, dof: number) => number, t: { diagnostic(m: string): void }) => {
    let worst = 0;
    for (const [x, dof, expected] of rows) {
      const err = relErr(f(x, dof), expected);
      worst = Math.max(worst, err);
      assert.ok(err <= 1e-9, `x=${x}, dof=${dof}: ${f(x, dof)} vs scipy ${expected}`);
    }
    t.diagnostic(`${rows.length} points, worst relative deviation ${worst}`);
  };

  it('has the survival function of scipy.stats.chi2 for dof 1..200, x from 1e-3 to 1e3 and p-values down to 1e-300', (t) => {
    check(fixture.chi2_sf, chiSquareSf, t);
    assert.ok(fixture.chi2_sf.some(([, , p]) => p < 1e-299));
  });

  it('has the CDF of scipy.stats.chi2', (t) => check(fixture.chi2_cdf, chiSquareCdf, t));
  it('has the quantile function of scipy.stats.chi2.ppf', (t) => check(fixture.chi2_ppf, chiSquareQuantile, t));
  it('has the inverse survival function of scipy.stats.chi2.isf, down to 1e-300', (t) => check(fixture.chi2_isf, chiSquareIsf, t));

  it('inverts itself', () => {
    for (const dof of [1, 2, 7.5, 30, 500]) {
      for (const x of [0.01, 1, dof, 3 * dof + 10]) {
        // Through the smaller tail: near 1 the other one has lost the digits that locate x.
        const lower = chiSquareCdf(x, dof) < 0.5;
        const tail = lower ? chiSquareCdf(x, dof) : chiSquareSf(x, dof);
        if (tail < 1e-300) continue; // underflowed (x = 0.01 at dof 500): nothing left to invert
        const back = lower ? chiSquareQuantile(tail, dof) : chiSquareIsf(tail, dof);
        assert.ok(relErr(back, x) < 1e-12, `${x}, ${dof}: ${back}`);
      }
    }
  });

  it('handles the ends of its domain', () => {
    assert.equal(chiSquareSf(0, 3), 1);
    assert.equal(chiSquareSf(-1, 3), 1);
    assert.equal(chiSquareSf(Infinity, 3), 0);
    assert.equal(chiSquareCdf(0, 3), 0);
    assert.ok(Number.isNaN(chiSquareSf(NaN, 3)));
    assert.equal(chiSquareSf(1e6, 3), 0);
    assert.equal(chiSquareQuantile(0, 3), 0);
    assert.equal(chiSquareQuantile(1, 3), Infinity);
    assert.equal(chiSquareIsf(0, 3), Infinity);
    assert.equal(chiSquareIsf(1, 3), 0);
    assert.throws(() => chiSquareSf(1, 0), /dof must be a finite number > 0, got 0/);
    assert.throws(() => chiSquareQuantile(1.5, 3), /p must be in \[0, 1\], got 1\.5/);
    assert.throws(() => chiSquareIsf(-0.1, 3), /q must be in \[0, 1\], got -0\.1/);
  });
});

// Golden values from tools/chi2_homogeneity_fixtures.py (scipy 1.10 chi2_contingency on the merged table).
const homogeneity = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/drift/chi2_homogeneity.json'), 'utf8')) as {
  cases: { name: string; a: number[]; b: number[]; min_expected: number; statistic: number; dof: number; pvalue: number }[];
};

describe('chiSquareHomogeneity', () => {
  for (const c of homogeneity.cases) {
    it(`equals scipy's chi2_contingency on the merged bins: ${c.name}`, () => {
      const r = chiSquareHomogeneity(c.a, c.b, c.min_expected);
      assert.equal(r.dof, c.dof);
      assert.ok(Math.abs(r.statistic - c.statistic) <= 1e-9 * Math.max(1, c.statistic), `statistic ${r.statistic} vs ${c.statistic}`);
      assert.ok(Math.abs(r.pValue - c.pvalue) <= 1e-9 * c.pvalue || Math.abs(r.pValue - c.pvalue) < 1e-300, `p ${r.pValue} vs ${c.pvalue}`);
    });
  }

  it('merges a single window row above the reference maximum into its neighbour instead of calling it drift', () => {
    const ref = [0, 0, ...Array.from({ length: 10 }, () => 500), 0];
    const cur = [0, 0, 10, 10, 10, 10, 10, 10, 10, 10, 10, 9, 1];
    assert.ok(chiSquareHomogeneity(ref, cur).pValue > 0.5);
    assert.ok(chiSquareHomogeneity(ref, cur, 0).pValue < 1e-6, 'without merging, the one row is a term of about 50');
  });

  it('gives NaN for an empty sample and refuses bins of different lengths or bad counts', () => {
    assert.ok(Number.isNaN(chiSquareHomogeneity([1, 2], [0, 0]).pValue));
    assert.throws(() => chiSquareHomogeneity([1, 2], [1]), /a has 2 bins but b has 1/);
    assert.throws(() => chiSquareHomogeneity([1, -2], [1, 1]), /a\[1\] = -2 is not a finite count ≥ 0/);
  });
});
