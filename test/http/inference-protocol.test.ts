import assert from 'node:assert/strict';
import { cpSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, FIXTURE_MODELS, ROOT, tempDir, type TestApp } from '../helpers/app.js';
import { AUTH, MODEL, stageVersion, TOKEN, V1, versionedModels } from '../helpers/versions.js';

const spec = JSON.parse(readFileSync(join(ROOT, 'test', 'fixtures', 'oip', 'spec-examples.json'), 'utf8'));
const expected = JSON.parse(readFileSync(join(FIXTURE_MODELS, 'expected.json'), 'utf8'));
const ROWS: number[][] = expected.rows.slice(0, 2);
const PROBABILITIES: number[] = expected.models['tensor-model'].probability.slice(0, 2);
const keys = (o: object) => Object.keys(o).sort();

/** The spec's infer request example, with the tensor of our model: one FP32 [N, 3] input named as the model's input. */
const inferRequest = (data: unknown = ROWS.flat()) => ({ ...spec.infer_request_example, inputs: [{ name: 'float_input', shape: [2, 3], datatype: 'FP32', data }], outputs: [{ name: 'probability' }] });

describe('the Open Inference Protocol (KServe v2 REST)', () => {
  const tmp = tempDir();
  let t: TestApp;
  let models: string;
  before(async () => {
    models = versionedModels(tmp.dir);
    t = await buildTestApp({ modelsDir: models, adminToken: TOKEN });
  });
  after(async () => {
    await t.close();
    tmp.remove();
  });

  it('answers server live and ready by status code with an empty body', async () => {
    const live = await request(t.app).get('/v2/health/live').expect(200);
    assert.equal(live.text, '');
    await request(t.app).get('/v2/health/ready').expect(200);
  });

  it('answers server metadata with the keys of the specification and the model_repository extension', async () => {
    const r = await request(t.app).get('/v2').expect(200);
    assert.deepEqual(keys(r.body), [...spec.server_metadata_response_keys].sort());
    assert.equal(r.body.name, 'vigia');
    assert.deepEqual(r.body.extensions, ['model_repository']);
  });

  it('answers model metadata, for the stable version and a named one, with the input tensor named as the model input', async () => {
    for (const path of [`/v2/models/${MODEL}`, `/v2/models/${MODEL}/versions/${V1}`]) {
      const r = await request(t.app).get(path).expect(200);
      assert.deepEqual(keys(r.body), [...spec.model_metadata_response_keys].sort());
      assert.deepEqual(r.body.inputs, [{ name: 'float_input', datatype: 'FP32', shape: [-1, 3] }]);
      for (const o of r.body.outputs) assert.deepEqual(keys(o), [...spec.metadata_tensor_keys].sort());
      assert.deepEqual(r.body.versions, [V1]);
    }
    const unknown = await request(t.app).get('/v2/models/nope').expect(404);
    assert.deepEqual(keys(unknown.body), spec.error_response_keys);
    assert.match(unknown.body.error, /no model named "nope"/);
  });

  it('answers model ready per model and per version by status code', async () => {
    await request(t.app).get(`/v2/models/${MODEL}/ready`).expect(200);
    await request(t.app).get(`/v2/models/${MODEL}/versions/${V1}/ready`).expect(200);
    await request(t.app).get(`/v2/models/${MODEL}/versions/9.9.9/ready`).expect(400);
    await request(t.app).get('/v2/models/nope/ready').expect(400);
  });

  it('infers the specification example shape: echoes the id, returns only the asked output, the same probabilities as /predict', async () => {
    const r = await request(t.app).post(`/v2/models/${MODEL}/infer`).send(inferRequest()).expect(200);
    assert.deepEqual(keys(r.body), [...spec.inference_response_keys].sort());
    assert.equal(r.body.id, spec.infer_request_example.id);
    assert.equal(r.body.model_name, MODEL);
    assert.equal(r.body.model_version, V1);
    assert.equal(r.body.outputs.length, 1);
    const out = r.body.outputs[0];
    assert.deepEqual(keys(out), [...spec.response_output_keys].sort());
    assert.equal(out.name, 'probability');
    assert.deepEqual(out.shape, [2]);
    out.data.forEach((p: number, i: number) => assert.ok(Math.abs(p - PROBABILITIES[i]!) < 1e-5, `row ${i}: ${p} vs sklearn ${PROBABILITIES[i]}`));
    const viaPredict = await request(t.app).post('/predict').send({ instances: ROWS.map(([amount, age, channel]) => ({ amount, age, channel })) }).expect(200);
    assert.deepEqual(out.data, viaPredict.body.predictions.map((p: { probability: number }) => p.probability));
  });

  it('accepts tensor data in its natural (nested) form as in its flat form', async () => {
    const nested = await request(t.app).post(`/v2/models/${MODEL}/infer`).send(inferRequest(ROWS)).expect(200);
    const flat = await request(t.app).post(`/v2/models/${MODEL}/infer`).send(inferRequest(ROWS.flat())).expect(200);
    assert.deepEqual(nested.body.outputs, flat.body.outputs);
  });

  it('without an id, answers the prediction id as the response id, and every row has its audit row', async () => {
    const body = { inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: ROWS[0] }] };
    const r = await request(t.app).post(`/v2/models/${MODEL}/versions/${V1}/infer`).send(body).expect(200);
    assert.deepEqual(r.body.outputs.map((o: { name: string }) => o.name), ['probability', 'decision', 'prediction_id']);
    const ids = r.body.outputs[2].data as string[];
    assert.equal(r.body.id, ids[0]);
    const row = t.db.prepare('SELECT model_version, probability FROM predictions WHERE id = ?').get(ids[0]) as { model_version: string; probability: number };
    assert.equal(row.model_version, V1);
    assert.equal(row.probability, r.body.outputs[0].data[0]);
  });

  it("refuses the specification's own example request (not this model's tensor) with the protocol's error object", async () => {
    const r = await request(t.app).post(`/v2/models/${MODEL}/infer`).send(spec.infer_request_example).expect(400);
    assert.deepEqual(keys(r.body), spec.error_response_keys);
    assert.match(r.body.error, /"inputs" must hold exactly one tensor, "float_input" of shape \[N, 3\]/);
    const wrongType = await request(t.app).post(`/v2/models/${MODEL}/infer`).send({ inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'INT64', data: [1, 2, 3] }] }).expect(400);
    assert.match(wrongType.body.error, /the input datatype must be "FP32", got "INT64"/);
    const short = await request(t.app).post(`/v2/models/${MODEL}/infer`).send({ inputs: [{ name: 'float_input', shape: [2, 3], datatype: 'FP32', data: [1, 2, 3] }] }).expect(400);
    assert.match(short.body.error, /holds 3 values, but the shape \[2, 3\] needs 6/);
    const bad = await request(t.app).post(`/v2/models/${MODEL}/infer`).send({ inputs: [{ name: 'float_input', shape: [1, 3], datatype: 'FP32', data: [1, 'x', 3] }] }).expect(400);
    assert.match(bad.body.error, /age/);
    const rejected = (await t.metricsRegistry.getSingleMetric('vigia_rejected_inputs_total')!.get()).values;
    assert.ok(rejected.some((v) => v.labels['model'] === MODEL && v.value > 0));
  });

  it('indexes the repository with every version found, loaded or not, with the keys of the extension', async () => {
    stageVersion(models, '2.0.0');
    const r = await request(t.app).post('/v2/repository/index').send({}).expect(200);
    for (const e of r.body) assert.deepEqual(keys(e), [...spec.repository_index_entry_keys].sort());
    assert.deepEqual(r.body.map((e: { version: string; state: string }) => `${e.version}:${e.state}`), [`${V1}:READY`, '2.0.0:UNAVAILABLE']);
    const ready = await request(t.app).post('/v2/repository/index').send({ ready: true }).expect(200);
    assert.equal(ready.body.length, 1);
  });

  it('loads and unloads through the repository extension with the admin token only', async () => {
    await request(t.app).post(`/v2/repository/models/${MODEL}/load`).expect(401);
    await request(t.app).post(`/v2/repository/models/${MODEL}/load`).set('authorization', 'Bearer wrong-token-wrong-token').expect(403);
    await request(t.app).post(`/v2/repository/models/${MODEL}/load`).set(AUTH).expect(200);
    await request(t.app).get(`/v2/models/${MODEL}/versions/2.0.0/ready`).expect(200);
    const v2 = await request(t.app).post(`/v2/models/${MODEL}/versions/2.0.0/infer`).send(inferRequest()).expect(200);
    assert.equal(v2.body.model_version, '2.0.0');
    const noVersion = await request(t.app).post(`/v2/repository/models/${MODEL}/unload`).set(AUTH).send({}).expect(400);
    assert.match(noVersion.body.error, /give parameters.version/);
    await request(t.app).post(`/v2/repository/models/${MODEL}/unload`).set(AUTH).send({ parameters: { version: '2.0.0' } }).expect(200);
    await request(t.app).get(`/v2/models/${MODEL}/versions/2.0.0/ready`).expect(400);
    const stable = await request(t.app).post(`/v2/repository/models/${MODEL}/unload`).set(AUTH).send({ parameters: { version: V1 } }).expect(409);
    assert.match(stable.body.error, /is stable/);
  });
});

describe('a default model with no ready version', () => {
  it('leaves the other models serving while server ready answers 400 and /predict 503', async () => {
    const tmp = tempDir();
    const models = versionedModels(tmp.dir);
    writeFileSync(join(models, MODEL, V1, 'model.onnx'), 'garbage');
    cpSync(join(FIXTURE_MODELS, 'zipmap-model'), join(models, 'zipmap-model'), { recursive: true });
    const t = await buildTestApp({ modelsDir: models, defaultModel: MODEL, adminToken: TOKEN });
    try {
      await request(t.app).get('/v2/health/ready').expect(400);
      await request(t.app).get(`/v2/models/${MODEL}/ready`).expect(400);
      const r = await request(t.app).post('/predict').send({ features: { amount: 1, age: 2, channel: 0 } }).expect(503);
      assert.equal(r.body.error.code, 'model_not_ready');
      await request(t.app).post('/v1/models/zipmap-model/predict').send({ features: { amount: 1, age: 2, channel: 0 } }).expect(200);
    } finally {
      await t.close();
      tmp.remove();
    }
  });
});
