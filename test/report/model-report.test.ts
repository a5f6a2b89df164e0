import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DriftReport } from '../../src/drift/report.js';
import type { PerformanceReport } from '../../src/performance/report.js';
import { DEFAULT_DRIFT_THRESHOLDS } from '../../src/drift/severity.js';
import { buildModelReport } from '../../src/report/model-report.js';

const thresholds = { drift: DEFAULT_DRIFT_THRESHOLDS, performance: null };

const drift = { model: 'm', summary: { critical: [], warnings: ['feature A: PSI 0.120 ≥ 0.1', 'b', 'c'], status: 'HEALTHY' } } as unknown as DriftReport;
const performance = { critical: [], warnings: ['recall 0.5 below 0.8'], status: 'ATTENTION' } as unknown as PerformanceReport;

describe('buildModelReport', () => {
  it('judges drift and performance together by the seed rule and keeps the drift verdicts apart', () => {
    const r = buildModelReport(drift, performance, thresholds);
    assert.equal(r.summary.warnings.length, 4);
    assert.equal(r.summary.warnings[3], 'performance: recall 0.5 below 0.8');
    assert.equal(r.summary.status, 'ATTENTION');
    assert.equal(r.drift_summary.status, 'HEALTHY');
    assert.equal(r.performance, performance);
    assert.equal(r.thresholds, thresholds, 'the report says what it was judged against');
  });

  it('keeps the drift report when the performance evaluation failed, saying why', () => {
    const r = buildModelReport(drift, null, thresholds, 'no such table: labels');
    assert.equal(r.summary.status, 'HEALTHY');
    assert.equal(r.performance, null);
    assert.equal(r.performance_error, 'no such table: labels');
  });
});
