import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import request from 'supertest';
import { PairExpiry } from '../../src/ingest/pair-expiry.js';
import { SqliteAuditLog } from '../../src/store/audit-log.js';
import { openDatabase } from '../../src/store/database.js';
import { MONITOR_ONLY_MODELS, tempDir } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { ingestEngines, type IngestApp } from '../helpers/ingest-app.js';
import { kserveHeaders, v1Request, v1Response, v2Request, v2Response } from '../helpers/kserve.js';

const MODEL = 'credit-default-observed';
const PATH = `/v1/models/${MODEL}/cloudevents`;
const rows = demoRows(30);

for (const engine of ingestEngines()) {
  describe(`POST /v1/models/{model}/cloudevents (KServe payload logger, ${engine.name})`, { skip: engine.skip }, () => {
    let t: IngestApp;
    before(async () => {
      t = await engine.open({ modelsDir: MONITOR_ONLY_MODELS });
    });
    after(() => t.close());
    const send = (half: 'request' | 'response', id: string, body: unknown, contentType?: string) =>
      request(t.app).post(PATH).set(kserveHeaders(half, id, contentType === undefined ? {} : { contentType })).send(JSON.stringify(body));
    const logged = (requestId: string) => t.query<{ id: string; features: string; probability: number; decision: number; band: string; source: string }>(
      'SELECT id, features, probability, decision, band, source FROM predictions WHERE request_id = $1 ORDER BY id', [requestId]);

    it('pairs a v1 request and its response by ce-id and logs each instance as an observation', async () => {
      const req = await send('request', 'v1-a', v1Request(rows.slice(0, 3))).expect(200);
      assert.deepEqual(req.body, { id: 'v1-a', type: 'request', status: 'waiting' });
      assert.deepEqual(await logged('v1-a'), [], 'nothing is logged from one half');
      const res = await send('response', 'v1-a', v1Response([0.1, 0.3, 0.7])).expect(200);
      assert.deepEqual(res.body, { id: 'v1-a', type: 'response', status: 'paired', rows: 3, duplicateRows: 0 });
      const got = await logged('v1-a');
      assert.deepEqual(got.map((r) => [r.id, r.probability, r.decision, r.band, r.source]), [
        ['v1-a/0', 0.1, 0, 'low', 'observed'], ['v1-a/1', 0.3, 1, 'moderate', 'observed'], ['v1-a/2', 0.7, 1, 'critical', 'observed'],
      ]);
      assert.deepEqual(JSON.parse(got[1]!.features), rows[1], 'the positional values are mapped to the manifest features');
    });

    it('pairs a v2 response that arrives before its request, reading the named probability output at the positive column', async () => {
      const scores = [0.25, 0.05];
      await send('response', 'v2-b', v2Response(scores)).expect(200, { id: 'v2-b', type: 'response', status: 'waiting' });
      await send('request', 'v2-b', v2Request(rows.slice(3, 5))).expect(200);
      const got = await logged('v2-b');
      assert.deepEqual(got.map((r) => r.id), ['v2-b/0', 'v2-b/1']);
      assert.deepEqual(got.map((r) => Math.fround(r.probability)), scores.map(Math.fround));
      assert.deepEqual(JSON.parse(got[0]!.features), rows[3]);
    });

    it('answers a half received twice as a duplicate, before and after pairing, and logs each row once', async () => {
      await send('request', 'dup-c', v1Request([rows[5]!])).expect(200);
      assert.equal((await send('request', 'dup-c', v1Request([rows[5]!])).expect(200)).body.status, 'duplicate');
      assert.equal((await send('response', 'dup-c', v1Response([0.6])).expect(200)).body.status, 'paired');
      assert.equal((await send('response', 'dup-c', v1Response([0.6])).expect(200)).body.status, 'duplicate');
      assert.equal((await send('request', 'dup-c', v1Request([rows[5]!])).expect(200)).body.status, 'duplicate');
      assert.deepEqual((await logged('dup-c')).map((r) => r.id), ['dup-c'], 'one instance: the prediction id is the ce-id');
    });

    it('maps v2 inputs given one tensor per feature by name, and v1 instances given as objects', async () => {
      const names = Object.keys(rows[6]!);
      const inputs = names.map((n) => ({ name: n, shape: [2, 1], datatype: 'FP64', data: [[rows[6]![n]], [rows[7]![n]]] }));
      await send('request', 'named-d', { inputs }).expect(200);
      await send('response', 'named-d', { outputs: [{ name: 'probabilities', shape: [2, 2], datatype: 'FP64', data: [[0.9, 0.1], [0.8, 0.2]] }] }).expect(200);
      assert.deepEqual((await logged('named-d')).map((r) => JSON.parse(r.features)), [rows[6], rows[7]]);
      await send('request', 'object-e', { instances: [rows[8]] }, '').expect(200);
      await send('response', 'object-e', { predictions: [0.4] }, '').expect(200);
      assert.equal((await logged('object-e'))[0]!.probability, 0.4, 'a bare number is the score; the body is read as JSON whatever its Content-Type');
    });

    it('joins labels to a pair by its ce-id', async () => {
      const res = await request(t.app).post('/v1/labels').send({ labels: [{ prediction_id: 'dup-c', label: 1 }, { prediction_id: 'v1-a/2', label: 1 }] }).expect(200);
      assert.equal(res.body.accepted, 2);
    });

    it('refuses what is not a KServe inference CloudEvent, naming the header or field and its value', async () => {
      const bad = async (headers: Record<string, string>, body: unknown, status: number, field: string | undefined, message: RegExp) => {
        const res = await request(t.app).post(PATH).set(headers).send(JSON.stringify(body)).expect(status);
        assert.equal(res.body.error.field, field);
        assert.match(res.body.error.message, message);
      };
      const ok = kserveHeaders('request', 'bad-f');
      await bad({ ...ok, 'Ce-Type': 'org.kubeflow.serving.inference.explain' }, v1Request([rows[9]!]), 400, 'ce-type', /ce-type must be org\.kubeflow\.serving\.inference\.request or org\.kubeflow\.serving\.inference\.response, got "org\.kubeflow\.serving\.inference\.explain"/);
      await bad({ ...ok, 'Ce-Specversion': '0.3' }, v1Request([rows[9]!]), 400, 'ce-specversion', /got "0\.3"/);
      await bad({ ...ok, 'Ce-Id': '' }, v1Request([rows[9]!]), 400, 'ce-id', /ce-id must be a non-empty id/);
      await bad({ ...ok, 'Content-Type': 'application/cloudevents+json' }, v1Request([rows[9]!]), 415, 'content-type', /binary mode/);
      await bad(ok, { instances: [[1, 2, 3]] }, 400, 'instances[0]', /instances\[0\] holds 3 values, but the model has 23 features/);
      await bad(ok, { instances: [{ ...rows[9], LIMIT_BAL: 'x' }] }, 400, 'instances[0].LIMIT_BAL', /must be a number, got "x"/);
      await bad(ok, { data: [] }, 400, undefined, /neither "instances" \(KServe v1\) nor "inputs" \(KServe v2\)/);
      await bad(kserveHeaders('response', 'bad-f'), { predictions: [[0.1, 3]] }, 400, 'predictions[0][1]', /must be a probability from 0 to 1, got 3/);
      await bad(kserveHeaders('response', 'bad-f'), { outputs: [{ name: 'label', shape: [1], datatype: 'INT64', data: [1] }] }, 400, 'outputs', /none is "probabilities" \(serving\.output\)/);
      assert.deepEqual(await logged('bad-f'), []);
      assert.deepEqual(await t.query("SELECT ce_id FROM cloudevents WHERE ce_id = 'bad-f'"), [], 'a refused half is not kept');
    });

    it('keeps a pair whose row counts differ, logs none of its rows, and says why', async () => {
      await send('request', 'mismatch-g', v1Request(rows.slice(10, 12))).expect(200);
      const res = await send('response', 'mismatch-g', v1Response([0.5])).expect(200);
      assert.deepEqual(res.body, { id: 'mismatch-g', type: 'response', status: 'mismatch', problem: 'the request holds 2 instance(s) but the response 1 score(s)' });
      assert.deepEqual(await logged('mismatch-g'), []);
    });

    it('counts halves unpaired after the timeout, keeps them, and still pairs a late partner', async () => {
      await send('request', 'late-h', v1Request([rows[12]!])).expect(200);
      const swept: { expired: number; waiting: number }[] = [];
      const expiry = new PairExpiry({ store: t.store, timeoutMs: 60_000, intervalMs: 3_600_000, now: () => Date.now() + 120_000, onSwept: (o) => swept.push(o), onError: (e) => assert.fail(e) });
      await expiry.sweep();
      await expiry.sweep();
      await expiry.close();
      assert.deepEqual(swept, [{ expired: 1, waiting: 0 }, { expired: 0, waiting: 0 }], 'counted once');
      assert.notEqual((await t.query<{ expired_ms: number | null }>("SELECT expired_ms FROM cloudevents WHERE ce_id = 'late-h'"))[0]!.expired_ms, null);
      await send('response', 'late-h', v1Response([0.2])).expect(200);
      assert.equal((await logged('late-h')).length, 1);
    });

    it('counts CloudEvent halves received, rows committed, duplicates and rejections on /metrics', async () => {
      const text = (await request(t.app).get('/metrics').expect(200)).text;
      const labels = `model="${MODEL}",channel="kserve"`;
      assert.match(text, new RegExp(`^vigia_ingest_committed_total\\{${labels}\\} 10$`, 'm'));
      assert.match(text, new RegExp(`^vigia_ingest_duplicates_total\\{${labels}\\} 3$`, 'm'));
      assert.match(text, new RegExp(`^vigia_ingest_rejected_total\\{${labels},reason="invalid"\\} 9$`, 'm'));
      assert.match(text, new RegExp(`^vigia_ingest_rejected_total\\{${labels},reason="mismatch"\\} 1$`, 'm'));
    });
  });

  after(() => engine.shutdown());
}

describe('a CloudEvent half waiting for its partner', () => {
  const tmp = tempDir();
  after(() => tmp.remove());

  it('survives a restart of the log and pairs with a partner that arrives after it', async () => {
    const path = join(tmp.dir, 'vigia.db');
    openDatabase({ path, synchronous: 'FULL' }).close();
    const policy = { version: '1', threshold: 0.5, bands: [['high', 0.5], ['low', 0]] as const, bundleHash: 'b' };
    const first = await SqliteAuditLog.open({ path, synchronous: 'FULL' });
    assert.deepEqual(await first.recordHalf({ model: 'm', ceId: 'x', half: 'request', payload: JSON.stringify([{ a: 1 }]), receivedMs: 1000, policy }), { status: 'waiting' });
    await first.close();
    const second = await SqliteAuditLog.open({ path, synchronous: 'FULL' });
    assert.deepEqual(await second.recordHalf({ model: 'm', ceId: 'x', half: 'response', payload: '[0.75]', receivedMs: 2000, policy }), { status: 'paired', rows: 1, duplicateRows: 0 });
    await second.close();
    const db = openDatabase({ path, synchronous: 'FULL' });
    assert.deepEqual(db.prepare("SELECT id, features, probability, decision, band, event_ts_ms, ts_ms, source FROM predictions").all(), [
      { id: 'x', features: '{"a":1}', probability: 0.75, decision: 1, band: 'high', event_ts_ms: 1000, ts_ms: 2000, source: 'observed' },
    ]);
    assert.deepEqual(db.prepare('SELECT request, response, paired_ms FROM cloudevents').get(), { request: null, response: null, paired_ms: 2000 });
    db.close();
  });
});
