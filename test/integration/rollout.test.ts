import assert from 'node:assert/strict';
import { rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { buildTestApp, tempDir, type TestApp } from '../helpers/app.js';
import { listen } from '../helpers/listen.js';
import { AUTH, MODEL, ROW, stageVersion, TOKEN, V1, versionedModels } from '../helpers/versions.js';

const admin = (app: TestApp, path: string) => request(app.app).post(`/v1/admin/models/${MODEL}${path}`).set(AUTH);
const metric = async (app: TestApp, name: string) => (await app.metricsRegistry.getSingleMetric(name)!.get()).values;

describe('model rollout through the admin API', () => {
  const tmp = tempDir();
  let models: string;
  let t: TestApp;
  before(async () => {
    models = versionedModels(tmp.dir);
    t = await buildTestApp({ modelsDir: models, adminToken: TOKEN });
  });
  after(async () => {
    await t.close();
    tmp.remove();
  });

  it('refuses a missing token with 401, a wrong one with 403, and changes nothing', async () => {
    stageVersion(models, '2.0.0');
    const missing = await request(t.app).post(`/v1/admin/models/${MODEL}/versions/2.0.0/load`).expect(401);
    assert.equal(missing.body.error.code, 'unauthorized');
    assert.equal(missing.headers['www-authenticate'], 'Bearer realm="vigia"');
    const wrong = await request(t.app).post(`/v1/admin/models/${MODEL}/versions/2.0.0/load`).set('authorization', 'Bearer not-the-token').expect(403);
    assert.equal(wrong.body.error.code, 'forbidden');
    await request(t.app).post(`/v1/admin/models/${MODEL}/versions/${V1}/unload`).set('authorization', 'Basic abc').expect(401);
    const listed = await request(t.app).get('/v1/models').expect(200);
    assert.deepEqual(listed.body.versions.map((v: { version: string }) => v.version), [V1]);
  });

  it('loads a version beside the stable one, which keeps answering until promoted', async () => {
    const loaded = await admin(t, '/versions/2.0.0/load').expect(200);
    assert.equal(loaded.body.state, 'ready');
    assert.equal(loaded.body.role, 'none');
    const answer = await request(t.app).post('/predict').send({ features: ROW }).expect(200);
    assert.equal(answer.body.model_version, V1);
    const listed = await request(t.app).get('/v1/models').expect(200);
    assert.deepEqual(listed.body.versions.map((v: { version: string; state: string; role: string }) => [v.version, v.state, v.role]), [[V1, 'ready', 'stable'], ['2.0.0', 'ready', 'none']]);
    const states = await metric(t, 'vigia_model_version_state');
    assert.equal(states.find((v) => v.labels['version'] === '2.0.0' && v.labels['state'] === 'ready')!.value, 1);
  });

  it('refuses a version whose outputs differ from its parity file, listing the rows, and keeps serving', async () => {
    // tensor-model's parity file shipped with the zipmap model: every row differs.
    stageVersion(models, '3.0.0', { from: 'zipmap-model', parityFrom: 'tensor-model' });
    const refused = await admin(t, '/versions/3.0.0/load').expect(422);
    assert.equal(refused.body.error.code, 'load_failed');
    assert.match(refused.body.error.message, /parity.json: parity check failed: \d+ of 8 rows differ by more than 0.0001: row 0: expected 0.212640, served 0.230804/);
    const status = (await request(t.app).get('/v1/models')).body.versions.find((v: { version: string }) => v.version === '3.0.0');
    assert.equal(status.state, 'failed');
    assert.match(status.reason, /row 0: expected/);
    assert.equal((await metric(t, 'vigia_model_load_failures_total'))[0]!.value, 1);
    await request(t.app).post('/predict').send({ features: ROW }).expect(200);
  });

  it('refuses a live load of a bundle without a parity file', async () => {
    const dir = stageVersion(models, '4.0.0', { from: 'tensor-model' });
    rmSync(join(dir, 'parity.json'));
    const refused = await admin(t, '/versions/4.0.0/load').expect(422);
    assert.match(refused.body.error.message, /parity.json: is missing: a live load checks the expected probabilities/);
  });

  it('refuses a broken bundle on a live load and the stable version keeps answering', async () => {
    const dir = stageVersion(models, '5.0.0', { from: 'tensor-model' });
    writeFileSync(join(dir, 'model.onnx'), 'not a model');
    const refused = await admin(t, '/versions/5.0.0/load').expect(422);
    assert.match(refused.body.error.message, /model.onnx: is not a readable ONNX model/);
    const answer = await request(t.app).post('/predict').send({ features: ROW }).expect(200);
    assert.equal(answer.body.model_version, V1);
  });

  it('promotes atomically, rolls back instantly to the previous stable, and logs the version that answered', async () => {
    await admin(t, '/versions/2.0.0/promote').expect(200);
    const promoted = await request(t.app).post('/predict').send({ features: ROW }).expect(200);
    assert.equal(promoted.body.model_version, '2.0.0');
    const roles = (await request(t.app).get('/v1/models')).body.versions.map((v: { version: string; role: string }) => `${v.version}:${v.role}`);
    assert.ok(roles.includes(`${V1}:previous`) && roles.includes('2.0.0:stable'), roles.join());
    const rolled = await admin(t, '/rollback').expect(200);
    assert.ok(rolled.body.versions.some((v: { version: string; role: string }) => v.version === V1 && v.role === 'stable'));
    const back = await request(t.app).post('/predict').send({ features: ROW }).expect(200);
    assert.equal(back.body.model_version, V1);
    const logged = t.db.prepare('SELECT model_version FROM predictions WHERE id IN (?, ?)').pluck().all(promoted.body.prediction_id, back.body.prediction_id);
    assert.deepEqual(logged.sort(), ['0.1.0', '2.0.0']);
  });

  it('refuses to unload the stable version', async () => {
    const refused = await admin(t, `/versions/${V1}/unload`).expect(409);
    assert.match(refused.body.error.message, /is stable; promote another version or roll back before unloading it/);
  });

  it('sends 10 % of callers to a canary (± 3 points over 1,000 ids), each caller always to the same version', async () => {
    await admin(t, '/canary').send({ version: '2.0.0', percent: 10 }).expect(200);
    const served = new Map<string, string>();
    for (let i = 0; i < 1000; i++) {
      const id = `customer-${i}`;
      const r = await request(t.app).post(`/v1/models/${MODEL}/predict`).set('x-caller-id', id).send({ features: ROW }).expect(200);
      served.set(id, r.body.model_version);
    }
    const canary = [...served.values()].filter((v) => v === '2.0.0').length / served.size;
    assert.ok(Math.abs(canary - 0.1) <= 0.03, `canary share ${canary}`);
    for (let i = 0; i < 50; i++) {
      const id = `customer-${i}`;
      const r = await request(t.app).post(`/v1/models/${MODEL}/predict`).set('x-caller-id', id).send({ features: ROW }).expect(200);
      assert.equal(r.body.model_version, served.get(id), `caller ${id} moved`);
    }
    // Without a caller id each request draws: both versions answer over 300 requests.
    const seen = new Set<string>();
    for (let i = 0; i < 300; i++) seen.add((await request(t.app).post('/predict').send({ features: ROW }).expect(200)).body.model_version);
    assert.deepEqual([...seen].sort(), ['0.1.0', '2.0.0']);
    const predictions = await metric(t, 'vigia_predictions_total');
    assert.ok(predictions.some((v) => v.labels['version'] === '2.0.0' && v.value > 0));
    await admin(t, '/canary').send({ version: '2.0.0', percent: 0 }).expect(200);
  });

  it('scores a shadow copy after the answer is sent, never returns it, logs it as shadow and counts agreement', async () => {
    await admin(t, '/shadow').send({ version: '2.0.0' }).expect(200);
    const events: string[] = [];
    const shadowModel = t.registry.version(MODEL, '2.0.0')!;
    const scorer = shadowModel.scorer!;
    const original = scorer.score.bind(scorer);
    (scorer as { score: typeof original }).score = (rows, n) => {
      events.push('shadow');
      return original(rows, n);
    };
    const server = await listen((req, res) => {
      res.on('finish', () => events.push('answer'));
      t.app(req, res);
    });
    const ids: string[] = [];
    const latencies: number[] = [];
    try {
      for (let i = 0; i < 40; i++) {
        const r = await fetch(`${server.url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ features: { ...ROW, amount: 100 * i } }) });
        const body = (await r.json()) as { model_version: string; prediction_id: string; latency_ms: number };
        assert.equal(r.status, 200);
        assert.equal(body.model_version, V1);
        ids.push(body.prediction_id);
        latencies.push(body.latency_ms);
      }
      await t.shadow.settled();
    } finally {
      await server.close();
      (shadowModel.scorer as { score: typeof original }).score = original;
    }
    // Every shadow scoring started after its request's answer had been sent.
    for (let i = 0; i < events.length; i += 2) assert.deepEqual(events.slice(i, i + 2), ['answer', 'shadow'], events.join(','));
    const rows = t.db.prepare(`SELECT shadow_of, model_version, bundle_hash, source FROM predictions WHERE shadow_of IS NOT NULL AND shadow_of IN (${ids.map(() => '?').join(',')})`).all(...ids) as { shadow_of: string; model_version: string; bundle_hash: string; source: string }[];
    assert.equal(rows.length, 40);
    assert.ok(rows.every((r) => r.model_version === '2.0.0'));
    // A shadow row's lineage is the shadow bundle's, not the answering one's.
    assert.ok(rows.every((r) => r.bundle_hash === shadowModel.contentHash && r.source === 'scored'));
    assert.notEqual(shadowModel.contentHash, t.registry.version(MODEL, V1)!.contentHash);
    const decisions = await metric(t, 'vigia_shadow_decisions_total');
    assert.equal(decisions.reduce((s, v) => s + v.value, 0), 40);
    const agreement = (await metric(t, 'vigia_shadow_decision_agreement_ratio'))[0]!.value;
    assert.ok(agreement >= 0 && agreement <= 1);
    assert.ok(Number.isFinite((await metric(t, 'vigia_shadow_score_psi'))[0]!.value));
    const sorted = [...latencies].sort((a, b) => a - b);
    process.stdout.write(`# shadow on: answer latency_ms median ${sorted[20]} (not asserted; the machine is shared)\n`);
    await admin(t, '/shadow').send({ version: null }).expect(200);
  });
});

describe('a bad bundle at start', () => {
  const tmp = tempDir();
  let t: TestApp;
  before(async () => {
    const models = versionedModels(tmp.dir);
    const broken = stageVersion(models, '0.2.0', { from: 'tensor-model' });
    writeFileSync(join(broken, 'model.onnx'), 'garbage');
    stageVersion(models, '0.0.9', { from: 'tensor-model', edit: (m) => { m.decision.threshold = 'high'; } });
    t = await buildTestApp({ modelsDir: models, adminToken: TOKEN });
  });
  after(async () => {
    await t.close();
    tmp.remove();
  });

  it('leaves the good versions serving and reports the bad ones failed with their reason and a metric', async () => {
    const answer = await request(t.app).post('/predict').send({ features: ROW }).expect(200);
    assert.equal(answer.body.model_version, V1);
    const versions = (await request(t.app).get('/v1/models').expect(200)).body.versions as { version: string; state: string; reason?: string }[];
    assert.deepEqual(versions.map((v) => [v.version, v.state]), [['0.0.9', 'failed'], [V1, 'ready'], ['0.2.0', 'failed']]);
    assert.match(versions[0]!.reason!, /field "decision.threshold" must be a number from 0 to 1, got "high"/);
    assert.match(versions[2]!.reason!, /model.onnx: is not a readable ONNX model/);
    assert.equal((await metric(t, 'vigia_model_load_failures_total'))[0]!.value, 2);
    const failed = (await metric(t, 'vigia_model_version_state')).filter((v) => v.labels['state'] === 'failed' && v.value === 1).map((v) => v.labels['version']);
    assert.deepEqual(failed.sort(), ['0.0.9', '0.2.0']);
  });
});
