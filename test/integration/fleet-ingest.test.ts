import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { AUDIT_LOG_LANES } from '../../src/store/pg-audit-log.js';
import { MONITOR_ONLY_MODELS, tempDir } from '../helpers/app.js';
import { demoRows } from '../helpers/demo-rows.js';
import { kserveHeaders, v1Request, v1Response } from '../helpers/kserve.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { runVigiaCommand, startVigia, type VigiaProcess } from '../helpers/process.js';
import { waitFor } from '../helpers/stack.js';

const skip = postgresMissing();
const MODEL = 'credit-default-observed';
const rows = demoRows(5);
let cluster: PgCluster;
let replicas: VigiaProcess[] = [];

const post = (r: VigiaProcess, path: string, body: unknown, headers: Record<string, string> = { 'content-type': 'application/json' }) =>
  fetch(`${r.url}${path}`, { method: 'POST', headers, body: JSON.stringify(body) }).then(async (res) => ({ status: res.status, body: (await res.json()) as Record<string, unknown> }));
const half = (r: VigiaProcess, which: 'request' | 'response', id: string, body: unknown) => post(r, `/v1/models/${MODEL}/cloudevents`, body, kserveHeaders(which, id));
const metric = async (r: VigiaProcess, name: string) => Number(new RegExp(`^${name} (\\S+)$`, 'm').exec(await (await fetch(`${r.url}/metrics`)).text())?.[1] ?? NaN);

describe('the ingest routes on a fleet of two vigia serve replicas on one PostgreSQL', { skip }, () => {
  before(async () => {
    cluster = await startPostgres();
    const env = { VIGIA_DB: cluster.url, VIGIA_MODELS_DIR: MONITOR_ONLY_MODELS, VIGIA_LOG_LEVEL: 'error', VIGIA_LEADER_POLL: '200ms', VIGIA_EVAL_INTERVAL: '0s', VIGIA_INGEST_PAIR_TIMEOUT: '1s' };
    replicas = [await startVigia({ ...env, VIGIA_REPLICA_ID: 'r1' }), await startVigia({ ...env, VIGIA_REPLICA_ID: 'r2' })];
  });
  after(async () => {
    for (const r of replicas) r.proc.kill('SIGTERM');
    await Promise.all(replicas.map((r) => r.exited));
    await cluster?.close();
  });

  it('pairs a CloudEvent request taken by one replica with its response taken by the other, and joins a label sent to either', async () => {
    const [r1, r2] = replicas as [VigiaProcess, VigiaProcess];
    assert.deepEqual((await half(r1, 'request', 'fleet-1', v1Request([rows[0]!]))).body, { id: 'fleet-1', type: 'request', status: 'waiting' });
    assert.deepEqual((await half(r2, 'response', 'fleet-1', v1Response([0.42]))).body, { id: 'fleet-1', type: 'response', status: 'paired', rows: 1, duplicateRows: 0 });
    const first = await post(r2, `/v1/models/${MODEL}/observations`, { observations: [{ features: rows[1], probability: 0.3, prediction_id: 'fleet-obs-1' }] });
    assert.equal(first.status, 200);
    const retry = await post(r1, `/v1/models/${MODEL}/observations`, { observations: [{ features: rows[1], probability: 0.9, prediction_id: 'fleet-obs-1' }] });
    assert.deepEqual((retry.body['observations'] as unknown[])[0], { prediction_id: 'fleet-obs-1', status: 'duplicate', probability: 0.3, decision: 1, band: 'moderate' });
    const labels = await post(r1, '/v1/labels', { labels: [{ prediction_id: 'fleet-1', label: 1 }, { prediction_id: 'fleet-obs-1', label: 0 }] });
    assert.equal(labels.body['accepted'], 2);
  });

  it('counts a half whose partner never came once across the replicas, both sweeping', async () => {
    const [r1, r2] = replicas as [VigiaProcess, VigiaProcess];
    await half(r1, 'request', 'fleet-lonely', v1Request([rows[2]!]));
    const total = await waitFor('the unpaired half to be counted', 20_000, async () => {
      const n = (await metric(r1, 'vigia_ingest_unpaired_total')) + (await metric(r2, 'vigia_ingest_unpaired_total'));
      return n >= 1 ? n : undefined;
    });
    // Both replicas sweep every second: a few more sweeps must not count it again.
    await new Promise((r) => setTimeout(r, 2500));
    assert.equal((await metric(r1, 'vigia_ingest_unpaired_total')) + (await metric(r2, 'vigia_ingest_unpaired_total')), total);
    assert.equal(total, 1);
    assert.equal(await metric(r2, 'vigia_ingest_waiting_halves'), 0);
  });

  it('chains what both replicas logged: audit verify finds the log intact with no row uncovered, each replica\'s observations on lanes after its audit log\'s', async () => {
    const [r1, r2] = replicas as [VigiaProcess, VigiaProcess];
    await post(r1, `/v1/models/${MODEL}/observations`, { observations: [{ features: rows[3], probability: 0.6, prediction_id: 'fleet-chain-1' }] });
    await half(r1, 'request', 'fleet-chain-2', v1Request([rows[4]!]));
    await half(r2, 'response', 'fleet-chain-2', v1Response([0.1]));
    const client = new pg.Client({ connectionString: cluster.url });
    await client.connect();
    const tmp = tempDir();
    try {
      const logged = Number((await client.query<{ n: string }>('SELECT count(*) AS n FROM predictions')).rows[0]!.n);
      const run = await runVigiaCommand(['audit', 'verify', '--db', cluster.url, '--archive-dir', join(tmp.dir, 'none')]);
      assert.equal(run.code, 0, run.output);
      assert.match(run.stdout, new RegExp(`intact — ${logged} rows in \\d+ links of \\d+ writers verified in [\\d.]+ s; register head [0-9a-f]{64}\n$`), 'every row covered: no "not covered" count');
      // Monitor-only models: every writer is an observation store's, numbered after the audit log's lanes.
      const writers = (await client.query<{ replica: string; lane: number }>('SELECT DISTINCT replica, lane FROM audit_writers ORDER BY 1, 2')).rows;
      assert.deepEqual(writers, [{ replica: 'r1', lane: AUDIT_LOG_LANES }, { replica: 'r2', lane: AUDIT_LOG_LANES }]);
    } finally {
      tmp.remove();
      await client.end();
    }
  });
});
