import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { spawnSync } from 'node:child_process';
import request from 'supertest';
import { requireTool } from '../helpers/tools.js';
import { buildTestApp, postRows, type TestApp } from '../helpers/app.js';
import { resample } from '../helpers/demo-baseline.js';

const gauge = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

const send = (t: TestApp, rows: Record<string, number>[]) => postRows(t.app, rows);

describe('GET /v1/models/{model}/report and the drift gauges', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ drift: true });
  });
  after(() => t.close());

  it('stays HEALTHY with every gauge ok on stable traffic', async () => {
    await send(t, resample(400));
    const res = await request(t.app).get('/v1/models/credit-default/report?refresh=true').expect(200);
    const r = res.body;
    assert.equal(r.model, 'credit-default');
    assert.equal(r.n, 400);
    assert.equal(r.window.n, 400);
    assert.equal(r.summary.status, 'HEALTHY', JSON.stringify(r.summary));
    assert.equal(r.features.length, 23);
    for (const f of r.features) assert.equal(f.severity, 'ok', `${f.feature}: ${f.reasons}`);
    assert.equal(r.diagnosis, null);
    assert.ok(r.operational.latency_ms.p99 >= r.operational.latency_ms.p50);
    assert.equal(r.operational.since_start.ratio_5xx, 0);
    const metrics = (await request(t.app).get('/metrics').expect(200)).text;
    assert.equal(gauge(metrics, 'vigia_feature_drift_severity', { feature: 'LIMIT_BAL' }), 0);
    assert.equal(gauge(metrics, 'vigia_drift_status', { model: 'credit-default' }), 0);
    assert.equal(gauge(metrics, 'vigia_drift_window_size', { model: 'credit-default' }), 400);
    assert.ok(gauge(metrics, 'vigia_feature_psi', { feature: 'LIMIT_BAL' })! < 0.1);
  });

  it('turns the shifted feature critical, in the report and on /metrics, when shifted traffic arrives', async () => {
    await send(t, resample(1200).map((r) => ({ ...r, LIMIT_BAL: r['LIMIT_BAL']! * 3 })));
    const r = (await request(t.app).get('/v1/models/credit-default/report?refresh=true').expect(200)).body;
    assert.equal(r.n, 1600, JSON.stringify(r.summary));
    const limit = r.features.find((f: { feature: string }) => f.feature === 'LIMIT_BAL');
    assert.equal(limit.severity, 'critical');
    assert.equal(r.summary.status, 'CRITICAL');
    for (const f of r.features.filter((x: { feature: string }) => x.feature !== 'LIMIT_BAL')) assert.equal(f.severity, 'ok', f.feature);
    const metrics = (await request(t.app).get('/metrics').expect(200)).text;
    assert.equal(gauge(metrics, 'vigia_feature_drift_severity', { feature: 'LIMIT_BAL' }), 2);
    assert.ok(gauge(metrics, 'vigia_feature_psi', { feature: 'LIMIT_BAL' })! >= 0.25);
    assert.ok(gauge(metrics, 'vigia_feature_out_of_range_ratio', { feature: 'LIMIT_BAL' })! > 0.03);
    assert.equal(gauge(metrics, 'vigia_feature_drift_severity', { feature: 'AGE' }), 0);
    assert.equal(gauge(metrics, 'vigia_drift_status', { model: 'credit-default' }), 2);
    assert.ok(gauge(metrics, 'vigia_drift_last_evaluation_timestamp_seconds', { model: 'credit-default' })! > 1.7e9);
  });

  it('keeps /metrics valid for promtool with the drift gauges set', async () => {
    const promtool = requireTool('promtool');
    const text = (await request(t.app).get('/metrics').expect(200)).text;
    const r = spawnSync(promtool, ['check', 'metrics'], { input: text, encoding: 'utf8' });
    assert.equal(r.status, 0, `${r.stdout}${r.stderr}`);
    assert.equal((r.stdout + r.stderr).trim(), '');
  });

  it('answers the last evaluation without re-running it, and 404 for an unknown model', async () => {
    const a = (await request(t.app).get('/v1/models/credit-default/report').expect(200)).body;
    const b = (await request(t.app).get('/v1/models/credit-default/report').expect(200)).body;
    assert.equal(a.evaluated_at, b.evaluated_at);
    const res = await request(t.app).get('/v1/models/nope/report').expect(404);
    assert.equal(res.body.error.code, 'unknown_model');
  });
});

describe('the report and the gauges below min_window', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ drift: true });
  });
  after(() => t.close());

  it('says NO_VERDICT in the JSON report and -1 on vigia_drift_status with 3 predictions, however far the score moved', async () => {
    await send(t, resample(3).map((r) => ({ ...r, LIMIT_BAL: r['LIMIT_BAL']! * 10 })));
    const r = (await request(t.app).get('/v1/models/credit-default/report?refresh=true').expect(200)).body;
    assert.equal(r.n, 3);
    assert.equal(r.summary.status, 'NO_VERDICT', JSON.stringify(r.summary));
    assert.equal(r.drift_summary.status, 'NO_VERDICT');
    assert.deepEqual([r.summary.critical, r.summary.warnings], [[], []]);
    const metrics = (await request(t.app).get('/metrics').expect(200)).text;
    assert.equal(gauge(metrics, 'vigia_drift_status', { model: 'credit-default' }), -1);
    assert.equal(gauge(metrics, 'vigia_feature_drift_severity', { feature: 'LIMIT_BAL' }), -1);
  });
});
