import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';

const rows = demoRows(40);

describe('GET /v1/predictions/{id}', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  it('returns a logged decision with its inputs, its answer and its reasons, and its label once one arrived', async () => {
    const batch = (await request(t.app).post('/predict').send({ instances: rows }).expect(200)).body.predictions as Record<string, unknown>[];
    const i = batch.findIndex((p) => p['decision'] === 1);
    const answered = batch[i]!;
    const id = answered['prediction_id'] as string;

    const logged = (await request(t.app).get(`/v1/predictions/${id}`).expect(200)).body;
    assert.equal(logged.prediction_id, id);
    assert.equal(logged.model, 'credit-default');
    assert.equal(logged.model_version, '1.0.0');
    assert.deepEqual(logged.features, rows[i]);
    for (const key of ['probability', 'decision', 'band', 'threshold', 'latency_ms', 'trace_id', 'reasons'] as const) assert.deepEqual(logged[key], answered[key], key);
    assert.ok(logged.reasons.length > 0);
    assert.match(logged.decided_at, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    assert.equal(logged.event_time, logged.decided_at);
    assert.equal(logged.label, null);

    await request(t.app).post('/v1/labels').send({ labels: [{ prediction_id: id, label: 1, label_time: '2026-01-05T00:00:00Z' }] }).expect(200);
    const labelled = (await request(t.app).get(`/v1/predictions/${id}`).expect(200)).body;
    assert.equal(labelled.label.value, 1);
    assert.equal(labelled.label.label_time, '2026-01-05T00:00:00.000Z');
    assert.match(labelled.label.received_at, /^\d{4}-/);
  });

  it('returns a decision of 0 with no reasons as an empty list', async () => {
    const batch = (await request(t.app).post('/predict').send({ instances: rows }).expect(200)).body.predictions as Record<string, unknown>[];
    const approved = batch.find((p) => p['decision'] === 0)!;
    const logged = (await request(t.app).get(`/v1/predictions/${approved['prediction_id'] as string}`).expect(200)).body;
    assert.deepEqual(logged.reasons, []);
  });

  it('answers 404 with the error body for an id it never logged', async () => {
    const res = await request(t.app).get('/v1/predictions/no-such-id').expect(404);
    assert.deepEqual(res.body, { error: { code: 'unknown_prediction', message: 'no logged prediction has the id "no-such-id"', field: 'id' } });
  });
});
