import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { MONITOR_ONLY_MODELS } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { ingestEngines, type IngestApp } from '../helpers/ingest-app.js';

const MODEL = 'credit-default-observed';
const PATH = `/v1/models/${MODEL}/observations`;
const rows = demoRows(20);

for (const engine of ingestEngines()) {
  describe(`POST /v1/models/{model}/observations (${engine.name})`, { skip: engine.skip }, () => {
    let t: IngestApp;
    before(async () => {
      t = await engine.open({ modelsDir: MONITOR_ONLY_MODELS, ingestQueueRows: 50 });
    });
    after(() => t.close());
    const logged = async (id: string) => (await t.query<{ model: string; probability: number; decision: number; band: string; source: string; event_ts_ms: number }>(
      'SELECT model, probability, decision, band, source, event_ts_ms FROM predictions WHERE id = $1', [id]))[0];
    const count = async () => (await t.query<{ n: number }>('SELECT count(*) AS n FROM predictions'))[0]!.n;

    it('logs one observation as observed, deriving the decision and band from the bundle threshold, before answering', async () => {
      const res = await request(t.app).post(PATH).send({ observations: [{ features: rows[0], probability: 0.35, prediction_id: 'ext-1' }] }).expect(200);
      assert.deepEqual(res.body, {
        received: 1, committed: 1, duplicate: 0, conflict: 0,
        observations: [{ prediction_id: 'ext-1', status: 'created', probability: 0.35, decision: 1, band: 'moderate' }],
      });
      assert.deepEqual({ ...(await logged('ext-1'))!, event_ts_ms: 0 }, { model: MODEL, probability: 0.35, decision: 1, band: 'moderate', source: 'observed', event_ts_ms: 0 });
    });

    it('logs a batch, keeping a given decision and event time and giving an id to rows without one', async () => {
      const at = Date.now() - 3_600_000;
      const res = await request(t.app).post(PATH).send({ observations: [
        { features: rows[1], probability: 0.05, prediction_id: 'ext-2', decision: 1, event_time: new Date(at).toISOString() },
        { features: rows[2], probability: 0.9 },
      ] }).expect(200);
      assert.equal(res.body.committed, 2);
      assert.equal((await logged('ext-2'))!.decision, 1, 'the caller\'s decision stands');
      assert.equal((await logged('ext-2'))!.event_ts_ms, at);
      const generated = res.body.observations[1].prediction_id as string;
      assert.match(generated, /^[0-9a-f]{8}-/);
      assert.equal((await logged(generated))!.band, 'critical');
    });

    it('answers a retry as the first try, counted as a duplicate, with no second row', async () => {
      const before = await count();
      const res = await request(t.app).post(PATH).send({ observations: [{ features: rows[0], probability: 0.99, prediction_id: 'ext-1' }] }).expect(200);
      assert.deepEqual(res.body.observations, [{ prediction_id: 'ext-1', status: 'duplicate', probability: 0.35, decision: 1, band: 'moderate' }]);
      assert.equal(res.body.duplicate, 1);
      assert.equal(await count(), before);
      assert.equal((await logged('ext-1'))!.probability, 0.35, 'the first try stays');
    });

    it('recognises a retry whose event time falls in another month than the first try', async () => {
      const at = Date.now() - 40 * 86_400_000;
      await request(t.app).post(PATH).send({ observations: [{ features: rows[8], probability: 0.15, prediction_id: 'ext-month', event_time: at }] }).expect(200);
      const before = await count();
      const res = await request(t.app).post(PATH).send({ observations: [{ features: rows[8], probability: 0.15, prediction_id: 'ext-month' }] }).expect(200);
      assert.equal(res.body.observations[0].status, 'duplicate');
      assert.equal(await count(), before);
      assert.equal((await logged('ext-month'))!.event_ts_ms, at);
    });

    it('names the field and the value of a bad observation, and logs nothing of the request', async () => {
      const before = await count();
      const bad = async (observation: unknown, field: string, message: RegExp) => {
        const res = await request(t.app).post(PATH).send({ observations: [{ features: rows[3], probability: 0.1 }, { features: rows[4], probability: 0.1 }, { features: rows[5], probability: 0.2 }, observation] }).expect(400);
        assert.equal(res.body.error.field, field);
        assert.match(res.body.error.message, message);
      };
      await bad({ features: rows[6], probability: 1.5 }, 'observations[3].probability', /^observations\[3\]\.probability must be a number from 0 to 1 \(the model's score\), got 1\.5$/);
      await bad({ features: rows[6], probability: '0.5' }, 'observations[3].probability', /got "0\.5"$/);
      await bad({ features: { ...rows[6], LIMIT_BAL: 'a lot' }, probability: 0.5 }, 'observations[3].features.LIMIT_BAL', /^observations\[3\]\.features\.LIMIT_BAL must be a number, got "a lot"$/);
      await bad({ features: { ...rows[6], INCOME: 1 }, probability: 0.5 }, 'observations[3].features.INCOME', /is not a feature of this model/);
      await bad({ probability: 0.5 }, 'observations[3].features', /is missing/);
      await bad({ features: rows[6], probability: 0.5, decision: 2 }, 'observations[3].decision', /must be 0 or 1, got 2/);
      await bad({ features: rows[6], probability: 0.5, prediction_id: '' }, 'observations[3].prediction_id', /non-empty string/);
      await bad({ features: rows[6], probability: 0.5, event_time: 'yesterday' }, 'observations[3].event_time', /got "yesterday"/);
      await bad({ features: rows[6], probability: 0.5, score: 0.5 }, 'observations[3].score', /is not a field of an observation/);
      assert.equal(await count(), before);
      assert.equal((await request(t.app).post(PATH).send({ observations: [] }).expect(400)).body.error.code, 'empty_batch');
      assert.equal((await request(t.app).post(PATH).send({ features: rows[0] }).expect(400)).body.error.field, 'features');
      assert.equal((await request(t.app).post(PATH).set('content-type', 'application/json').send('{"observations": [').expect(400)).body.error.code, 'malformed_json');
      assert.equal((await request(t.app).post('/v1/models/no-such-model/observations').send({ observations: [] }).expect(404)).body.error.code, 'unknown_model');
    });

    it('joins labels to observations as to its own predictions', async () => {
      const res = await request(t.app).post('/v1/labels').send({ labels: [{ prediction_id: 'ext-1', label: 1 }, { prediction_id: 'ext-2', label: 0 }] }).expect(200);
      assert.equal(res.body.accepted, 2);
      const [label] = await t.query('SELECT label, model, probability FROM labels WHERE prediction_id = $1', ['ext-1']);
      assert.deepEqual({ ...label }, { label: 1, model: MODEL, probability: 0.35 });
    });

    it('answers 503 with Retry-After, accepting nothing, while the queue in front of the log is full', async () => {
      const before = await count();
      let release!: () => void;
      const held = t.admission.run(50, () => new Promise<void>((r) => { release = r; }));
      const res = await request(t.app).post(PATH).send({ observations: [{ features: rows[7], probability: 0.5, prediction_id: 'ext-full' }] }).expect(503);
      assert.equal(res.headers['retry-after'], '1');
      assert.equal(res.body.error.code, 'ingest_overloaded');
      assert.match(res.body.error.message, /50 rows behind \(VIGIA_INGEST_QUEUE_ROWS=50\); nothing of this request was accepted/);
      release();
      await held;
      assert.equal(await count(), before);
      await request(t.app).post(PATH).send({ observations: [{ features: rows[7], probability: 0.5, prediction_id: 'ext-full' }] }).expect(200);
    });

    it('refuses /predict on a monitor-only model, pointing at the observations route', async () => {
      const res = await request(t.app).post(`/v1/models/${MODEL}/predict`).send({ features: rows[0] }).expect(409);
      assert.equal(res.body.error.code, 'monitor_only');
      assert.match(res.body.error.message, /POST \/v1\/models\/credit-default-observed\/observations/);
      const models = await request(t.app).get('/v1/models').expect(200);
      assert.equal(models.body.models[0].monitor_only, true);
    });

    it('counts received, committed, duplicate and rejected observations on /metrics', async () => {
      const text = (await request(t.app).get('/metrics').expect(200)).text;
      const labels = `model="${MODEL}",channel="api"`;
      assert.match(text, new RegExp(`^vigia_ingest_committed_total\\{${labels}\\} 5$`, 'm'));
      assert.match(text, new RegExp(`^vigia_ingest_duplicates_total\\{${labels}\\} 2$`, 'm'));
      assert.match(text, new RegExp(`^vigia_ingest_rejected_total\\{${labels},reason="invalid"\\} \\d+$`, 'm'));
      assert.match(text, new RegExp(`^vigia_ingest_rejected_total\\{${labels},reason="overloaded"\\} 1$`, 'm'));
      assert.match(text, /^vigia_ingest_queue_rows 0$/m);
    });
  });

  describe(`observations on a model Vigia also scores (${engine.name})`, { skip: engine.skip }, () => {
    let t: IngestApp;
    before(async () => {
      t = await engine.open();
    });
    after(() => t.close());

    it('logs them beside its own predictions, told apart by source, and refuses an id already held by them', async () => {
      const scored = await request(t.app).post('/predict').send({ features: rows[0] }).expect(200);
      await request(t.app).post('/v1/models/credit-default/observations').send({ observations: [{ features: rows[1], probability: 0.3, prediction_id: 'shadow-1' }] }).expect(200);
      const sources = await t.query('SELECT id, source FROM predictions ORDER BY source DESC');
      assert.deepEqual(sources.map((r) => ({ ...r })), [{ id: scored.body.prediction_id, source: 'scored' }, { id: 'shadow-1', source: 'observed' }]);
      const same = await request(t.app).post('/v1/models/credit-default/observations').send({ observations: [{ features: rows[1], probability: 0.3, prediction_id: scored.body.prediction_id }] }).expect(200);
      assert.equal(same.body.observations[0].status, 'duplicate', 'the same model and id: the earlier row answers');
      assert.equal(same.body.observations[0].probability, scored.body.probability);
    });
  });

  after(() => engine.shutdown());
}
