import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';

const [row, other] = demoRows(2);
const DAY = 86_400_000;

describe('event_time on predict requests', () => {
  let on: TestApp;
  let off: TestApp;
  before(async () => {
    on = await buildTestApp({ eventTime: { accept: true, maxAgeMs: 30 * DAY } });
    off = await buildTestApp();
  });
  after(async () => {
    await on.close();
    await off.close();
  });

  it('stores the client event time beside the server decision time, for every row of a batch', async () => {
    const eventTime = new Date(Date.now() - 3 * DAY).toISOString();
    const before = Date.now();
    const res = await request(on.app).post('/v1/models/credit-default/predict').send({ instances: [row, other], event_time: eventTime }).expect(200);
    for (const p of res.body.predictions) {
      assert.equal(p.event_time, eventTime);
      const logged = on.db.prepare('SELECT ts_ms, event_ts_ms FROM predictions WHERE id = ?').get(p.prediction_id) as { ts_ms: number; event_ts_ms: number };
      assert.equal(logged.event_ts_ms, Date.parse(eventTime));
      assert.ok(logged.ts_ms >= before && logged.ts_ms <= Date.now(), 'ts_ms is the server clock, not the client time');
    }
  });

  it('takes epoch milliseconds, and without event_time the event time is the decision time', async () => {
    const ms = Date.now() - DAY;
    const a = await request(on.app).post('/predict').send({ features: row, event_time: ms }).expect(200);
    assert.equal(a.body.event_time, new Date(ms).toISOString());
    const b = await request(on.app).post('/predict').send({ features: row }).expect(200);
    assert.equal(b.body.event_time, undefined);
    const logged = on.db.prepare('SELECT ts_ms, event_ts_ms FROM predictions WHERE id = ?').get(b.body.prediction_id) as { ts_ms: number; event_ts_ms: number };
    assert.equal(logged.event_ts_ms, logged.ts_ms);
  });

  it('is refused with 400 event_time_not_accepted unless the service accepts event times, and nothing is logged', async () => {
    const res = await request(off.app).post('/predict').send({ features: row, event_time: new Date().toISOString() }).expect(400);
    assert.equal(res.body.error.code, 'event_time_not_accepted');
    assert.equal(res.body.error.field, 'event_time');
    assert.match(res.body.error.message, /VIGIA_ACCEPT_EVENT_TIME=true/);
    assert.equal(off.db.prepare('SELECT count(*) FROM predictions').pluck().get(), 0);
  });

  it('rejects an unparseable, future or too old event time naming the value', async () => {
    const bad = async (value: unknown, message: RegExp) => {
      const res = await request(on.app).post('/predict').send({ features: row, event_time: value }).expect(400);
      assert.equal(res.body.error.code, 'invalid_event_time');
      assert.equal(res.body.error.field, 'event_time');
      assert.match(res.body.error.message, message);
    };
    await bad('last tuesday', /ISO 8601 time or epoch milliseconds, got "last tuesday"/);
    await bad(true, /got true/);
    await bad(Date.now() + DAY, /more than 5 minutes in the future/);
    await bad(new Date(Date.now() - 31 * DAY).toISOString(), /older than 30 days \(VIGIA_MAX_EVENT_AGE\)/);
  });

  it('counts decisions (0 below the threshold, 1 at or above it) and high-risk predictions', async () => {
    const res = await request(on.app).post('/v1/models/credit-default/predict').send({ instances: demoRows(50) }).expect(200);
    const ps = res.body.predictions as { decision: number; probability: number }[];
    const value = async (name: string, labels: Record<string, string>) =>
      (await on.metricsRegistry.getSingleMetric(name)!.get()).values.find((v) => Object.entries(labels).every(([k, x]) => v.labels[k] === x))?.value ?? 0;
    const flagged = await value('vigia_decisions_total', { decision: '1' });
    const approved = await value('vigia_decisions_total', { decision: '0' });
    const total = await value('vigia_predictions_total', { band: 'low' }) + await value('vigia_predictions_total', { band: 'moderate' }) + await value('vigia_predictions_total', { band: 'critical' });
    assert.equal(flagged + approved, total);
    assert.ok(ps.filter((p) => p.decision === 1).length <= flagged);
    assert.equal(await value('vigia_high_risk_predictions_total', { model: 'credit-default' }), await value('vigia_predictions_total', { band: 'critical' }));
  });
});
