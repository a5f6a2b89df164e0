import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { buildPerformanceReport, cohortRange, type PerformanceContext } from '../../src/performance/report.js';
import { realizedPerformance } from '../../src/performance/realized.js';
import { DEFAULT_PERFORMANCE_THRESHOLDS } from '../../src/performance/thresholds.js';

const DAY = 86_400_000;
const ctx: PerformanceContext = {
  threshold: 0.5,
  costs: { falseNegative: 5, falsePositive: 1 },
  thresholds: DEFAULT_PERFORMANCE_THRESHOLDS,
  labelDelayMs: 30 * DAY,
  windowMs: 30 * DAY,
  calibrator: { x: [0, 1], y: [0, 1] },
};
const lcg = (seed: number) => () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);
function cohort(n: number, separation: number) {
  const rand = lcg(3);
  const labels = new Float64Array(n);
  const probabilities = new Float64Array(n);
  for (let i = 0; i < n; i++) {
    labels[i] = i % 4 === 0 ? 1 : 0;
    probabilities[i] = Math.min(1, Math.max(0, rand() * (1 - separation) + labels[i]! * separation));
  }
  return { fromMs: 0, toMs: DAY, matured: n * 2, labels, probabilities };
}

describe('buildPerformanceReport', () => {
  it('puts the matured cohort a label delay behind now, one performance window long', () => {
    const now = Date.parse('2026-12-01T00:00:00Z');
    const r = cohortRange(ctx, now);
    assert.equal(r.toMs, now - 30 * DAY + 1);
    assert.equal(r.toMs - r.fromMs, 30 * DAY + 1);
    assert.equal(cohortRange({ labelDelayMs: 0, windowMs: DAY }, now).toMs, now + 1);
  });

  it('reports the cohort, the realized metrics with intervals and reliability bins, and the estimate', () => {
    const c = cohort(2000, 0.3);
    const p = buildPerformanceReport(ctx, c, c.probabilities);
    const direct = realizedPerformance(c.labels, c.probabilities, 0.5, ctx.costs);
    assert.equal(p.cohort.matured, 4000);
    assert.equal(p.cohort.labelled, 2000);
    assert.equal(p.cohort.positives, 500);
    assert.equal(p.cohort.label_coverage, 0.5);
    assert.equal(p.cohort.label_delay_days, 30);
    assert.equal(p.realized!.auc, direct.auc);
    assert.equal(p.realized!.recall, direct.recall);
    assert.equal(p.realized!.cost_per_1000, direct.costPer1000);
    assert.equal(p.realized!.intervals.auc.lower, direct.intervals.auc.lower);
    assert.equal(p.realized!.reliability.length, 10);
    assert.equal(p.estimated!.n, 2000);
    assert.ok(p.estimated!.auc! > 0 && p.estimated!.auc! < 1);
  });

  it('judges a weak model critical on AUC and KS separation, with the interval in the reason', () => {
    const c = cohort(2000, 0.05);
    const p = buildPerformanceReport(ctx, c, c.probabilities);
    assert.equal(p.severities.auc, 'critical');
    assert.equal(p.severities.ks_separation, 'critical');
    assert.equal(p.status, 'CRITICAL');
    assert.match(p.critical.join('\n'), /AUC 0\.\d{3} \(95 % CI 0\.\d{3}–0\.\d{3}\) below 0\.75 on 2000 labelled predictions/);
  });

  it('says insufficient data, not a verdict, on too few labels, and null sections when there is nothing', () => {
    const small = cohort(50, 0.05);
    const p = buildPerformanceReport(ctx, small, small.probabilities);
    assert.ok(Object.values(p.severities).every((s) => s === 'insufficient_data'));
    assert.equal(p.status, 'HEALTHY');
    const none = buildPerformanceReport(ctx, { fromMs: 0, toMs: 1, matured: 0, labels: [], probabilities: [] }, []);
    assert.equal(none.realized, null);
    assert.equal(none.estimated, null);
    assert.equal(none.cohort.label_coverage, null);
  });

  it('estimates nothing without a calibration', () => {
    const c = cohort(200, 0.3);
    assert.equal(buildPerformanceReport({ ...ctx, calibrator: null }, c, c.probabilities).estimated, null);
  });
});
