import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { categoricalBins, countCategorical, countNumeric, numericBins } from '../../src/drift/bins.js';
import type { Category } from '../../src/drift/bins.js';
import { PSI_EPSILON, psi, psiCriticalValue, psiStatistic } from '../../src/drift/psi.js';
import { seededRandom } from '../helpers/stable-windows.js';

// Golden values from tools/drift_fixtures.py (numpy 1.24 / scipy 1.10).
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/drift/psi_chi2.json'), 'utf8')) as {
  psi_epsilon: number;
  numeric: { name: string; reference: (number | null)[]; current: (number | null)[]; bins: Record<string, { psi: number }> }[];
  categorical: { name: string; reference: (Category | null)[]; current: (Category | null)[]; top_k: number; psi: number }[];
  psi_critical: { n_ref: number; n_cur: number; bins: number; alpha: number; value: number }[];
};
const numbers = (values: (number | null)[]) => Float64Array.from(values, (v) => (v === null ? NaN : v));

describe('psi', () => {
  it('matches the fixture script on every numeric case, deciles and quintiles', (t) => {
    assert.equal(fixture.psi_epsilon, PSI_EPSILON);
    let worst = 0;
    for (const c of fixture.numeric) {
      for (const [q, expected] of Object.entries(c.bins)) {
        const bins = numericBins(numbers(c.reference), { quantiles: Number(q) });
        const value = psi(countNumeric(bins, numbers(c.reference)), countNumeric(bins, numbers(c.current)));
        worst = Math.max(worst, Math.abs(value - expected.psi));
        assert.ok(Math.abs(value - expected.psi) <= 1e-9, `${c.name}, ${q}: ${value} vs ${expected.psi}`);
      }
    }
    t.diagnostic(`worst absolute deviation ${worst}`);
  });

  it('matches the fixture script on every categorical case', () => {
    for (const c of fixture.categorical) {
      const bins = categoricalBins(c.reference, { topK: c.top_k });
      const value = psi(countCategorical(bins, c.reference), countCategorical(bins, c.current));
      assert.ok(Math.abs(value - c.psi) <= 1e-9, `${c.name}: ${value} vs ${c.psi}`);
    }
  });

  it('floors a bin’s proportion at 1e-4 on both sides, so a bin empty on one side adds a finite term', () => {
    const expected = (0.5 - 1) * Math.log(0.5 / 1) + (0.5 - 1e-4) * Math.log(0.5 / 1e-4);
    assert.equal(psi([100, 0], [50, 50]), expected);
    assert.equal(psi([50, 50], [100, 0]), expected, 'PSI is symmetric');
    assert.equal(psi([100, 0, 0], [50, 50, 0]), expected, 'a bin empty on both sides adds nothing');
    // A proportion under the floor counts as the floor: 1 in 100 000 (1e-5) against 0 adds nothing.
    const big = 99_999 / 100_000;
    assert.equal(psi([99_999, 1], [100_000, 0]), (1 - big) * Math.log(1 / big));
    const loose = (0.5 - 1) * Math.log(0.5) + (0.5 - 0.01) * Math.log(0.5 / 0.01);
    assert.equal(psi([100, 0], [50, 50], { epsilon: 0.01 }), loose);
  });

  it('is 0 for identical proportions, whatever the window sizes', () => {
    assert.equal(psi([10, 20, 30, 0], [10, 20, 30, 0]), 0);
    assert.ok(Math.abs(psi([10, 20, 30, 0], [1000, 2000, 3000, 0])) < 1e-15);
  });

  it('is NaN when a side has no observations, and refuses mismatched or negative counts and a bad epsilon', () => {
    assert.ok(Number.isNaN(psi([0, 0], [1, 2])));
    assert.ok(Number.isNaN(psi([1, 2], [0, 0])));
    assert.throws(() => psi([1, 2], [1, 2, 3]), /refCounts has 2 bins but curCounts has 3/);
    assert.throws(() => psi([1, -2], [1, 2]), /refCounts\[1\] = -2 is not a finite count ≥ 0/);
    assert.throws(() => psi([1, 2], [NaN, 2]), /curCounts\[0\] = NaN/);
    assert.throws(() => psi([1, 2], [1, 2], { epsilon: 0 }), /epsilon must be in \(0, 1\), got 0/);
  });

  it('drifts when high', () => {
    assert.deepEqual(psiStatistic, { name: 'psi', drifts: 'high' });
  });
});

describe('psiCriticalValue', () => {
  it('matches chi2.ppf(1 - alpha, bins - 1)·(1/nRef + 1/nCur) from scipy', (t) => {
    let worst = 0;
    for (const c of fixture.psi_critical) {
      const value = psiCriticalValue(c.n_ref, c.n_cur, c.bins, c.alpha);
      const err = Math.abs(value - c.value) / c.value;
      worst = Math.max(worst, err);
      assert.ok(err <= 1e-9, `${JSON.stringify(c)}: ${value}`);
    }
    t.diagnostic(`worst relative deviation ${worst}`);
  });

  it('defaults alpha to 0.05', () => {
    assert.equal(psiCriticalValue(10_000, 5_000, 10), psiCriticalValue(10_000, 5_000, 10, 0.05));
  });

  it('is exceeded by about alpha of the windows drawn from the reference distribution', () => {
    const next = seededRandom(42);
    const draw = (n: number) => {
      const counts = new Float64Array(10);
      for (let i = 0; i < n; i++) counts[Math.floor(next() * 10)]! += 1;
      return counts;
    };
    const critical = psiCriticalValue(5_000, 2_000, 10);
    let exceeded = 0;
    const runs = 2_000;
    for (let r = 0; r < runs; r++) if (psi(draw(5_000), draw(2_000)) > critical) exceeded++;
    const rate = exceeded / runs;
    assert.ok(rate > 0.03 && rate < 0.075, `rate ${rate}`);
  });

  it('refuses sizes, bin counts and alphas it cannot use', () => {
    assert.throws(() => psiCriticalValue(0, 10, 10), /nRef must be a finite number > 0, got 0/);
    assert.throws(() => psiCriticalValue(10, -1, 10), /nCur must be a finite number > 0, got -1/);
    assert.throws(() => psiCriticalValue(10, 10, 1), /bins must be an integer ≥ 2, got 1/);
    assert.throws(() => psiCriticalValue(10, 10, 10, 1), /alpha must be in \(0, 1\), got 1/);
  });
});
