import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import {
  ABOVE_MAX,
  BELOW_MIN,
  MISSING,
  OTHER,
  UNSEEN,
  categoricalBins,
  countCategorical,
  countNumeric,
  numericBins,
  parseBins,
} from '../../src/drift/bins.js';
import type { Category } from '../../src/drift/bins.js';

// Golden values from tools/drift_fixtures.py (numpy 1.24 / scipy 1.10).
interface NumericCase {
  name: string;
  reference: (number | null)[];
  current: (number | null)[];
  bins: Record<string, { quantiles_raw: number[]; edges: number[]; counts_reference: number[]; counts_current: number[] }>;
}
interface CategoricalCase {
  name: string;
  reference: (Category | null)[];
  current: (Category | null)[];
  top_k: number;
  categories: Category[];
  other: Category[];
  counts_reference: number[];
  counts_current: number[];
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '../fixtures/drift/psi_chi2.json'), 'utf8')) as {
  numeric: NumericCase[];
  categorical: CategoricalCase[];
};
const numbers = (values: (number | null)[]) => Float64Array.from(values, (v) => (v === null ? NaN : v));
const relErr = (a: number, b: number) => (a === b ? 0 : Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b)));

describe('numericBins', () => {
  it('puts the edges at numpy’s deciles and quintiles, ties collapsed, on every fixture case', () => {
    let worst = 0;
    for (const c of fixture.numeric) {
      for (const [q, expected] of Object.entries(c.bins)) {
        const bins = numericBins(numbers(c.reference), { quantiles: Number(q) });
        assert.equal(bins.edges.length, expected.edges.length, `${c.name}, ${q} quantiles`);
        bins.edges.forEach((e, i) => {
          const err = relErr(e, expected.edges[i]!);
          worst = Math.max(worst, err);
          assert.ok(err <= 1e-12, `${c.name}, ${q} quantiles, edge ${i}: ${e} vs numpy ${expected.edges[i]}`);
        });
        assert.equal(bins.edges[0], Math.min(...expected.quantiles_raw));
        assert.equal(bins.edges.at(-1), Math.max(...expected.quantiles_raw));
      }
    }
    assert.ok(worst <= 1e-12, `worst relative deviation ${worst}`);
  });

  it('counts the reference and the current window exactly as the fixture script does', () => {
    for (const c of fixture.numeric) {
      for (const [q, expected] of Object.entries(c.bins)) {
        const bins = numericBins(numbers(c.reference), { quantiles: Number(q) });
        assert.deepEqual([...countNumeric(bins, numbers(c.reference))], expected.counts_reference, `${c.name}, ${q}: reference`);
        assert.deepEqual([...countNumeric(bins, numbers(c.current))], expected.counts_current, `${c.name}, ${q}: current`);
      }
    }
  });

  it('keeps its edges when the current window changes: each window is counted against the reference’s edges', () => {
    const reference = Float64Array.from({ length: 1001 }, (_, i) => i); // deciles 0, 100, …, 1000
    const bins = numericBins(reference);
    const before = JSON.stringify(bins);
    const narrow = Float64Array.from({ length: 500 }, (_, i) => 500 + i / 10); // its own deciles would all be inside [500, 550)
    const shifted = Float64Array.from(reference, (x) => x + 300);
    const narrowCounts = countNumeric(bins, narrow);
    countNumeric(bins, shifted);
    assert.equal(JSON.stringify(bins), before);
    assert.deepEqual(bins.edges, [0, 100, 200, 300, 400, 500, 600, 700, 800, 900, 1000]);
    assert.equal(narrowCounts[bins.labels.indexOf('[500, 600)')], 500);
    assert.equal(narrowCounts.reduce((a, b) => a + b), 500);
    // A value's bin does not depend on the rest of the window.
    for (const x of [0, 12.34, 500, 599.9, 1000, 1500]) {
      const alone = countNumeric(bins, [x]).indexOf(1);
      const withOthers = countNumeric(bins, [x, ...shifted]);
      assert.ok(withOthers[alone]! >= 1);
      assert.equal(countNumeric(bins, [x, x, x])[alone], 3);
    }
  });

  it('puts NaN in the missing bin and leaves it out of the edges', () => {
    const bins = numericBins([NaN, 1, 2, NaN, 3, 4, NaN], { quantiles: 3 });
    assert.deepEqual(bins.edges, numericBins([1, 2, 3, 4], { quantiles: 3 }).edges);
    assert.equal(bins.labels[0], MISSING);
    const counts = countNumeric(bins, [NaN, 2.5, NaN]);
    assert.equal(counts[0], 2);
    assert.equal(countNumeric(bins, [NaN, 1, 2, NaN, 3, 4, NaN])[0], 3);
  });

  it('puts values below the reference minimum in below_min and above its maximum in above_max', () => {
    const bins = numericBins([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { quantiles: 5 });
    assert.deepEqual(bins.edges, [0, 2, 4, 6, 8, 10]);
    assert.deepEqual(bins.labels, [MISSING, BELOW_MIN, '[0, 2)', '[2, 4)', '[4, 6)', '[6, 8)', '[8, 10]', ABOVE_MAX]);
    const at = (x: number) => bins.labels[countNumeric(bins, [x]).indexOf(1)];
    assert.equal(at(-0.001), BELOW_MIN);
    assert.equal(at(-Infinity), BELOW_MIN);
    assert.equal(at(10.000001), ABOVE_MAX);
    assert.equal(at(Infinity), ABOVE_MAX);
    assert.equal(at(0), '[0, 2)');
    assert.equal(at(10), '[8, 10]');
  });

  it('closes each interior bin on the left and opens it on the right, except the last, closed at the maximum', () => {
    const bins = numericBins([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10], { quantiles: 5 });
    const at = (x: number) => bins.labels[countNumeric(bins, [x]).indexOf(1)];
    assert.equal(at(2), '[2, 4)');
    assert.equal(at(1.9999999999999998), '[0, 2)');
    assert.equal(at(8), '[8, 10]');
    assert.equal(at(9.999999999999998), '[8, 10]');
  });

  it('collapses tied edges, so heavy ties leave no zero-width and no empty interior bin', () => {
    const zeroInflated = fixture.numeric.find((c) => c.name.startsWith('zero for 60 %'))!;
    const reference = numbers(zeroInflated.reference);
    for (const quantiles of [5, 10, 20, 50]) {
      const bins = numericBins(reference, { quantiles });
      assert.equal(bins.edges[0], 0);
      for (let i = 1; i < bins.edges.length; i++) assert.ok(bins.edges[i]! > bins.edges[i - 1]!, `${quantiles}: edge ${i}`);
      const interior = countNumeric(bins, reference).slice(2, -1);
      assert.ok(interior.every((n) => n > 0), `${quantiles}: ${[...interior].join(' ')}`);
      assert.ok(interior[0]! >= 0.6 * reference.length, 'the zeros share the first bin');
    }
    const deciles = numericBins(reference);
    assert.equal(deciles.labels.length - 3, 5, 'deciles with 60 % ties: five interior bins');
  });

  it('gives a constant reference one interior bin, [c, c]', () => {
    const bins = numericBins([3.5, 3.5, 3.5, NaN]);
    assert.deepEqual(bins.edges, [3.5]);
    assert.deepEqual(bins.labels, [MISSING, BELOW_MIN, '[3.5, 3.5]', ABOVE_MAX]);
    assert.deepEqual([...countNumeric(bins, [3, 3.5, 4, NaN, 3.5])], [1, 1, 2, 1]);
  });

  it('refuses an infinite reference value, an all-missing reference and a quantile count that is not a positive integer', () => {
    assert.throws(() => numericBins([1, Infinity]), /reference value Infinity at index 1 is not finite/);
    assert.throws(() => numericBins([NaN, NaN]), /no non-missing values/);
    assert.throws(() => numericBins([1, 2], { quantiles: 0 }), /quantiles must be a positive integer, got 0/);
    assert.throws(() => numericBins([1, 2], { quantiles: 2.5 }), /got 2\.5/);
  });

  it('counts a million values, every one of them in some bin (speed is measured by npm run bench, not here)', () => {
    const reference = Float64Array.from({ length: 10_000 }, (_, i) => Math.sin(i) * 100);
    const bins = numericBins(reference);
    const values = Float64Array.from({ length: 1_000_000 }, (_, i) => (i % 97 === 0 ? NaN : Math.cos(i) * 120));
    const counts = countNumeric(bins, values);
    assert.equal(counts.reduce((a, b) => a + b), 1_000_000);
    assert.equal(counts[bins.labels.indexOf('missing')], Math.ceil(1_000_000 / 97));
  });
});

describe('numericBins on few distinct values', () => {
  it('gives a 0/1 flag one bin per value, so a shift in its mix moves the PSI', () => {
    const reference = Array.from({ length: 1000 }, (_, i) => (i % 10 < 3 ? 1 : 0));
    const bins = numericBins(reference);
    assert.deepEqual(bins.edges, [0, 1, 1]);
    assert.deepEqual(bins.labels, ['missing', 'below_min', '[0, 1)', '[1, 1]', 'above_max']);
    assert.deepEqual([...countNumeric(bins, reference)], [0, 0, 700, 300, 0]);
    assert.deepEqual([...countNumeric(bins, [0, 1, 1, 1, 2, -1, NaN])], [1, 1, 1, 3, 1]);
    assert.deepEqual(parseBins(JSON.parse(JSON.stringify(bins))), bins);
  });
});

describe('categoricalBins', () => {
  it('ranks, keeps the top K and counts as the fixture script does', () => {
    for (const c of fixture.categorical) {
      const bins = categoricalBins(c.reference, { topK: c.top_k });
      assert.deepEqual(bins.categories, c.categories, c.name);
      assert.deepEqual(bins.other, c.other, c.name);
      assert.deepEqual([...countCategorical(bins, c.reference)], c.counts_reference, c.name);
      assert.deepEqual([...countCategorical(bins, c.current)], c.counts_current, c.name);
    }
  });

  it('breaks equal counts by value, numbers before strings, whatever the row order', () => {
    const rows: Category[] = ['b', 'a', 2, 10, 'B', 2, 10, 'a', 'b', 'B', -1];
    const expected = [2, 10, 'B', 'a', 'b', -1]; // each seen twice, but -1 once
    assert.deepEqual(categoricalBins(rows).categories, expected);
    assert.deepEqual(categoricalBins([...rows].reverse()).categories, expected);
  });

  it('lays out missing, the kept categories, __other__ and __unseen__, in that order', () => {
    const bins = categoricalBins(['a', 'a', 'a', 'b', 'b', 'c', null], { topK: 2 });
    assert.deepEqual(bins.labels, [MISSING, 'a', 'b', OTHER, UNSEEN]);
    assert.deepEqual(bins.other, ['c']);
  });

  it('puts categories rare in the reference in __other__ and categories it never saw in __unseen__', () => {
    const bins = categoricalBins([1, 1, 1, 2, 2, 3, 4], { topK: 2 });
    const counts = countCategorical(bins, [3, 4, 4, 5, 6, 6, 6, '1']);
    assert.equal(counts[bins.labels.indexOf(OTHER)], 3);
    assert.equal(counts[bins.labels.indexOf(UNSEEN)], 5, "5, 6 and the string '1' were never seen");
  });

  it('puts null, undefined and NaN in missing', () => {
    const bins = categoricalBins([0, 1, null, NaN]);
    assert.deepEqual(bins.categories, [0, 1]);
    assert.deepEqual([...countCategorical(bins, [null, undefined, NaN, 0])], [3, 1, 0, 0, 0]);
  });

  it('refuses a kept category whose label is already taken, and infinite codes', () => {
    assert.throws(() => categoricalBins(['missing', 'x']), /category label "missing" is used twice/);
    assert.throws(() => categoricalBins([1, '1']), /category label "1" is used twice/);
    assert.throws(() => categoricalBins([1, Infinity]), /reference value Infinity at index 1 is neither a finite number nor a string/);
    assert.throws(() => categoricalBins([1], { topK: 0 }), /topK must be a positive integer, got 0/);
  });
});

describe('bins as JSON', () => {
  it('come back from a JSON round trip equal, and count the same', () => {
    const c = fixture.numeric.find((x) => x.name.startsWith('NaN in both'))!;
    const numeric = numericBins(numbers(c.reference));
    const numericBack = parseBins(JSON.parse(JSON.stringify(numeric)));
    assert.deepEqual(numericBack, numeric);
    assert.equal(numericBack.kind, 'numeric');
    if (numericBack.kind === 'numeric') assert.deepEqual(countNumeric(numericBack, numbers(c.current)), countNumeric(numeric, numbers(c.current)));

    const k = fixture.categorical.find((x) => x.name.startsWith('numbers and strings'))!;
    const categorical = categoricalBins(k.reference, { topK: k.top_k });
    const categoricalBack = parseBins(JSON.parse(JSON.stringify(categorical)));
    assert.deepEqual(categoricalBack, categorical);
    if (categoricalBack.kind === 'categorical') assert.deepEqual(countCategorical(categoricalBack, k.current), countCategorical(categorical, k.current));
  });

  it('keep full-precision edges and a negative zero minimum through JSON', () => {
    const bins = numericBins([-0, 0.1, 0.2, 0.30000000000000004, 1 / 3]);
    assert.ok(Object.is(bins.edges[0], 0));
    assert.deepEqual(JSON.parse(JSON.stringify(bins)), bins);
  });

  it('are refused by parseBins when the stored object does not hold together', () => {
    const bins = numericBins(Array.from({ length: 50 }, (_, i) => i));
    assert.throws(() => parseBins({ ...bins, edges: [1, 3, 2, 5] }), /invalid bins: edges\[2\] is not above edges\[1\]/);
    assert.throws(() => parseBins({ ...bins, labels: bins.labels.slice(1) }), /invalid bins: labels do not match the edges/);
    assert.throws(() => parseBins({ ...bins, kind: 'ordinal' }), /invalid bins: kind must be 'numeric' or 'categorical', got "ordinal"/);
    const cat = categoricalBins(['a', 'b', 'c'], { topK: 2 });
    assert.throws(() => parseBins({ ...cat, other: ['a'] }), /invalid bins: category "a" appears twice/);
    assert.throws(() => parseBins(null), /invalid bins: not an object/);
  });
});
