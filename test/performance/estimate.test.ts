import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { estimatePerformance } from '../../src/performance/estimate.js';
import { realizedPerformance } from '../../src/performance/realized.js';

/** The calibration that leaves a score as it is: q = s. */
const identity = { x: [0, 1], y: [0, 1] };
const costs = { falseNegative: 10, falsePositive: 1 };
/** A small deterministic generator (no Math.random in tests). */
const lcg = (seed: number) => () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

describe('estimatePerformance (CBPE)', () => {
  it('gives the expected confusion matrix, precision, recall, AUC and cost of a hand-worked window', () => {
    const e = estimatePerformance([0.6, 0.1, 0.3], identity, 0.5, costs);
    const close = (a: number, b: number) => assert.ok(Math.abs(a - b) < 1e-12, `${a} vs ${b}`);
    close(e.confusion.tp, 0.6);
    close(e.confusion.fp, 0.4);
    close(e.confusion.fn, 0.4);
    close(e.confusion.tn, 1.6);
    close(e.precision, 0.6);
    close(e.recall, 0.6);
    close(e.f1, 0.6);
    // Σ p_k (2·negatives below + q_k) / (2·P·N) = (0.09 + 0.75 + 2.16) / 4
    close(e.auc, 0.75);
    close(e.expectedPositiveRate, 1 / 3);
    close(e.costPer1000, ((10 * 0.4 + 0.4) / 3) * 1000);
  });

  it('matches the realized metrics on average when the calibration is true', () => {
    const rand = lcg(7);
    const n = 40_000;
    const scores = new Float64Array(n);
    const labels = new Float64Array(n);
    for (let i = 0; i < n; i++) {
      scores[i] = rand() ** 2;
      labels[i] = rand() < scores[i]! ? 1 : 0;
    }
    const e = estimatePerformance(scores, identity, 0.3, costs);
    const r = realizedPerformance(labels, scores, 0.3, costs);
    for (const k of ['auc', 'precision', 'recall', 'f1'] as const) assert.ok(Math.abs(e[k] - r[k]) < 0.01, `${k}: estimated ${e[k]}, realized ${r[k]}`);
    assert.ok(Math.abs(e.costPer1000 - r.costPer1000) / r.costPer1000 < 0.05, `cost: estimated ${e.costPer1000}, realized ${r.costPer1000}`);
  });

  it('treats tied scores as one group and skips missing scores', () => {
    const a = estimatePerformance([0.2, 0.2, 0.7, NaN], identity, 0.5, costs);
    const b = estimatePerformance([0.7, 0.2, 0.2], identity, 0.5, costs);
    assert.equal(a.n, 3);
    assert.deepEqual(a, b);
  });

  it('gives NaN for an empty window and for a window with no expected negative', () => {
    const empty = estimatePerformance([], identity, 0.5, costs);
    assert.ok(Number.isNaN(empty.auc) && Number.isNaN(empty.precision) && Number.isNaN(empty.costPer1000));
    assert.ok(Number.isNaN(estimatePerformance([1, 1], identity, 0.5, costs).auc));
  });
});
