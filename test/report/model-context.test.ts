import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import request from 'supertest';
import { buildModelContext, referenceRates } from '../../src/report/model-context.js';
import { buildTestApp, DEMO_MODELS, FIXTURE_MODELS } from '../helpers/app.js';
import { holdoutRows } from '../helpers/demo-rows.js';

const opts = { quantiles: 10, topK: 20, now: new Date() };

describe('buildModelContext', () => {
  let registry: ModelRegistry;
  before(async () => {
    registry = await loadModels(DEMO_MODELS, undefined);
  });
  after(() => registry.close());

  it('builds the demo model\'s baseline, calibration, costs, label delay and thresholds with its overrides', async () => {
    const m = registry.get('credit-default')!;
    const c = await buildModelContext(m, opts);
    assert.equal(c.performance.labelDelayMs, 30 * 86_400_000);
    assert.equal(c.performance.windowMs, 30 * 86_400_000);
    assert.deepEqual(c.performance.costs, { falseNegative: 10, falsePositive: 1 });
    assert.equal(c.performance.thresholds.recallWarning, 0.55, 'the demo manifest overrides recall_warning');
    assert.equal(c.performance.thresholds.aucWarning, 0.78);
    assert.ok(c.performance.calibrator !== null && c.performance.calibrator.x.length > 10);
    assert.equal((await buildModelContext(m, { ...opts, labelDelayMs: 0 })).performance.labelDelayMs, 0, 'VIGIA_LABEL_DELAY overrides the bundle');
  });

  it('refuses an unknown or malformed threshold key, naming the manifest, the key and the value', async () => {
    const m = registry.get('credit-default')!;
    const typo = { ...m, manifest: { ...m.manifest, thresholds: { psi_critcal: 0.3 } } };
    await assert.rejects(buildModelContext(typo, opts), /vigia\.json: field "thresholds\.psi_critcal" is not a known threshold; known: psi_warning/);
    const bad = { ...m, manifest: { ...m.manifest, thresholds: { auc_warning: 2 } } };
    await assert.rejects(buildModelContext(bad, opts), /vigia\.json: thresholds\.auc_warning must be a number from 0 to 1, got 2/);
  });
});

describe('business limits that fit each bundled and test model', () => {
  it('derives the demo model\'s limits from its reference (66 % approved, 12 % high risk), and held-out stable traffic stays well inside them', async () => {
    const t = await buildTestApp({});
    try {
      const c = await buildModelContext(t.registry.get('credit-default')!, opts);
      const ref = referenceRates(c.baseline.score.sample, 0.2);
      assert.ok(Math.abs(ref.approvalRate - 0.662) < 0.01 && Math.abs(ref.highRiskShare - 0.124) < 0.01, JSON.stringify(ref));
      assert.ok(c.business.approvalRateMin > 0.55, `the design's 25–55 % approval range would flag this model's own traffic: ${JSON.stringify(c.business)}`);
      // Rows the reference did not use, scored by the real model, in windows of 500 (a quiet hour).
      const rows = holdoutRows().map((r) => r.features);
      for (let i = 0; i + 500 <= rows.length; i += 500) {
        const res = await request(t.app).post('/predict').send({ instances: rows.slice(i, i + 500) }).expect(200);
        const p = (res.body.predictions as { probability: number }[]).map((x) => x.probability);
        const w = referenceRates(p, 0.2);
        const b = c.business;
        const margin = 0.03;
        assert.ok(w.approvalRate > b.approvalRateMin + margin && w.approvalRate < b.approvalRateMax - margin, `rows ${i}–${i + 500}: approval ${w.approvalRate} vs ${b.approvalRateMin}–${b.approvalRateMax}`);
        assert.ok(w.highRiskShare > b.highRiskShareMin + margin && w.highRiskShare < b.highRiskShareMax - margin, `rows ${i}–${i + 500}: high risk ${w.highRiskShare}`);
        assert.ok(w.meanScore > b.meanScoreMin + margin && w.meanScore < b.meanScoreMax - margin, `rows ${i}–${i + 500}: mean ${w.meanScore}`);
      }
    } finally {
      await t.close();
    }
  });

  it('puts every test model\'s own reference rates inside its limits', async () => {
    const fixtures = await loadModels(FIXTURE_MODELS, undefined);
    try {
      for (const m of fixtures.list()) {
        const c = await buildModelContext(m, opts);
        const r = referenceRates(c.baseline.score.sample, m.manifest.threshold);
        const b = c.business;
        assert.ok(b.approvalRateMin < r.approvalRate && r.approvalRate < b.approvalRateMax, `${m.manifest.name}: ${JSON.stringify({ r, b })}`);
        assert.ok(b.highRiskShareMin <= r.highRiskShare && r.highRiskShare < b.highRiskShareMax, `${m.manifest.name}: ${JSON.stringify({ r, b })}`);
        assert.ok(b.meanScoreMin < r.meanScore && r.meanScore < b.meanScoreMax, `${m.manifest.name}: ${JSON.stringify({ r, b })}`);
      }
    } finally {
      await fixtures.close();
    }
  });
});
