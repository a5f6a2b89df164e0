import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { modelKey } from '../../src/drift/monitor.js';
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

describe('attribution drift on a window evaluated from its hourly aggregates', () => {
  const HOUR = 3_600_000;
  const ROWS = 6000;
  let exact: TestApp;
  let aggregated: TestApp;
  before(async () => {
    // The same 6,000 rows, logged over the last six hours (1,000 per hour), to a service that
    // evaluates them from the rows and to one that evaluates them from the hourly aggregates.
    // In the last two hours every application is two months late on its latest payment.
    const eventTime = { accept: true, maxAgeMs: 2 * 86_400_000 };
    exact = await buildTestApp({ drift: true, eventTime, exactWindowRows: ROWS });
    aggregated = await buildTestApp({ drift: true, eventTime, exactWindowRows: ROWS - 1 });
    const now = Date.now();
    const rows = resample(ROWS);
    for (let b = 0; b < ROWS / 500; b++) {
      const hour = Math.floor(b / 2);
      const instances = rows.slice(b * 500, (b + 1) * 500).map((r) => (hour >= 4 ? { ...r, PAY_0: 2 } : r));
      const body = { instances, event_time: now - (6 - hour) * HOUR + 60_000 };
      for (const t of [exact, aggregated]) await request(t.app).post('/predict').send(body).expect(200);
    }
  });
  after(async () => {
    await exact.close();
    await aggregated.close();
  });

  it('agrees with the rows path within 0.03 in total variation, explaining 2,000 rows drawn from the buckets\' samples', async () => {
    const key = modelKey('credit-default', '1.0.0');
    const a = (await exact.monitor!.evaluate(key)).attribution!;
    const b = (await aggregated.monitor!.evaluate(key)).attribution!;
    assert.equal(a.sampled_from, 'rows');
    assert.equal(b.sampled_from, 'hourly_samples');
    assert.equal(a.window_rows, ROWS);
    assert.equal(b.window_rows, ROWS);
    assert.equal(a.rows_explained, 2000);
    // 6 or 7 hourly buckets (the hours need not align with the clock's), 1,000 rows each or fewer,
    // more than the 2,000 positions' share of each: every position has a row of its own.
    assert.equal(b.rows_explained, 2000);
    const share = (r: typeof a, feature: string) => r.features.find((f) => f.feature === feature)!.window_share;
    let tv = 0;
    for (const f of a.features) tv += Math.abs(f.window_share - share(b, f.feature)) / 2;
    assert.ok(tv <= 0.03, `total variation ${tv} between the two paths' shares`);
    assert.ok(Math.abs(a.shift! - b.shift!) <= 0.03, `shift ${a.shift} (rows) against ${b.shift} (aggregates)`);
    assert.equal(b.features[0]!.feature, a.features[0]!.feature);
    for (const f of b.features) assert.equal(f.reference_share, a.features.find((x) => x.feature === f.feature)!.reference_share, 'the same reference');
    // Evaluated again with no new rows: the same draw, its rows' attributions reused.
    assert.deepEqual((await aggregated.monitor!.evaluate(key)).attribution, b);
  });
});
