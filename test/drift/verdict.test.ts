import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { FeatureDrift, PredictionDrift } from '../../src/drift/evaluate.js';
import { holm } from '../../src/drift/multiple-testing.js';
import { DEFAULT_DRIFT_THRESHOLDS, driftThresholds } from '../../src/drift/severity.js';
import { correctedVerdicts, featureVerdict, psiVerdict } from '../../src/drift/verdict.js';

const t = DEFAULT_DRIFT_THRESHOLDS;

function numeric(name: string, o: { psi: number; psiP: number; ksP: number; d: number; n?: number; monitored?: boolean }): FeatureDrift {
  return {
    feature: name, kind: 'numeric', monitored: o.monitored ?? true, n_reference: 5000, n_current: o.n ?? 1000,
    psi: o.psi, psi_critical_value: 0.02, psi_pvalue: o.psiP, psi_pvalue_adjusted: o.psiP,
    ks: { statistic: o.d, pvalue: o.ksP, pvalue_adjusted: o.ksP, method: 'exact' }, chi2: null,
    missing_rate: 0, out_of_range_rate: 0, unseen_rate: null, severity: 'ok', reasons: [],
    bins: { labels: [], reference_share: [], current_share: [] },
  };
}

const prediction = (scorePsi: number, p: number, n = 1000): PredictionDrift => ({
  n, score_psi: scorePsi, score_psi_pvalue: p, score_psi_pvalue_adjusted: p, score_psi_severity: 'ok', score_ks: null,
  mean_probability: 0.22, baseline_mean_probability: 0.22, relative_change: 0, mean_change_severity: 'ok',
  positive_rate: 0.3, baseline_positive_rate: 0.3, band_shares: {}, risk_band_shares: [],
});

describe('psiVerdict', () => {
  it('keeps a PSI at the critical threshold critical when it is beyond the noise at the critical level', () => {
    assert.deepEqual(psiVerdict('PSI', 0.3, 1e-6, 1000, 0.1, 0.25, t), { severity: 'critical', reasons: ['PSI 0.300 ≥ 0.25'] });
  });

  it('makes it a warning when it is beyond the noise at the warning level only, and says why', () => {
    const v = psiVerdict('PSI', 0.3, 0.03, 120, 0.1, 0.25, t);
    assert.equal(v.severity, 'warning');
    assert.deepEqual(v.reasons, ['PSI 0.300 ≥ 0.1', 'PSI 0.300 ≥ 0.25 ignored: within the sampling noise of 120 rows (adjusted p=3.00e-2 ≥ 0.01)']);
  });

  it('sets it aside as noise when the window could give it by chance', () => {
    const v = psiVerdict('PSI', 0.3, 0.4, 100, 0.1, 0.25, t);
    assert.equal(v.severity, 'ok');
    assert.match(v.reasons[0]!, /ignored: within the sampling noise of 100 rows \(adjusted p=4\.00e-1 ≥ 0\.05\)/);
  });

  it('is insufficient data below the minimum window whatever the numbers', () => {
    assert.equal(psiVerdict('PSI', 5, 0, 99, 0.1, 0.25, t).severity, 'insufficient_data');
  });
});

describe('correctedVerdicts', () => {
  it('adjusts the tests and PSI noise p-values of the monitored features and the score as one Holm family', () => {
    const features = [
      numeric('A', { psi: 0.01, psiP: 0.5, ksP: 0.004, d: 0.15 }),
      numeric('B', { psi: 0.02, psiP: 0.6, ksP: 0.3, d: 0.05 }),
      numeric('C', { psi: 0.01, psiP: 0.7, ksP: 0.001, d: 0.2, monitored: false }),
    ];
    const out = correctedVerdicts(features, prediction(0.01, 0.9), t);
    const family = holm([0.004, 0.3, 0.5, 0.6, 0.9]);
    assert.equal(out.features[0]!.ks!.pvalue_adjusted, family[0]);
    assert.equal(out.features[0]!.ks!.pvalue, 0.004, 'the raw p-value is kept');
    assert.equal(out.features[1]!.psi_pvalue_adjusted, family[3]);
    assert.equal(out.prediction.score_psi_pvalue_adjusted, family[4]);
    // 0.004 alone is critical (< 0.01); × 5 tests it is 0.02: a warning.
    assert.equal(featureVerdict(features[0]!, t).severity, 'critical');
    assert.equal(out.features[0]!.severity, 'warning');
    assert.match(out.features[0]!.reasons[0]!, /^KS p=4\.00e-3 \(adjusted 2\.00e-2\) with D=0\.150 ≥ 0\.1$/);
  });

  it('judges a feature that is not monitored alone, on its raw p-values', () => {
    const features = [numeric('A', { psi: 0.01, psiP: 0.5, ksP: 0.5, d: 0.01 }), numeric('C', { psi: 0.01, psiP: 0.7, ksP: 0.001, d: 0.2, monitored: false })];
    const out = correctedVerdicts(features, prediction(0.01, 0.9), t);
    assert.equal(out.features[1]!.ks!.pvalue_adjusted, 0.001);
    assert.equal(out.features[1]!.severity, 'critical');
  });

  it('sets a score PSI at the critical threshold aside on a window whose noise explains it', () => {
    const out = correctedVerdicts([numeric('A', { psi: 0.01, psiP: 0.5, ksP: 0.5, d: 0.01, n: 100 })], prediction(0.3, 0.2, 100), t);
    assert.equal(out.prediction.score_psi_severity, 'ok');
    const sure = correctedVerdicts([numeric('A', { psi: 0.01, psiP: 0.5, ksP: 0.5, d: 0.01 })], prediction(0.3, 1e-9), t);
    assert.equal(sure.prediction.score_psi_severity, 'critical');
  });

  it('leaves the p-values as they are with the correction off', () => {
    const features = [numeric('A', { psi: 0.01, psiP: 0.5, ksP: 0.004, d: 0.15 }), numeric('B', { psi: 0.02, psiP: 0.6, ksP: 0.3, d: 0.05 })];
    const out = correctedVerdicts(features, prediction(0.01, 0.9), { ...t, correction: 'none' });
    assert.equal(out.features[0]!.ks!.pvalue_adjusted, 0.004);
    assert.equal(out.features[0]!.severity, 'critical');
  });
});

describe('the pvalue_correction setting', () => {
  it('defaults to Holm and takes bh or none from the manifest', () => {
    assert.equal(DEFAULT_DRIFT_THRESHOLDS.correction, 'holm');
    assert.equal(driftThresholds({ pvalue_correction: 'bh' }).correction, 'bh');
    assert.equal(driftThresholds({ pvalue_correction: 'none', psi_pvalue_critical: 0.001 }).psiPValueCritical, 0.001);
  });

  it('refuses an unknown correction naming the key and the value', () => {
    assert.throws(() => driftThresholds({ pvalue_correction: 'sidak' }), /thresholds\.pvalue_correction must be one of holm, bh, none, got "sidak"/);
    assert.throws(() => driftThresholds({ psi_pvalue_warning: 0.001, psi_pvalue_critical: 0.01 }), /psiPValueWarning \(0\.001\) and psiPValueCritical \(0\.01\) are in the wrong order/);
  });
});
