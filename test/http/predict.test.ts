import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, FIXTURE_MODELS, type TestApp } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';

const rows = demoRows(20);
const row = rows[0]!;
const auditCount = (t: TestApp): number => t.db.prepare('SELECT count(*) FROM predictions').pluck().get() as number;

describe('POST /predict and /v1/models/{model}/predict on the demo model', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ bodyLimitBytes: 64 * 1024, maxBatch: 100 });
  });
  after(() => t.close());

  it('answers one prediction with the contract fields, and its audit row is committed', async () => {
    const res = await request(t.app).post('/predict').send({ features: row }).expect(200);
    const p = res.body;
    assert.match(p.prediction_id, /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    assert.equal(p.model, 'credit-default');
    assert.equal(p.model_version, '1.0.0');
    assert.ok(p.probability > 0 && p.probability < 1);
    assert.equal(p.decision, p.probability >= 0.2 ? 1 : 0);
    assert.equal(p.band, p.probability >= 0.5 ? 'critical' : p.probability >= 0.2 ? 'moderate' : 'low');
    assert.equal(p.threshold, 0.2);
    assert.equal(typeof p.action, 'string');
    assert.ok(p.latency_ms > 0);
    assert.match(p.trace_id, /^[0-9a-f]{32}$/);
    const logged = t.db.prepare('SELECT * FROM predictions WHERE id = ?').get(p.prediction_id) as Record<string, unknown>;
    assert.equal(logged['probability'], p.probability);
    assert.equal(logged['band'], p.band);
    assert.equal(logged['decision'], p.decision);
    assert.equal(logged['threshold'], 0.2);
    assert.equal(logged['model_version'], '1.0.0');
    assert.equal(logged['trace_id'], p.trace_id);
    assert.equal(logged['latency_ms'], p.latency_ms);
    assert.equal(logged['request_id'], res.headers['x-request-id']);
    assert.deepEqual(JSON.parse(logged['features'] as string), row);
  });

  it('serves the same model by name under /v1/models/credit-default/predict', async () => {
    const a = await request(t.app).post('/predict').send({ features: row }).expect(200);
    const b = await request(t.app).post('/v1/models/credit-default/predict').send({ features: row }).expect(200);
    assert.equal(a.body.probability, b.body.probability);
  });

  it('answers a batch in order, each row as if scored alone, one audit row each', async () => {
    const before = auditCount(t);
    const batch = await request(t.app).post('/v1/models/credit-default/predict').send({ instances: rows }).expect(200);
    assert.equal(batch.body.predictions.length, rows.length);
    for (let i = 0; i < 3; i++) {
      const one = await request(t.app).post('/predict').send({ features: rows[i] }).expect(200);
      assert.equal(batch.body.predictions[i].probability, one.body.probability);
    }
    assert.equal(auditCount(t), before + rows.length + 3);
    const ids = new Set(batch.body.predictions.map((p: { prediction_id: string }) => p.prediction_id));
    assert.equal(ids.size, rows.length);
  });

  it('keeps the caller\'s X-Request-Id and W3C trace id', async () => {
    const traceId = '4bf92f3577b34da6a3ce929d0e0e4736';
    const res = await request(t.app).post('/predict').set('X-Request-Id', 'req-42').set('traceparent', `00-${traceId}-00f067aa0ba902b7-01`).send({ features: row }).expect(200);
    assert.equal(res.headers['x-request-id'], 'req-42');
    assert.equal(res.body.trace_id, traceId);
    const logged = t.db.prepare('SELECT request_id, trace_id FROM predictions WHERE id = ?').get(res.body.prediction_id);
    assert.deepEqual({ ...(logged as object) }, { request_id: 'req-42', trace_id: traceId });
  });

  it('scores null as a missing value and an unseen category with a warning', async () => {
    const res = await request(t.app).post('/predict').send({ features: { ...row, PAY_0: null, EDUCATION: 9 } }).expect(200);
    assert.deepEqual(res.body.warnings, [{ code: 'unseen_category', field: 'EDUCATION', value: 9, message: 'EDUCATION=9 was not seen in training; scored as an unseen category' }]);
  });

  describe('rejects bad input with a clear 4xx and scores nothing', () => {
    const cases: [string, () => request.Test, number, string, string | undefined, RegExp][] = [
      ['malformed JSON', () => request(t.app).post('/predict').set('Content-Type', 'application/json').send('{"features": {'), 400, 'malformed_json', undefined, /not valid JSON/],
      ['a body over the limit', () => request(t.app).post('/predict').send({ features: row, pad: 'x'.repeat(70 * 1024) }), 413, 'body_too_large', undefined, /over the limit of 65536 bytes/],
      ['a body that is not JSON', () => request(t.app).post('/predict').set('Content-Type', 'text/plain').send('hello'), 415, 'unsupported_media_type', undefined, /Content-Type must be application\/json, got "text\/plain"/],
      ['an unknown model', () => request(t.app).post('/v1/models/nope/predict').send({ features: row }), 404, 'unknown_model', 'model', /no model named "nope"; loaded: credit-default/],
      ['a missing feature', () => { const { AGE: _a, ...r } = row; return request(t.app).post('/predict').send({ features: r }); }, 400, 'missing_feature', 'features.AGE', /features.AGE is missing/],
      ['a numeric string', () => request(t.app).post('/predict').send({ features: { ...row, AGE: '35' } }), 400, 'wrong_type', 'features.AGE', /features.AGE must be a number, got "35"/],
      ['Infinity (1e999 in JSON)', () => request(t.app).post('/predict').set('Content-Type', 'application/json').send(JSON.stringify({ features: row }).replace('"AGE":' + row['AGE'], '"AGE":1e999')), 400, 'not_finite', 'features.AGE', /must be a finite number, got Infinity/],
      ['an unknown extra feature', () => request(t.app).post('/predict').send({ features: { ...row, PAY_1: 0 } }), 400, 'unknown_feature', 'features.PAY_1', /PAY_1 is not a feature of this model/],
      ['an unknown top-level field', () => request(t.app).post('/predict').send({ features: row, model: 'x' }), 400, 'invalid_body', 'model', /unknown field "model"/],
      ['both features and instances', () => request(t.app).post('/predict').send({ features: row, instances: [row] }), 400, 'invalid_body', 'instances', /either "features".*or "instances".*not both/],
      ['neither', () => request(t.app).post('/predict').send({}), 400, 'invalid_body', undefined, /must hold "features"/],
      ['an empty batch', () => request(t.app).post('/predict').send({ instances: [] }), 400, 'empty_batch', 'instances', /"instances" is empty/],
      ['an oversized batch', () => request(t.app).post('/predict').send({ instances: Array.from({ length: 101 }, () => ({ AGE: 1 })) }), 400, 'batch_too_large', 'instances', /holds 101 rows, more than the limit of 100/],
      ['a batch with one bad row, naming the row index', () => request(t.app).post('/predict').send({ instances: [row, row, { ...row, LIMIT_BAL: 'NaN' }, row] }), 400, 'wrong_type', 'instances[2].LIMIT_BAL', /instances\[2\].LIMIT_BAL must be a number, got "NaN"/],
      ['a JSON array body', () => request(t.app).post('/predict').send([row]), 400, 'invalid_body', undefined, /must be a JSON object/],
      ['a NaN literal (not JSON)', () => request(t.app).post('/predict').set('Content-Type', 'application/json').send('{"features": {"AGE": NaN}}'), 400, 'malformed_json', undefined, /not valid JSON/],
    ];
    for (const [what, send, status, code, field, message] of cases) {
      it(`answers ${status} ${code} for ${what}`, async () => {
        const before = auditCount(t);
        const res = await send().expect(status);
        assert.equal(res.body.error.code, code);
        assert.equal(res.body.error.field, field);
        assert.match(res.body.error.message, message);
        assert.equal(auditCount(t), before, 'nothing was logged');
      });
    }
  });

  it('answers 404 with the error shape for an unknown route', async () => {
    const res = await request(t.app).get('/v2/nothing').expect(404);
    assert.deepEqual(res.body, { error: { code: 'not_found', message: 'no route for GET /v2/nothing' } });
  });
});

describe('a models folder with several bundles', () => {
  let t: TestApp;
  before(async () => {
    t = await buildTestApp({ modelsDir: FIXTURE_MODELS, defaultModel: 'tensor-model' });
  });
  after(() => t.close());

  it('routes /predict to the default model and each name to its own model', async () => {
    const features = { amount: 2500, age: 22, channel: 2 };
    const d = await request(t.app).post('/predict').send({ features }).expect(200);
    const z = await request(t.app).post('/v1/models/zipmap-model/predict').send({ features }).expect(200);
    assert.equal(d.body.model, 'tensor-model');
    assert.equal(z.body.model, 'zipmap-model');
    assert.ok(Math.abs(d.body.probability - 0.7426508434270265) < 1e-6);
    assert.ok(Math.abs(z.body.probability - 0.444290491639345) < 1e-6);
    assert.equal(d.body.band, 'high');
  });
});
