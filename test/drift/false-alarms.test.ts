import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { evaluateDrift } from '../../src/drift/evaluate.js';
import { DEFAULT_DRIFT_THRESHOLDS, type DriftThresholds } from '../../src/drift/severity.js';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import { DEMO_MODELS } from '../helpers/app.js';
import { demoPool, drawIndices, poolWindow, seededRandom, tiltedSampler, type DemoPool } from '../helpers/stable-windows.js';

/**
 * Issue 14, item 10: chance alone must not page. Stable windows are drawn (seeded, without
 * replacement) from the 25,000 rows of the demo model's data set that its reference sample
 * did not use, and judged by the pure evaluation the service runs (no HTTP). The rates
 * measured before and after the correction are in docs/drift.md.
 */
const WINDOWS = 100;
const SIZES = [DEFAULT_DRIFT_THRESHOLDS.minWindow, 200, 500, 1000, 5000];

describe('false alarms on stable traffic of the demo model', () => {
  let registry: ModelRegistry;
  let pool: DemoPool;
  let bands: { name: string; minProbability: number }[];

  before(async () => {
    registry = await loadModels(DEMO_MODELS, undefined);
    pool = await demoPool(registry);
    bands = registry.get('credit-default')!.manifest.bands.map((b) => ({ name: b.name, minProbability: b.minProbability }));
  });
  after(async () => registry.close());

  const criticalWindows = (size: number, t: DriftThresholds) => {
    const random = seededRandom(size);
    let critical = 0;
    for (let w = 0; w < WINDOWS; w++) {
      const evaluation = evaluateDrift(pool.baseline, poolWindow(pool, drawIndices(random, pool.rows, size)), bands, t);
      if (evaluation.summary.status === 'CRITICAL') critical++;
    }
    return critical;
  };

  it('draws its stable windows from data-set rows the reference sample did not use', () => {
    assert.equal(pool.rows, 25_000);
  });

  for (const size of SIZES) {
    it(`raises at most 1 CRITICAL in ${WINDOWS} stable windows of ${size} rows (Holm, the default)`, () => {
      assert.ok(criticalWindows(size, DEFAULT_DRIFT_THRESHOLDS) <= 1);
    });
  }

  it('raises at most 1 CRITICAL in 100 stable windows of 100 rows with Benjamini–Hochberg too', () => {
    assert.ok(criticalWindows(100, { ...DEFAULT_DRIFT_THRESHOLDS, correction: 'bh' }) <= 1);
  });

  it('pages on chance alone without the correction and the PSI sample-size guard, as before (the check can fail)', () => {
    const uncorrected = { ...DEFAULT_DRIFT_THRESHOLDS, correction: 'none' as const, psiPValueWarning: 1, psiPValueCritical: 1 };
    assert.ok(criticalWindows(100, uncorrected) > 10);
  });

  for (const feature of ['PAY_0', 'LIMIT_BAL']) {
    it(`finds a population whose ${feature} moved half a standard deviation CRITICAL in every one of 20 windows of 1,000 rows`, () => {
      const random = seededRandom(1000 + feature.length);
      const draw = tiltedSampler(pool, feature, 0.5);
      for (const correction of ['holm', 'bh'] as const) {
        for (let w = 0; w < 20; w++) {
          const evaluation = evaluateDrift(pool.baseline, poolWindow(pool, draw(1000, random)), bands, { ...DEFAULT_DRIFT_THRESHOLDS, correction });
          assert.equal(evaluation.summary.status, 'CRITICAL', `${correction}, window ${w}: ${JSON.stringify(evaluation.summary)}`);
          assert.ok(evaluation.summary.critical.some((c) => c.startsWith(`feature ${feature}:`)), `${correction}, window ${w}: ${feature} not named`);
        }
      }
    });
  }
});
