import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { resample } from '../helpers/demo-baseline.js';

describe('POST /v1/labels', () => {
  let t: TestApp;
  let ids: string[];
  before(async () => {
    t = await buildTestApp();
    const res = await request(t.app).post('/predict').send({ instances: resample(5) }).expect(200);
    ids = res.body.predictions.map((p: { prediction_id: string }) => p.prediction_id);
  });
  after(() => t.close());
  const stored = (id: string) => t.db.prepare('SELECT label, label_ts_ms FROM labels WHERE prediction_id = ?').get(id) as { label: number; label_ts_ms: number } | undefined;

  it('stores new labels and counts and lists the unknown ids', async () => {
    const res = await request(t.app).post('/v1/labels').send({ labels: [
      { prediction_id: ids[0], label: 1 },
      { prediction_id: ids[1], label: 0, label_time: '2026-01-15T10:00:00Z' },
      { prediction_id: 'no-such-prediction', label: 1 },
    ] }).expect(200);
    assert.deepEqual(res.body, { received: 3, accepted: 2, duplicate: 0, conflicting: 0, unknown: 1, conflicting_ids: [], unknown_ids: ['no-such-prediction'] });
    assert.equal(stored(ids[0]!)!.label, 1);
    assert.equal(stored(ids[1]!)!.label_ts_ms, Date.parse('2026-01-15T10:00:00Z'));
  });

  it('is idempotent: the same label again is a duplicate, and the other label a conflict that is not stored', async () => {
    const res = await request(t.app).post('/v1/labels').send({ labels: [
      { prediction_id: ids[0], label: 1 },
      { prediction_id: ids[1], label: 1 },
    ] }).expect(200);
    assert.equal(res.body.accepted, 0);
    assert.equal(res.body.duplicate, 1);
    assert.equal(res.body.conflicting, 1);
    assert.deepEqual(res.body.conflicting_ids, [ids[1]]);
    assert.equal(stored(ids[1]!)!.label, 0, 'the first label stays');
  });

  it('rejects the whole request, storing nothing, when an item is bad, naming each bad index', async () => {
    const res = await request(t.app).post('/v1/labels').send({ labels: [
      { prediction_id: ids[2], label: 1 },
      { prediction_id: ids[3], label: 2 },
      { label: 0 },
      { prediction_id: ids[4], label: 1, label_time: 'yesterday' },
    ] }).expect(400);
    assert.equal(res.body.error.code, 'invalid_labels');
    assert.equal(res.body.error.field, 'labels[1].label');
    assert.match(res.body.error.message, /^3 of 4 labels are invalid, so none was stored: labels\[1\].label must be 0 or 1, got 2; labels\[2\].prediction_id must be a prediction id string, got undefined; labels\[3\].label_time must be an ISO 8601 time or epoch milliseconds, got "yesterday"$/);
    assert.equal(stored(ids[2]!), undefined);
  });

  it('rejects an empty batch and a body without labels', async () => {
    assert.equal((await request(t.app).post('/v1/labels').send({ labels: [] }).expect(400)).body.error.code, 'empty_batch');
    assert.equal((await request(t.app).post('/v1/labels').send({ label: 1 }).expect(400)).body.error.code, 'invalid_body');
  });

  it('takes a batch of 10,000 labels in one request', async () => {
    const res = await request(t.app).post('/v1/labels').send({ labels: Array.from({ length: 10_000 }, (_, i) => ({ prediction_id: `unknown-${i}`, label: i % 2 })) }).expect(200);
    assert.equal(res.body.unknown, 10_000);
    assert.equal(res.body.unknown_ids.length, 1000);
    assert.equal(res.body.lists_truncated_at, 1000);
  });

  it('counts labels by outcome on /metrics', async () => {
    const text = (await request(t.app).get('/metrics').expect(200)).text;
    assert.match(text, /^vigia_labels_received_total\{outcome="accepted"\} 2$/m);
    assert.match(text, /^vigia_labels_received_total\{outcome="conflicting"\} 1$/m);
  });
});
