import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { cohortAggregateLayout, emptyCohortAggregate, foldLabel, labelledCount, mergeCohortInto, realizedOfAggregate, SCORE_BINS } from '../../src/performance/cohort-aggregate.js';
import { realizedPerformance } from '../../src/performance/realized.js';

// Golden values from tools/cohort_aggregate_fixtures.py (scikit-learn 1.2.1, numpy 1.24).
interface Case {
  name: string;
  threshold: number;
  labels: string;
  probabilities: number[];
  auc: number;
  auc_bins: number;
  auc_error: number;
  ks: number;
  ks_bins: number;
  ks_error: number;
  brier: number;
  log_loss: number;
  confusion: { tp: number; fp: number; tn: number; fn: number };
}
const fixture = JSON.parse(readFileSync(join(import.meta.dirname, '..', 'fixtures', 'performance', 'cohort-aggregate.json'), 'utf8')) as { bins: number; cases: Case[] };
const costs = { falseNegative: 10, falsePositive: 1 };
const labelsOf = (c: Case) => Float64Array.from(c.labels, (ch) => Number(ch));

function aggregateOf(c: Case, labels: Float64Array, from = 0, to = labels.length): Float64Array {
  const layout = cohortAggregateLayout(c.threshold);
  const a = emptyCohortAggregate(layout);
  for (let i = from; i < to; i++) foldLabel(layout, a, labels[i]!, c.probabilities[i]!);
  return a;
}

const close = (actual: number, expected: number, rel: number, what: string) =>
  assert.ok(Math.abs(actual - expected) <= rel * Math.max(1, Math.abs(expected)), `${what}: ${actual} against ${expected}`);

describe('the matured cohort as a mergeable aggregate', () => {
  it('uses the score bins the fixture was computed with', () => {
    assert.equal(fixture.bins, SCORE_BINS);
  });

  for (const c of fixture.cases) {
    it(`gives the AUC of the binned scores as scikit-learn does, within the stated error of the rows' AUC (${c.name})`, () => {
      const labels = labelsOf(c);
      const layout = cohortAggregateLayout(c.threshold);
      const r = realizedOfAggregate(layout, aggregateOf(c, labels), costs);
      close(r.auc, c.auc_bins, 1e-12, 'AUC of the bins');
      close(r.errors.auc, c.auc_error, 1e-12, 'AUC error bound');
      assert.ok(Math.abs(r.auc - c.auc) <= r.errors.auc, `|${r.auc} − ${c.auc}| above the bound ${r.errors.auc}`);
      close(r.ksSeparation, c.ks_bins, 1e-12, 'KS of the bins');
      close(r.errors.ksSeparation, c.ks_error, 1e-12, 'KS error bound');
      assert.ok(r.ksSeparation <= c.ks + 1e-12 && c.ks <= r.ksSeparation + r.errors.ksSeparation + 1e-12, `KS ${c.ks} outside [${r.ksSeparation}, + ${r.errors.ksSeparation}]`);
    });

    it(`gives the confusion matrix at the threshold exactly, and Brier and log loss as scikit-learn (${c.name})`, () => {
      const labels = labelsOf(c);
      const r = realizedOfAggregate(cohortAggregateLayout(c.threshold), aggregateOf(c, labels), costs);
      assert.deepEqual(r.confusion, c.confusion);
      close(r.brierScore, c.brier, 1e-12, 'Brier');
      close(r.logLoss, c.log_loss, 1e-12, 'log loss');
    });
  }

  it('agrees with the exact metrics of the same rows: the threshold metrics equal, the sums to 1e-12, the rank metrics within their errors', () => {
    const c = fixture.cases[0]!;
    const labels = labelsOf(c);
    const exact = realizedPerformance(labels, c.probabilities, c.threshold, costs);
    const agg = realizedOfAggregate(cohortAggregateLayout(c.threshold), aggregateOf(c, labels), costs);
    assert.deepEqual(agg.confusion, exact.confusion);
    for (const k of ['n', 'positives', 'precision', 'recall', 'f1', 'costPer1000'] as const) assert.equal(agg[k], exact[k], k);
    assert.deepEqual(agg.intervals.precision, exact.intervals.precision);
    assert.deepEqual(agg.intervals.recall, exact.intervals.recall);
    for (const k of ['brierScore', 'logLoss', 'ece', 'observedPositiveRate', 'meanPredicted'] as const) close(agg[k], exact[k], 1e-12, k);
    assert.equal(agg.reliability.length, exact.reliability.length);
    agg.reliability.forEach((b, i) => {
      const e = exact.reliability[i]!;
      assert.deepEqual([b.lower, b.upper, b.count], [e.lower, e.upper, e.count]);
      close(b.meanPredicted, e.meanPredicted, 1e-12, `bin ${i} mean`);
      close(b.observedRate, e.observedRate, 1e-15, `bin ${i} rate`);
    });
    assert.ok(Math.abs(agg.auc - exact.auc) <= agg.errors.auc);
    // DeLong's interval on the binned scores moves by about the AUC's error.
    assert.ok(Math.abs(agg.intervals.auc.lower - exact.intervals.auc.lower) <= 2 * agg.errors.auc);
    assert.ok(Math.abs(agg.intervals.auc.upper - exact.intervals.auc.upper) <= 2 * agg.errors.auc);
  });

  it('merges hours exactly: the sum of the parts is the aggregate of the whole', () => {
    const c = fixture.cases[1]!;
    const labels = labelsOf(c);
    const whole = aggregateOf(c, labels);
    const merged = emptyCohortAggregate(cohortAggregateLayout(c.threshold));
    for (const [from, to] of [[0, 7_000], [7_000, 7_001], [7_001, labels.length]] as const) mergeCohortInto(merged, aggregateOf(c, labels, from, to));
    assert.equal(labelledCount(merged), labels.length);
    const a = realizedOfAggregate(cohortAggregateLayout(c.threshold), merged, costs);
    const b = realizedOfAggregate(cohortAggregateLayout(c.threshold), whole, costs);
    assert.deepEqual(a.confusion, b.confusion);
    assert.equal(a.auc, b.auc);
    assert.equal(a.ksSeparation, b.ksSeparation);
    close(a.brierScore, b.brierScore, 1e-14, 'Brier');
  });

  it('refuses a label that is not 0 or 1 and a probability outside [0, 1], naming the value', () => {
    const layout = cohortAggregateLayout(0.5);
    const a = emptyCohortAggregate(layout);
    assert.throws(() => foldLabel(layout, a, 2, 0.5), /label = 2 is not 0 or 1/);
    assert.throws(() => foldLabel(layout, a, 1, Number.NaN), /probability = NaN is not a probability in \[0, 1\]/);
    assert.throws(() => cohortAggregateLayout(1.5), /threshold = 1.5 is not a probability/);
  });

  it('reports no rank metric and no error with one class only', () => {
    const layout = cohortAggregateLayout(0.5);
    const a = emptyCohortAggregate(layout);
    foldLabel(layout, a, 0, 0.2);
    foldLabel(layout, a, 0, 0.7);
    const r = realizedOfAggregate(layout, a, costs);
    assert.ok(Number.isNaN(r.auc) && Number.isNaN(r.errors.auc));
    assert.deepEqual(r.confusion, { tp: 0, fp: 1, tn: 1, fn: 0 });
  });
});
