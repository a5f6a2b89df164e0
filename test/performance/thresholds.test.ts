import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { BUSINESS_TOLERANCE, DEFAULT_BUSINESS_THRESHOLDS, DEFAULT_PERFORMANCE_THRESHOLDS as T, businessThresholds, highIsBad, lowIsBad, performanceThresholds, referenceBusinessThresholds } from '../../src/performance/thresholds.js';

describe('performance thresholds', () => {
  it('default to the design table and take the manifest overrides', () => {
    assert.deepEqual(performanceThresholds({}), T);
    assert.equal(T.aucWarning, 0.78);
    assert.equal(T.aucCritical, 0.75);
    assert.equal(performanceThresholds({ recall_warning: 0.55, min_labelled: 500 }).recallWarning, 0.55);
    assert.equal(businessThresholds({ approval_rate_min: 0.3 }).approvalRateMin, 0.3);
  });

  it('reject a bad value naming the key and the value, and limits in the wrong order', () => {
    assert.throws(() => performanceThresholds({ auc_warning: 'high' }), /thresholds\.auc_warning must be a number from 0 to 1, got "high"/);
    assert.throws(() => performanceThresholds({ min_labelled: 2.5 }), /thresholds\.min_labelled must be a non-negative integer, got 2\.5/);
    assert.throws(() => performanceThresholds({ auc_critical: 0.8 }), /auc_warning \(0\.78\) must not be below auc_critical \(0\.8\)/);
    assert.throws(() => businessThresholds({ mean_score_min: 0.5 }), /meanScoreMin \(0\.5\) is above meanScoreMax \(0\.35\)/);
  });

  it('judge a metric that should be high on the upper end of its interval, so a small cohort does not page on noise', () => {
    assert.equal(lowIsBad(0.74, 0.79, 500, T, T.aucWarning, T.aucCritical), 'ok');
    assert.equal(lowIsBad(0.74, 0.77, 500, T, T.aucWarning, T.aucCritical), 'warning');
    assert.equal(lowIsBad(0.70, 0.74, 500, T, T.aucWarning, T.aucCritical), 'critical');
    assert.equal(lowIsBad(0.70, undefined, 500, T, undefined, 0.35), 'ok');
    assert.equal(lowIsBad(0.30, undefined, 500, T, undefined, 0.35), 'critical');
  });

  it('say insufficient data below the minimum of labelled predictions or without a value', () => {
    assert.equal(lowIsBad(0.5, 0.6, 99, T, T.aucWarning, T.aucCritical), 'insufficient_data');
    assert.equal(lowIsBad(NaN, NaN, 1000, T, T.aucWarning, T.aucCritical), 'insufficient_data');
    assert.equal(highIsBad(0.3, 99, T, T.brierWarning), 'insufficient_data');
    assert.equal(highIsBad(0.19, 100, T, T.brierWarning), 'warning');
    assert.equal(highIsBad(0.18, 100, T, T.brierWarning), 'ok');
  });
});

describe('business limits from the model\'s own reference', () => {
  it('centres each limit on the reference rate with the stated tolerance, clamped to 0–1', () => {
    assert.equal(BUSINESS_TOLERANCE, 0.1);
    assert.deepEqual(referenceBusinessThresholds({ approvalRate: 0.662, highRiskShare: 0.05, meanScore: 0.95 }), {
      approvalRateMin: 0.562, approvalRateMax: 0.762, highRiskShareMin: 0, highRiskShareMax: 0.15, meanScoreMin: 0.85, meanScoreMax: 1,
    });
  });

  it('keeps the design\'s default where a rate cannot be computed (no reference scores)', () => {
    const t = referenceBusinessThresholds({ approvalRate: NaN, highRiskShare: NaN, meanScore: NaN });
    assert.deepEqual(t, DEFAULT_BUSINESS_THRESHOLDS);
  });

  it('lets the manifest override any limit the reference set', () => {
    const base = referenceBusinessThresholds({ approvalRate: 0.662, highRiskShare: 0.124, meanScore: 0.22 });
    const t = businessThresholds({ approval_rate_max: 0.9 }, base);
    assert.equal(t.approvalRateMax, 0.9);
    assert.equal(t.approvalRateMin, 0.562);
  });
});
