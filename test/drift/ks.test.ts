import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ks2samp, ks2sampAgainstReference, ksStatistic } from '../../src/drift/ks.js';

type Recipe =
  | { recipe: 'lcg'; seed: number; n: number; draws: number; modulus: number; offset: number; scale: number }
  | { recipe: 'grid'; n: number; start: number; step: number; scale: number };

interface FixtureCase {
  name: string;
  a: number[] | Recipe;
  b: number[] | Recipe;
  n1: number;
  n2: number;
  statistic: number;
  pvalue: number;
  method: 'exact' | 'asymp';
  asympBranch?: string;
  exactFellBack?: boolean;
}

// Written by tools/ks_fixtures.py from scipy.stats.ks_2samp; see "recipes" in the file.
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/drift/ks2samp.json'), 'utf8')) as {
  reference: string;
  cases: FixtureCase[];
};

/** Expands a sample stored as a recipe exactly as tools/ks_fixtures.py does. */
function expand(spec: number[] | Recipe): number[] | Float64Array {
  if (Array.isArray(spec)) return spec;
  const out = new Float64Array(spec.n);
  if (spec.recipe === 'grid') {
    for (let i = 0; i < spec.n; i++) out[i] = (spec.start + i * spec.step) / spec.scale;
    return out;
  }
  let state = spec.seed >>> 0;
  for (let i = 0; i < spec.n; i++) {
    let total = 0;
    for (let k = 0; k < spec.draws; k++) {
      state = (Math.imul(1664525, state) + 1013904223) >>> 0;
      total += (state >>> 8) % spec.modulus;
    }
    out[i] = (total + spec.offset) / spec.scale;
  }
  return out;
}

describe('ks2samp', () => {
  describe(`agrees with ${fixture.reference}`, () => {
    for (const c of fixture.cases) {
      it(`gives scipy's statistic, p-value and method for ${c.name}`, () => {
        const a = expand(c.a);
        const b = expand(c.b);
        assert.equal(a.length, c.n1);
        assert.equal(b.length, c.n2);
        const r = ks2samp(a, b);
        const where = `${c.name}: got D=${r.statistic} p=${r.pValue} ${r.method}, scipy D=${c.statistic} p=${c.pvalue} ${c.method}`;
        assert.ok(Math.abs(r.statistic - c.statistic) <= 1e-9, where);
        // 1e-6 relative, or 1e-12 absolute where p is tiny
        assert.ok(Math.abs(r.pValue - c.pvalue) <= Math.max(1e-6 * c.pvalue, 1e-12), where);
        assert.equal(r.method, c.method, where);
      });
    }
  });

  it('covers both methods, the fallback from exact and a p-value that is exactly 0', () => {
    const cases = fixture.cases;
    assert.ok(cases.some((c) => c.method === 'exact'));
    assert.ok(cases.some((c) => c.method === 'asymp' && !c.exactFellBack));
    assert.ok(cases.some((c) => c.exactFellBack === true && c.method === 'asymp'));
    assert.ok(cases.some((c) => c.pvalue === 0));
    assert.ok(cases.some((c) => c.pvalue > 0 && c.pvalue < 1e-290));
  });

  it('switches from exact to asymp above 10000 values in the larger sample', () => {
    const base = Array.from({ length: 10000 }, (_, i) => i / 10000);
    const other = Array.from({ length: 300 }, (_, i) => (i + 0.5) / 300 + 0.01);
    assert.equal(ks2samp(base, other).method, 'exact');
    assert.equal(ks2samp([...base, 2], other).method, 'asymp');
  });

  it('is symmetric in its two samples', () => {
    const a = [0.3, 1.2, -0.7, 2.2, 0.3, 0.9, 1.4];
    const b = [0.1, 0.3, 2.5, 3.1, 1.9];
    const ab = ks2samp(a, b);
    const ba = ks2samp(b, a);
    assert.equal(ab.statistic, ba.statistic);
    assert.equal(ab.pValue, ba.pValue);
    assert.equal(ab.method, ba.method);
  });

  it('rejects NaN naming the sample and the index', () => {
    assert.throws(() => ks2samp([1, 2, 3, NaN], [1, 2]), (err: unknown) => err instanceof RangeError && /sample a .*index 3/.test(err.message));
    assert.throws(() => ks2samp([1, 2], new Float64Array([0.5, NaN])), (err: unknown) => err instanceof RangeError && /sample b .*index 1/.test(err.message));
  });

  it('rejects an empty sample', () => {
    assert.throws(() => ks2samp([], [1, 2]), (err: unknown) => err instanceof RangeError && /sample a is empty/.test(err.message));
    assert.throws(() => ks2samp([1, 2], new Float64Array(0)), (err: unknown) => err instanceof RangeError && /sample b is empty/.test(err.message));
  });

  it('leaves its inputs unsorted and unchanged', () => {
    const a = [3, -1, 2, 2, 0.5];
    const b = new Float64Array([9, 1, 4, -2]);
    const aCopy = [...a];
    const bCopy = Float64Array.from(b);
    ks2samp(a, b);
    assert.deepEqual(a, aCopy);
    assert.deepEqual(b, bCopy);
  });

  it('says that a low p-value signals drift', () => {
    assert.deepEqual(ksStatistic, { name: 'ks', drifts: 'low' });
  });
});

describe('ks2sampAgainstReference', () => {
  /** A small deterministic generator (no Math.random in tests). */
  const lcg = (seed: number) => () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

  it('equals ks2samp on the same samples, ties and shifts included, without sorting the window', () => {
    const rnd = lcg(12345);
    for (let c = 0; c < 300; c++) {
      const n1 = 1 + Math.floor(rnd() * 300);
      const n2 = 1 + Math.floor(rnd() * (c % 3 === 0 ? 20000 : 400));
      const levels = c % 2 === 0 ? 7 : 0; // integer data with few levels: heavy ties
      const draw = (shift: number) => (levels > 0 ? Math.floor(rnd() * levels) + (shift > 0.5 ? 1 : 0) : rnd() + shift);
      const shift = (c % 5) / 5;
      const a = Float64Array.from({ length: n1 }, () => draw(0)).sort();
      const b = Float64Array.from({ length: n2 }, () => draw(shift));
      const expected = ks2samp(a, b);
      const got = ks2sampAgainstReference(a, b)!;
      assert.equal(got.statistic, expected.statistic, `case ${c}`);
      assert.equal(got.pValue, expected.pValue, `case ${c}`);
      assert.equal(got.method, expected.method, `case ${c}`);
    }
  });

  it('skips missing values in the window and answers null when none is left', () => {
    const ref = Float64Array.from([1, 2, 3, 4, 5]);
    assert.deepEqual(ks2sampAgainstReference(ref, [1, NaN, 3, 5, NaN]), ks2samp(ref, [1, 3, 5]));
    assert.equal(ks2sampAgainstReference(ref, [NaN, NaN]), null);
  });
});
