import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { aucInterval, aucVariance, normalQuantile, proportionInterval } from '../../src/performance/intervals.js';
import { rocAuc } from '../../src/performance/metrics.js';

// Golden values from tools/performance_fixtures.py: DeLong from its O(n²) definition and
// Wilson from its formula, both with scipy 1.10's norm.isf; norm.ppf from scipy.
interface Case {
  name: string;
  n: number;
  labels: string;
  probabilities: number[];
  confusion: {
    threshold: number;
    tp: number;
    fp: number;
    fn: number;
    precision_interval: [number | null, number | null];
    recall_interval: [number | null, number | null];
  }[];
  delong: { level: number; variance: number | null; lower: number | null; upper: number | null }[];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/performance/metrics.json'), 'utf8')) as {
  cases: Case[];
  wilson: [number, number, number, number | null, number | null][];
  norm_ppf: [number, number][];
};
const cases = fixture.cases.map((c) => ({ ...c, y: Float64Array.from(c.labels, Number), p: Float64Array.from(c.probabilities) }));
const relErr = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

/** An interval end to 1e-9 absolute (the ends live in [0, 1]); null in the fixture is NaN. */
function assertEnd(actual: number, expected: number | null, what: string): number {
  if (expected === null) {
    assert.ok(Number.isNaN(actual), `${what}: ${actual}, expected NaN`);
    return 0;
  }
  const err = Math.abs(actual - expected);
  assert.ok(err <= 1e-9, `${what}: ${actual} vs ${expected}`);
  return err;
}

describe('normalQuantile', () => {
  it('equals scipy.stats.norm.ppf to 1e-12 relative, from p = 1e-300 to 1 − 1e-15', (t) => {
    let worst = 0;
    for (const [p, expected] of fixture.norm_ppf) {
      const err = relErr(normalQuantile(p), expected);
      worst = Math.max(worst, err);
      assert.ok(err <= 1e-12, `p=${p}: ${normalQuantile(p)} vs scipy ${expected}`);
    }
    assert.ok(fixture.norm_ppf.length > 300);
    t.diagnostic(`${fixture.norm_ppf.length} points, worst relative deviation ${worst}`);
  });

  it('is antisymmetric around ½ and infinite at the ends', () => {
    assert.equal(normalQuantile(0.5), 0);
    // Dyadic p, so that 1 − p is exact.
    for (const p of [2 ** -40, 2 ** -7, 0.25, 0.375]) assert.equal(normalQuantile(p), -normalQuantile(1 - p));
    assert.equal(normalQuantile(0), -Infinity);
    assert.equal(normalQuantile(1), Infinity);
    assert.throws(() => normalQuantile(1.5), /p must be in \[0, 1\], got 1\.5/);
    assert.throws(() => normalQuantile(NaN), /got NaN/);
  });
});

describe('aucInterval', () => {
  it('equals DeLong’s interval computed from the placement values by O(n²) comparison', (t) => {
    let worst = 0;
    let worstVariance = 0;
    for (const c of cases) {
      for (const d of c.delong) {
        const what = `${c.name} at ${d.level}`;
        const interval = aucInterval(c.y, c.p, d.level);
        worst = Math.max(worst, assertEnd(interval.lower, d.lower, `${what} lower`), assertEnd(interval.upper, d.upper, `${what} upper`));
        const variance = aucVariance(c.y, c.p);
        if (d.variance === null) assert.ok(Number.isNaN(variance), what);
        else if (d.variance === 0) assert.equal(variance, 0, what);
        else {
          const err = relErr(variance, d.variance);
          assert.ok(err <= 1e-9, `${what}: variance ${variance} vs ${d.variance}`);
          worstVariance = Math.max(worstVariance, err);
        }
      }
    }
    t.diagnostic(`worst absolute deviation of an end ${worst}, worst relative deviation of the variance ${worstVariance}`);
  });

  it('contains the AUC and narrows as the level drops', () => {
    const c = cases.find((x) => x.name.startsWith('overlapping'))!;
    const auc = rocAuc(c.y, c.p);
    const i95 = aucInterval(c.y, c.p);
    const i90 = aucInterval(c.y, c.p, 0.9);
    assert.ok(i95.lower < i90.lower && i90.lower < auc && auc < i90.upper && i90.upper < i95.upper);
    // Symmetric around the AUC away from the clip.
    assert.ok(Math.abs(auc - i95.lower - (i95.upper - auc)) < 1e-15);
  });

  it('collapses to the AUC when every placement is equal, and is clipped to [0, 1]', () => {
    assert.deepEqual(aucInterval([0, 0, 1, 1], [0.1, 0.2, 0.8, 0.9]), { lower: 1, upper: 1 });
    assert.deepEqual(aucInterval([0, 0, 1, 1], [0.5, 0.5, 0.5, 0.5]), { lower: 0.5, upper: 0.5 });
    const nearlyPerfect = aucInterval([0, 0, 0, 1, 1, 1], [0.1, 0.2, 0.7, 0.6, 0.8, 0.9]);
    assert.equal(nearlyPerfect.upper, 1);
    assert.ok(nearlyPerfect.lower > 0 && nearlyPerfect.lower < 1);
  });

  it('is NaN with one class or fewer than two rows of a class', () => {
    for (const [y, p] of [
      [[0, 0, 0], [0.1, 0.2, 0.3]],
      [[0, 0, 1], [0.1, 0.2, 0.3]],
      [[], []],
    ] as const) {
      const interval = aucInterval(y, p);
      assert.ok(Number.isNaN(interval.lower) && Number.isNaN(interval.upper));
    }
  });

  it('refuses bad inputs and levels', () => {
    assert.throws(() => aucInterval([0, 2], [0.1, 0.2]), /labels\[1\] = 2 is not 0 or 1/);
    assert.throws(() => aucInterval([0, 1], [0.1, 2]), /probabilities\[1\] = 2/);
    assert.throws(() => aucInterval([0, 1], [0.1, 0.2], 1), /level must be in \(0, 1\), got 1/);
  });
});

describe('proportionInterval', () => {
  it('equals the Wilson score interval from its formula', (t) => {
    let worst = 0;
    for (const [successes, trials, level, lower, upper] of fixture.wilson) {
      const interval = proportionInterval(successes, trials, level);
      const what = `${successes} of ${trials} at ${level}`;
      worst = Math.max(worst, assertEnd(interval.lower, lower, what), assertEnd(interval.upper, upper, what));
    }
    t.diagnostic(`${fixture.wilson.length} intervals, worst absolute deviation ${worst}`);
  });

  it('gives the precision and recall intervals at each fixture threshold', () => {
    for (const c of cases) {
      for (const e of c.confusion) {
        const what = `${c.name} @ ${e.threshold}`;
        const precision = proportionInterval(e.tp, e.tp + e.fp);
        const recall = proportionInterval(e.tp, e.tp + e.fn);
        assertEnd(precision.lower, e.precision_interval[0], `${what} precision`);
        assertEnd(precision.upper, e.precision_interval[1], `${what} precision`);
        assertEnd(recall.lower, e.recall_interval[0], `${what} recall`);
        assertEnd(recall.upper, e.recall_interval[1], `${what} recall`);
      }
    }
  });

  it('starts at 0 for no successes, ends at 1 for all, and is NaN for no trials', () => {
    assert.equal(proportionInterval(0, 10).lower, 0);
    assert.equal(proportionInterval(10, 10).upper, 1);
    const none = proportionInterval(0, 0);
    assert.ok(Number.isNaN(none.lower) && Number.isNaN(none.upper));
    const half = proportionInterval(50, 100);
    assert.ok(Math.abs(half.lower + half.upper - 1) < 1e-15);
  });

  it('refuses counts that are not integers with 0 ≤ successes ≤ trials', () => {
    assert.throws(() => proportionInterval(3, 2), /successes must be an integer in \[0, trials = 2\], got 3/);
    assert.throws(() => proportionInterval(1.5, 2), /successes must be an integer/);
    assert.throws(() => proportionInterval(0, -1), /trials must be an integer ≥ 0, got -1/);
    assert.throws(() => proportionInterval(1, 2, 0), /level must be in \(0, 1\), got 0/);
  });
});
