import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Baseline } from '../../src/drift/baseline.js';
import { evaluateDrift, statusOf } from '../../src/drift/evaluate.js';
import { DEFAULT_DRIFT_THRESHOLDS, driftThresholds } from '../../src/drift/severity.js';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import { DEMO_MODELS } from '../helpers/app.js';
import { columnsOf as columnsOfDemo, demoBaseline, resample } from '../helpers/demo-baseline.js';

let registry: ModelRegistry;
let baseline: Baseline;
const columnsOf = (data: Record<string, number>[]) => columnsOfDemo(registry, data);

before(async () => {
  registry = await loadModels(DEMO_MODELS, undefined);
  baseline = await demoBaseline(registry);
});
after(() => registry.close());

const bands = () => registry.get('credit-default')!.manifest.bands;

describe('evaluateDrift on the demo model', () => {
  it('finds no drift in a window drawn from the reference itself', async () => {
    const e = evaluateDrift(baseline, await columnsOf(resample(3000)), bands(), DEFAULT_DRIFT_THRESHOLDS);
    assert.equal(e.summary.status, 'HEALTHY', JSON.stringify(e.summary));
    for (const f of e.features) assert.equal(f.severity, 'ok', `${f.feature}: ${f.reasons.join('; ')}`);
    assert.ok(Math.abs(e.prediction.relative_change!) < 0.05);
    assert.equal(e.dataset.drifted, 0);
  });

  it('flags the shifted feature as critical and leaves the others ok', async () => {
    const shifted = resample(3000).map((r) => ({ ...r, LIMIT_BAL: r['LIMIT_BAL']! * 3 }));
    const e = evaluateDrift(baseline, await columnsOf(shifted), bands(), DEFAULT_DRIFT_THRESHOLDS);
    const limit = e.features.find((f) => f.feature === 'LIMIT_BAL')!;
    assert.equal(limit.severity, 'critical');
    assert.ok(limit.psi! >= 0.25, `PSI ${limit.psi}`);
    assert.ok(limit.ks!.pvalue < 0.01);
    assert.ok(limit.out_of_range_rate! > 0.1);
    assert.equal(e.summary.status, 'CRITICAL');
    assert.match(e.summary.critical.join('\n'), /feature LIMIT_BAL: PSI/);
    for (const f of e.features.filter((x) => x.feature !== 'LIMIT_BAL')) assert.equal(f.severity, 'ok', f.feature);
  });

  it('counts missing values as drift: a feature blanked in 40 % of rows is critical', async () => {
    const blanked = resample(2000).map((r, i) => ({ ...r, AGE: i % 5 < 2 ? NaN : r['AGE']! }));
    const e = evaluateDrift(baseline, await columnsOf(blanked), bands(), DEFAULT_DRIFT_THRESHOLDS);
    const age = e.features.find((f) => f.feature === 'AGE')!;
    assert.ok(Math.abs(age.missing_rate - 0.4) < 1e-9);
    assert.equal(age.severity, 'critical');
  });

  it('moves the mix of a categorical feature: PSI and chi-square both see it', async () => {
    const mixed = resample(3000).map((r, i) => ({ ...r, EDUCATION: i % 2 === 0 ? 3 : r['EDUCATION']! }));
    const e = evaluateDrift(baseline, await columnsOf(mixed), bands(), DEFAULT_DRIFT_THRESHOLDS);
    const edu = e.features.find((f) => f.feature === 'EDUCATION')!;
    assert.equal(edu.kind, 'categorical');
    assert.ok(edu.psi! >= 0.25);
    assert.ok(edu.chi2!.pvalue < 1e-10);
    assert.equal(edu.severity, 'critical');
  });

  it('reports insufficient data, not drift, below the minimum window', async () => {
    const small = resample(50).map((r) => ({ ...r, LIMIT_BAL: r['LIMIT_BAL']! * 3 }));
    const e = evaluateDrift(baseline, await columnsOf(small), bands(), DEFAULT_DRIFT_THRESHOLDS);
    assert.ok(e.features.every((f) => f.severity === 'insufficient_data'));
    assert.equal(e.summary.status, 'NO_VERDICT', 'a window below min_window is no verdict, not HEALTHY');
    assert.equal(e.dataset.drifted_share, null);
  });

  it('ignores a significant KS p-value whose effect D is below the guard', async () => {
    const nudged = resample(5000).map((r) => ({ ...r, AGE: r['AGE']! + 1 }));
    const e = evaluateDrift(baseline, await columnsOf(nudged), bands(), DEFAULT_DRIFT_THRESHOLDS);
    const age = e.features.find((f) => f.feature === 'AGE')!;
    assert.ok(age.ks!.pvalue < 0.01 && age.ks!.statistic < 0.1, JSON.stringify(age.ks));
    assert.equal(age.severity, 'ok');
    assert.match(age.reasons.join(';'), /ignored: D=.* below the effect-size guard 0.1/);
  });

  it('keeps evaluating the other features when one cannot be evaluated', async () => {
    const w = await columnsOf(resample(500));
    const columns = new Map(w.columns);
    columns.delete('PAY_0');
    const e = evaluateDrift(baseline, { columns, scores: w.scores }, bands(), DEFAULT_DRIFT_THRESHOLDS);
    const pay = e.features.find((f) => f.feature === 'PAY_0')!;
    assert.equal(pay.severity, 'error');
    assert.match(pay.error!, /no column PAY_0/);
    assert.equal(e.features.filter((f) => f.severity === 'ok').length, 22);
  });

  it('measures prediction drift: mean probability against the baseline, positive rate and band shares', async () => {
    const risky = resample(3000).map((r) => ({ ...r, PAY_0: 2, PAY_2: 2 }));
    const e = evaluateDrift(baseline, await columnsOf(risky), bands(), DEFAULT_DRIFT_THRESHOLDS);
    assert.ok(e.prediction.relative_change! > 0.5, String(e.prediction.relative_change));
    assert.equal(e.prediction.mean_change_severity, 'critical');
    assert.ok(e.prediction.positive_rate! > e.prediction.baseline_positive_rate);
    assert.ok(e.prediction.band_shares['critical']!.current! > e.prediction.band_shares['critical']!.baseline);
    assert.equal(e.prediction.score_psi_severity, 'critical');
  });
});

describe('thresholds and status', () => {
  it('follows the seed rule: a critical → CRITICAL, more than three warnings → ATTENTION', () => {
    assert.equal(statusOf(1, 0), 'CRITICAL');
    assert.equal(statusOf(0, 4), 'ATTENTION');
    assert.equal(statusOf(0, 3), 'HEALTHY');
  });

  it('says NO_VERDICT when there was too little data to judge, unless a signal fired anyway', () => {
    assert.equal(statusOf(0, 0, false), 'NO_VERDICT');
    assert.equal(statusOf(0, 3, false), 'NO_VERDICT');
    assert.equal(statusOf(1, 0, false), 'CRITICAL');
    assert.equal(statusOf(0, 4, false), 'ATTENTION');
  });

  it('takes per-model overrides from the manifest and names a bad one', () => {
    assert.equal(driftThresholds({ psi_critical: 0.3, ks_min_statistic: 0.05 }).psiCritical, 0.3);
    assert.throws(() => driftThresholds({ psi_warning: 'high' }), /thresholds.psi_warning must be a non-negative number, got "high"/);
    assert.throws(() => driftThresholds({ psi_warning: 0.5 }), /psiWarning \(0.5\) and psiCritical \(0.25\) are in the wrong order/);
  });
});
