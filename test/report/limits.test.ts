import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { DEFAULT_DRIFT_THRESHOLDS } from '../../src/drift/severity.js';
import { DEFAULT_PERFORMANCE_THRESHOLDS } from '../../src/performance/thresholds.js';
import { limitsFromDescription, type ServedReport } from '../../src/report/limits.js';

const model = { threshold: 0.2, bands: [{ name: 'low', min_probability: 0, action: 'none' }], thresholds: { psi_critical: 0.3 } };

describe('limitsFromDescription', () => {
  it('reads the bundle overrides over the design defaults when the report does not say', () => {
    const l = limitsFromDescription(model);
    assert.equal(l.drift.psiCritical, 0.3);
    assert.equal(l.drift.minWindow, DEFAULT_DRIFT_THRESHOLDS.minWindow);
  });

  it('takes the thresholds the report was judged against, service-wide settings included', () => {
    const judged = { drift: { ...DEFAULT_DRIFT_THRESHOLDS, psiCritical: 0.3, minWindow: 500 }, performance: { ...DEFAULT_PERFORMANCE_THRESHOLDS, minLabelled: 50 } };
    const l = limitsFromDescription(model, { thresholds: judged } as unknown as ServedReport);
    assert.equal(l.drift.minWindow, 500);
    assert.equal(l.performance.minLabelled, 50);
  });
});
