import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import { buildModelContext } from '../../src/report/model-context.js';
import { DEMO_MODELS } from '../helpers/app.js';

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
