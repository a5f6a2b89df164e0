import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, type TestApp } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';

describe('tracing of a prediction', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp();
  });
  after(() => t.close());

  it('makes one span per request with its stages validate, infer and audit_log, and logs its trace id', async () => {
    t.spans.reset();
    const res = await request(t.app).post('/predict').send({ instances: demoRows(3) }).expect(200);
    const spans = t.spans.getFinishedSpans();
    const root = spans.find((s) => s.name === 'vigia.predict')!;
    assert.ok(root, 'root span');
    assert.equal(root.attributes['vigia.model'], 'credit-default');
    assert.equal(root.attributes['vigia.batch_size'], 3);
    const stages = spans.filter((s) => s.parentSpanContext?.spanId === root.spanContext().spanId).map((s) => s.name);
    assert.deepEqual(stages.sort(), ['audit_log', 'infer', 'validate']);
    const traceId = root.spanContext().traceId;
    assert.ok(res.body.predictions.every((p: { trace_id: string }) => p.trace_id === traceId));
    const logged = t.db.prepare('SELECT DISTINCT trace_id FROM predictions WHERE id IN (?, ?, ?)').pluck().all(...res.body.predictions.map((p: { prediction_id: string }) => p.prediction_id));
    assert.deepEqual(logged, [traceId]);
  });

  it('marks the span as an error when the input is rejected', async () => {
    t.spans.reset();
    await request(t.app).post('/predict').send({ features: { AGE: 1 } }).expect(400);
    const root = t.spans.getFinishedSpans().find((s) => s.name === 'vigia.predict')!;
    assert.equal(root.status.code, 2);
    assert.match(root.status.message ?? '', /is missing/);
  });
});
