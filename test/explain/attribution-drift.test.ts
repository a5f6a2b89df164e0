import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { attributionReport, attributionShift, evenSample, meanAbsoluteAttribution, meanAbsoluteAttributionByKey, shares, type RowExplainer } from '../../src/explain/attribution-drift.js';

describe('attribution drift', () => {
  it('samples a window evenly, all of it when it is small', () => {
    assert.deepEqual([...evenSample(5, 10)], [0, 1, 2, 3, 4]);
    assert.deepEqual([...evenSample(10, 4)], [1, 3, 6, 8]);
    assert.equal(new Set(evenSample(1_000_000, 2000)).size, 2000);
  });

  it('averages the absolute attributions per feature and makes shares of them', () => {
    // A fake explainer: the row's values are its attributions.
    const explainer: RowExplainer = { width: 2, explainInto: (rows, offset, out) => { out[0] = rows[offset]!; out[1] = rows[offset + 1]!; return 0; } };
    const mean = meanAbsoluteAttribution(explainer, Float32Array.of(1, -3, -1, 1), 2);
    assert.deepEqual([...mean], [1, 2]);
    assert.deepEqual([...shares(mean)], [1 / 3, 2 / 3]);
    assert.deepEqual([...shares(Float64Array.of(0, 0))], [0, 0]);
  });

  it('weighs each row by the positions it stands for, and explains a row already known by its key no more', () => {
    let calls = 0;
    const explainer: RowExplainer = { width: 2, explainInto: (rows, offset, out) => { calls++; out[0] = rows[offset]!; out[1] = rows[offset + 1]!; return 0; } };
    // Row 0 stands for three positions, row 1 for one: the mean over (1, 1, 1, 5) and (0, 0, 0, -4).
    const draw = { rows: Float32Array.of(1, 0, 5, -4), count: 2, weights: Float64Array.of(3, 1), keys: Float64Array.of(11, 22) };
    const first = meanAbsoluteAttributionByKey(explainer, draw, new Map());
    assert.deepEqual([...first.mean], [2, 1]);
    assert.equal(first.explained, 2);
    // The next draw keeps row 22 and adds row 33 (values 3, 3): only row 33 is explained.
    const second = meanAbsoluteAttributionByKey(explainer, { rows: Float32Array.of(5, -4, 3, 3), count: 2, weights: Float64Array.of(1, 1), keys: Float64Array.of(22, 33) }, first.known);
    assert.deepEqual([...second.mean], [4, 3.5]);
    assert.equal(second.explained, 1);
    assert.equal(calls, 3);
    assert.deepEqual([...second.known.keys()], [22, 33], 'only the rows of the last draw are kept');
  });

  it('measures the shift as the total variation distance between the share vectors', () => {
    assert.equal(attributionShift(Float64Array.of(0.5, 0.5), Float64Array.of(0.5, 0.5)), 0);
    assert.equal(attributionShift(Float64Array.of(1, 0), Float64Array.of(0, 1)), 1);
    assert.ok(Math.abs(attributionShift(Float64Array.of(0.6, 0.3, 0.1), Float64Array.of(0.4, 0.3, 0.3)) - 0.2) < 1e-12);
  });

  it('judges the shift (warning from 0.10, critical from 0.25) and says when the window is too small', () => {
    const reference = { shares: Float64Array.of(0.6, 0.4), rows: 2000 };
    const at = (a: number, explained = 500) => attributionReport(['x', 'y'], reference, { shares: Float64Array.of(a, 1 - a), rows: explained, explained, sampledFrom: 'rows' }, 100);
    assert.equal(at(0.55).severity, 'ok');
    assert.equal(at(0.45).severity, 'warning');
    assert.equal(at(0.3).severity, 'critical');
    assert.deepEqual(at(0.3).features.map((f) => f.feature), ['y', 'x'], 'largest window share first');
    const small = at(0.3, 50);
    assert.equal(small.severity, 'insufficient_data');
    assert.equal(small.shift, null);
  });
});
