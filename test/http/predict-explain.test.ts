import assert from 'node:assert/strict';
import { cpSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, FIXTURE_MODELS, ROOT, tempDir, type TestApp } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';

const rows = demoRows(60);
const manifest = JSON.parse(readFileSync(join(ROOT, 'models/credit-default/vigia.json'), 'utf8')) as { explanations: { reasons: { code: string; features: string[] }[] } };
const logistic = (m: number) => 1 / (1 + Math.exp(-m));
const sumOf = (o: Record<string, number>) => Object.values(o).reduce((a, b) => a + b, 0);

describe('reasons and explanations on POST /predict (demo model)', () => {
  let t: TestApp;
  let declined: Record<string, number>;
  let approved: Record<string, number>;
  before(async () => {
    t = await buildTestApp();
    const res = await request(t.app).post('/predict').send({ instances: rows }).expect(200);
    const preds = res.body.predictions as { decision: number; probability: number }[];
    declined = rows[preds.findIndex((p) => p.decision === 1 && p.probability > 0.5)]!;
    approved = rows[preds.findIndex((p) => p.decision === 0)]!;
  });
  after(() => t.close());

  it('gives a declined application its principal reasons in words, strongest first, at most four, and stores them with the decision', async () => {
    const p = (await request(t.app).post('/predict').send({ features: declined }).expect(200)).body;
    assert.equal(p.decision, 1);
    assert.ok(Array.isArray(p.reasons) && p.reasons.length >= 1 && p.reasons.length <= 4, JSON.stringify(p.reasons));
    for (const r of p.reasons) {
      assert.match(r.code, /^[A-Z][A-Z0-9_]*$/);
      assert.ok(r.reason.length > 5 && !r.reason.includes('_'), `a reason a person can read: ${r.reason}`);
      assert.ok(r.contribution > 0);
    }
    const contributions = p.reasons.map((r: { contribution: number }) => r.contribution);
    assert.deepEqual(contributions, [...contributions].sort((a, b) => b - a));
    assert.equal(p.explanation, undefined, 'the full attribution only when asked');
    const stored = t.db.prepare('SELECT reasons FROM predictions WHERE id = ?').pluck().get(p.prediction_id) as string;
    assert.deepEqual(JSON.parse(stored), p.reasons);
  });

  it('gives an approved application no reasons unless asked, and stores none', async () => {
    const p = (await request(t.app).post('/predict').send({ features: approved }).expect(200)).body;
    assert.equal(p.decision, 0);
    assert.equal(p.reasons, undefined);
    assert.equal(t.db.prepare('SELECT reasons FROM predictions WHERE id = ?').pluck().get(p.prediction_id), null);
  });

  it('answers "explain": true with the attribution on the margin scale: base_value plus the contributions is the margin, and its logistic the probability', async () => {
    const res = await request(t.app).post('/predict').send({ instances: [approved, declined], explain: true }).expect(200);
    for (const p of res.body.predictions) {
      const e = p.explanation;
      assert.equal(e.link, 'logistic');
      assert.deepEqual(Object.keys(e.contributions), Object.keys(approved));
      assert.ok(Math.abs(e.base_value + sumOf(e.contributions) - e.margin) < 1e-9);
      assert.ok(Math.abs(logistic(e.margin) - p.probability) < 1e-5, `logistic(${e.margin}) vs ${p.probability}`);
      assert.ok(Array.isArray(p.reasons));
    }
    const [a, d] = res.body.predictions;
    assert.equal(a.explanation.base_value, d.explanation.base_value, 'one base value per model');
  });

  it('makes each reason the summed contribution of the features its manifest group names (PAY_0 and PAY_2 are "Recent payments are late")', async () => {
    const p = (await request(t.app).post('/predict').send({ features: declined, explain: true }).expect(200)).body;
    const c = p.explanation.contributions as Record<string, number>;
    const groups = new Map(manifest.explanations.reasons.map((g) => [g.code, g.features]));
    assert.deepEqual(groups.get('RECENT_LATE_PAYMENTS'), ['PAY_0', 'PAY_2']);
    for (const r of p.reasons as { code: string; contribution: number }[]) {
      const features = groups.get(r.code) ?? [r.code];
      assert.ok(Math.abs(r.contribution - features.reduce((s, f) => s + c[f]!, 0)) < 1e-12, r.code);
    }
  });

  it('refuses an "explain" that is not true or false, naming the field and the value', async () => {
    const res = await request(t.app).post('/predict').send({ features: approved, explain: 'yes' }).expect(400);
    assert.deepEqual(res.body.error, { code: 'invalid_body', field: 'explain', message: '"explain" must be true or false, got "yes"' });
  });
});

describe('explanations on a model that is not a tree ensemble', () => {
  const tmp = tempDir();
  let t: TestApp;
  const row = { amount: 120, age: 35, channel: 2 };
  before(async () => {
    cpSync(join(FIXTURE_MODELS, 'tensor-model'), join(tmp.dir, 'tensor-model'), { recursive: true });
    cpSync(join(ROOT, 'test/fixtures/explain/linear-model'), join(tmp.dir, 'linear-model'), { recursive: true });
    t = await buildTestApp({ modelsDir: tmp.dir, defaultModel: 'linear-model' });
  });
  after(async () => {
    await t.close();
    tmp.remove();
  });

  it('refuses "explain": true with a message saying why, and scores nothing', async () => {
    const res = await request(t.app).post('/predict').send({ features: row, explain: true }).expect(422);
    assert.equal(res.body.error.code, 'explanations_unavailable');
    assert.equal(res.body.error.field, 'explain');
    assert.match(res.body.error.message, /^model linear-model 0\.1\.0 cannot be explained: explanations need a model that is one ONNX tree ensemble .*LinearClassifier.*Send the request without "explain" to be scored\.$/);
    assert.equal(t.db.prepare('SELECT count(*) FROM predictions').pluck().get(), 0);
  });

  it('still serves it, decisions of 1 included, without reasons', async () => {
    const res = await request(t.app).post('/predict').send({ instances: [row, { amount: 5000, age: 20, channel: 2 }] }).expect(200);
    for (const p of res.body.predictions) assert.equal(p.reasons, undefined);
    assert.ok(res.body.predictions.some((p: { decision: number }) => p.decision === 1), 'the batch holds a decision of 1');
  });

  it('explains the tree model served beside it (a plain-tensor output)', async () => {
    const p = (await request(t.app).post('/v1/models/tensor-model/predict').send({ features: row, explain: true }).expect(200)).body;
    assert.ok(Math.abs(logistic(p.explanation.base_value + sumOf(p.explanation.contributions)) - p.probability) < 1e-5);
  });
});
