import assert from 'node:assert/strict';
import type { ModelReport } from '../../src/report/model-report.js';

/**
 * The performance of one matured cohort evaluated from its rows and from its hourly
 * aggregates agree: the same cohort counts and confusion matrix (and all that follows from
 * it), the sums to 1e-12, the AUC and KS separation within the errors the aggregates state.
 */
export function assertCohortPathsAgree(exact: ModelReport, aggregated: ModelReport): void {
  const e = exact.performance!;
  const a = aggregated.performance!;
  assert.equal(e.cohort.path, 'rows');
  assert.equal(a.cohort.path, 'aggregates');
  for (const k of ['matured', 'labelled', 'positives', 'label_coverage'] as const) assert.equal(a.cohort[k], e.cohort[k], k);
  const er = e.realized!;
  const ar = a.realized!;
  assert.deepEqual(ar.confusion, er.confusion);
  for (const k of ['precision', 'recall', 'f1', 'cost_per_1000'] as const) assert.equal(ar[k], er[k], k);
  assert.deepEqual(ar.intervals.precision, er.intervals.precision);
  assert.deepEqual(ar.intervals.recall, er.intervals.recall);
  for (const k of ['brier_score', 'log_loss', 'ece', 'observed_positive_rate', 'mean_predicted'] as const) {
    assert.ok(Math.abs(ar[k]! - er[k]!) <= 1e-12, `${k}: ${ar[k]} against ${er[k]}`);
  }
  assert.deepEqual(er.errors, { auc: 0, ks_separation: 0 });
  assert.ok(ar.errors.auc! > 0 && Math.abs(ar.auc! - er.auc!) <= ar.errors.auc!, `AUC ${ar.auc} against ${er.auc}, error ${ar.errors.auc}`);
  assert.ok(ar.ks_separation! <= er.ks_separation! && er.ks_separation! <= ar.ks_separation! + ar.errors.ks_separation!, `KS ${ar.ks_separation} against ${er.ks_separation}`);
  assert.deepEqual(a.severities, e.severities);
}
