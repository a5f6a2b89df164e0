import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, postRows, type TestApp } from '../helpers/app.js';
import { resample } from '../helpers/demo-baseline.js';

const gauge = (text: string, name: string, labels: Record<string, string>): number | undefined => {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const line = text.split('\n').find((l) => l.startsWith(`${name}{`) && want.every((w) => l.includes(w)));
  return line === undefined ? undefined : Number(line.slice(line.lastIndexOf(' ') + 1));
};

describe('attribution drift on the demo model (report, gauges, status page)', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ drift: true });
  });
  after(() => t.close());

  it('reports every feature\'s share of the attribution against the reference, with a small shift on stable traffic', async () => {
    await postRows(t.app, resample(400));
    const r = (await request(t.app).get('/v1/models/credit-default/report?refresh=true').expect(200)).body;
    const a = r.attribution;
    assert.equal(a.window_rows, 400);
    assert.equal(a.rows_explained, 400);
    assert.equal(a.reference_rows_explained, 2000);
    assert.equal(a.features.length, 23);
    assert.ok(Math.abs(a.features.reduce((s: number, f: { window_share: number }) => s + f.window_share, 0) - 1) < 1e-9);
    assert.ok(a.shift < 0.1, `shift ${a.shift}`);
    assert.equal(a.severity, 'ok');
    const metrics = (await request(t.app).get('/metrics').expect(200)).text;
    assert.equal(gauge(metrics, 'vigia_attribution_shift', { model: 'credit-default' }), a.shift);
    assert.equal(gauge(metrics, 'vigia_attribution_rows_explained', { model: 'credit-default' }), 400);
    const pay0 = a.features.find((f: { feature: string }) => f.feature === 'PAY_0');
    assert.equal(gauge(metrics, 'vigia_attribution_share', { feature: 'PAY_0', sample: 'window' }), pay0.window_share);
    assert.equal(gauge(metrics, 'vigia_attribution_share', { feature: 'PAY_0', sample: 'reference' }), pay0.reference_share);
    const page = (await request(t.app).get('/status?model=credit-default').expect(200)).text;
    assert.match(page, /<section id="attribution"><h2>What drives the decisions/);
  });

  it('flags the shift when every application arrives two months late on its latest payment (PAY_0 = 2)', async () => {
    await postRows(t.app, resample(1200).map((row) => ({ ...row, PAY_0: 2 })));
    const r = (await request(t.app).get('/v1/models/credit-default/report?refresh=true').expect(200)).body;
    const a = r.attribution;
    assert.ok(a.shift >= 0.1, `shift ${a.shift}`);
    assert.equal(a.features[0].feature, 'PAY_0');
    assert.ok([...r.summary.warnings, ...r.summary.critical].some((w: string) => w.startsWith('attribution: the features driving the decisions changed')));
  });
});
