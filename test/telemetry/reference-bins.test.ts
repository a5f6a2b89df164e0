import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { modelKey } from '../../src/drift/monitor.js';
import { psi } from '../../src/drift/psi.js';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { resample } from '../helpers/demo-baseline.js';

type Series = Map<string, Map<string, number>>;
/** feature → bin → value, for one metric of the exposition. */
function series(text: string, metric: string): Series {
  const out: Series = new Map();
  for (const line of text.split('\n')) {
    if (!line.startsWith(`${metric}{`)) continue;
    const feature = /feature="([^"]*)"/.exec(line)![1]!;
    const bin = /bin="([^"]*)"/.exec(line)![1]!;
    const value = Number(line.slice(line.lastIndexOf(' ') + 1));
    if (!out.has(feature)) out.set(feature, new Map());
    out.get(feature)!.set(bin, value);
  }
  return out;
}

describe('reference-bin counters (fleet PSI in PromQL)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ drift: true });
  });
  after(() => t.close());

  it('exports every frozen bin of every feature at 0 before any prediction, with the reference share of each bin', async () => {
    const text = (await request(t.app).get('/metrics').expect(200)).text;
    const counts = series(text, 'vigia_feature_bin_predictions_total');
    const shares = series(text, 'vigia_feature_bin_reference_ratio');
    const report = await t.monitor!.evaluate(modelKey('credit-default', '1.0.0'));
    assert.equal(counts.size, report.features.length);
    for (const f of report.features) {
      assert.deepEqual([...counts.get(f.feature)!.keys()], f.bins.labels, f.feature);
      assert.ok([...counts.get(f.feature)!.values()].every((v) => v === 0));
      assert.deepEqual(f.bins.labels.map((b) => shares.get(f.feature)!.get(b)), f.bins.reference_share);
    }
  });

  it('counts answered predictions into the bins the service evaluates, so PSI from the counters equals the report\'s PSI', async () => {
    const rows = resample(700).map((r, i) => ({ ...r, LIMIT_BAL: i % 2 === 0 ? r['LIMIT_BAL']! * 3 : r['LIMIT_BAL']!, AGE: i % 5 === 0 ? null : r['AGE'] }));
    await request(t.app).post('/predict').send({ instances: rows.slice(0, 400) }).expect(200);
    for (const r of rows.slice(400, 450)) await request(t.app).post('/predict').send({ features: r }).expect(200);
    await request(t.app).post('/predict').send({ instances: rows.slice(450) }).expect(200);
    const text = (await request(t.app).get('/metrics').expect(200)).text;
    const counts = series(text, 'vigia_feature_bin_predictions_total');
    const shares = series(text, 'vigia_feature_bin_reference_ratio');
    const report = await t.monitor!.evaluate(modelKey('credit-default', '1.0.0'));
    assert.equal(report.n, 700);
    for (const f of report.features) {
      const cur = f.bins.labels.map((b) => counts.get(f.feature)!.get(b)!);
      assert.equal(cur.reduce((a, b) => a + b, 0), 700, f.feature);
      assert.deepEqual(cur.map((c) => c / 700), f.bins.current_share, f.feature);
      const ref = f.bins.labels.map((b) => shares.get(f.feature)!.get(b)!);
      assert.ok(Math.abs(psi(ref, cur) - f.psi!) < 1e-12, `${f.feature}: ${psi(ref, cur)} vs ${f.psi}`);
    }
    assert.ok(report.features.find((f) => f.feature === 'LIMIT_BAL')!.psi! > 0.25);
  });
});
