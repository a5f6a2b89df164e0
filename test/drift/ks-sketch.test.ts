import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { ks2samp } from '../../src/drift/ks.js';
import { ksCell, ksOfSketch, ksSketchLayout } from '../../src/drift/ks-sketch.js';
import { ROOT } from '../helpers/app.js';

interface Case { name: string; reference: number[]; window: number[]; statistic: number; pvalue: number }
const fixture = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'window', 'ks_sketch.json'), 'utf8')) as { cases: Case[] };

const sorted = (xs: readonly number[]) => Float64Array.from(xs).sort();
function sketchOf(reference: readonly number[], window: readonly number[], resolution: number) {
  const layout = ksSketchLayout(sorted(reference), resolution);
  const counts = new Float64Array(layout.refCounts.length);
  for (const v of window) counts[ksCell(layout.edges, v)]! += 1;
  return { layout, counts };
}

describe('the KS sketch against scipy.stats.ks_2samp (tools/ks_sketch_fixtures.py)', () => {
  for (const c of fixture.cases) {
    for (const resolution of [16, 128, 1024]) {
      it(`bounds D and the p-value of scipy within the stated error: ${c.name}, resolution ${resolution}`, () => {
        const { layout, counts } = sketchOf(c.reference, c.window, resolution);
        const r = ksOfSketch(layout, counts)!;
        const slack = 1e-12;
        assert.ok(r.statistic <= c.statistic + slack, `D_sketch ${r.statistic} > scipy D ${c.statistic}`);
        assert.ok(c.statistic <= r.statistic + r.statisticError + slack, `scipy D ${c.statistic} > ${r.statistic} + ${r.statisticError}`);
        assert.ok(r.statisticError < 1 / resolution + 1e-12, `error ${r.statisticError} not below 1/${resolution}`);
        assert.ok(r.pValueLower <= c.pvalue * (1 + 1e-9) + 1e-300, `p_lower ${r.pValueLower} > scipy ${c.pvalue}`);
        assert.ok(c.pvalue <= r.pValue * (1 + 1e-9) + 1e-300, `scipy p ${c.pvalue} > p(D_sketch) ${r.pValue}`);
      });
    }
  }

  it('is exact when every distinct reference value is an edge (ties: integers 0..40)', () => {
    const c = fixture.cases.find((x) => x.name.startsWith('ties'))!;
    const { layout, counts } = sketchOf(c.reference, c.window, 64);
    const r = ksOfSketch(layout, counts)!;
    assert.equal(r.statisticError, 0);
    assert.ok(Math.abs(r.statistic - c.statistic) < 1e-12);
    assert.ok(Math.abs(r.pValue - c.pvalue) <= 1e-9 * c.pvalue);
  });

  it('agrees with the exact row path at the default resolution to within 0.001 in D', () => {
    const c = fixture.cases.find((x) => x.name.includes('scale'))!;
    const { layout, counts } = sketchOf(c.reference, c.window, 1024);
    const r = ksOfSketch(layout, counts)!;
    const exact = ks2samp(c.reference, c.window);
    assert.ok(exact.statistic - r.statistic >= -1e-12 && exact.statistic - r.statistic <= 0.001, `${exact.statistic} vs ${r.statistic}`);
  });
});

describe('KS sketch cells', () => {
  it('put each value in exactly one cell: below, on and between the edges, and above', () => {
    const edges = Float64Array.from([1, 2, 4]);
    assert.deepEqual([0.5, 1, 1.5, 2, 3, 4, 9].map((v) => ksCell(edges, v)), [0, 1, 2, 3, 4, 5, 6]);
  });

  it('merge exactly: the sketch of a window equals the sum of the sketches of its parts', () => {
    const c = fixture.cases[0]!;
    const whole = sketchOf(c.reference, c.window, 128);
    const a = sketchOf(c.reference, c.window.slice(0, 5000), 128).counts;
    const b = sketchOf(c.reference, c.window.slice(5000), 128).counts;
    const merged = a.map((x, i) => x + b[i]!);
    assert.deepEqual(Array.from(merged), Array.from(whole.counts));
    assert.deepEqual(ksOfSketch(whole.layout, merged), ksOfSketch(whole.layout, whole.counts));
  });

  it('refuse an empty reference and a resolution that is not a positive integer', () => {
    assert.throws(() => ksSketchLayout([]), /reference sample is empty/);
    assert.throws(() => ksSketchLayout([1, 2], 0), /resolution must be a positive integer, got 0/);
  });

  it('give no result for an empty window', () => {
    const layout = ksSketchLayout([1, 2, 3]);
    assert.equal(ksOfSketch(layout, new Float64Array(layout.refCounts.length)), null);
  });
});
