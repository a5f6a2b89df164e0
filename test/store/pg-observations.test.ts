import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type pg from 'pg';
import type { AuditRecord, EventHalf, HalfOutcome } from '../../src/store/audit-log.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { PgObservationStore } from '../../src/store/pg-observations.js';
import { openPostgres } from '../../src/store/postgres.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const skip = postgresMissing();
let cluster: PgCluster;
let n = 0;
const NOW = Date.now();
const policy = { version: '1', threshold: 0.5, bands: [['high', 0.5], ['low', 0]] as const, bundleHash: 'b' };
const half = (ceId: string, which: 'request' | 'response', receivedMs = NOW, rows = 1): EventHalf => ({
  model: 'm', ceId, half: which, receivedMs, policy,
  payload: JSON.stringify(which === 'request' ? Array.from({ length: rows }, (_, i) => ({ a: i })) : Array.from({ length: rows }, () => 0.75)),
});
const observation = (id: string, eventTsMs = NOW, probability = 0.3): AuditRecord => ({
  id, requestId: 'r', tsMs: NOW, eventTsMs, model: 'm', modelVersion: '1', features: { a: 1 },
  probability, decision: 0, band: 'low', threshold: 0.5, latencyMs: 0, traceId: '', source: 'observed',
});

/** One fleet replica's stores: its own pool on the shared database. */
async function replica(url: string) {
  const pool = await openPostgres({ url, poolSize: 8 });
  const store = new PgObservationStore(pool);
  const audit = new PgAuditLog(pool);
  return { pool, store, audit, close: async () => { await store.close(); await audit.close(); await pool.end(); } };
}

async function count(pool: pg.Pool, sql: string, params: unknown[] = []): Promise<number> {
  return Number((await pool.query<{ n: string }>(sql, params)).rows[0]!.n);
}

describe('PgObservationStore: ingest across fleet replicas', { skip }, () => {
  let url: string;
  let a: Awaited<ReturnType<typeof replica>>;
  let b: Awaited<ReturnType<typeof replica>>;
  before(async () => {
    cluster = await startPostgres();
    url = await cluster.createDatabase(`obs${n++}`);
    a = await replica(url);
    b = await replica(url);
  });
  after(async () => {
    await a?.close();
    await b?.close();
    await cluster?.close();
  });

  it('pairs a request received by one replica with its response received by another', async () => {
    assert.deepEqual(await a.store.recordHalf(half('ab-1', 'request')), { status: 'waiting' });
    assert.deepEqual(await b.store.recordHalf(half('ab-1', 'response', NOW + 5)), { status: 'paired', rows: 1, duplicateRows: 0 });
    const row = (await a.pool.query('SELECT id, features, probability, band, event_ts_ms, ts_ms, source FROM predictions WHERE request_id = $1', ['ab-1'])).rows;
    assert.deepEqual(row, [{ id: 'ab-1', features: '{"a":0}', probability: 0.75, band: 'high', event_ts_ms: String(NOW), ts_ms: String(NOW + 5), source: 'observed' }]);
  });

  it('pairs each ce-id exactly once when its two halves reach two replicas at the same moment', async () => {
    const ids = Array.from({ length: 60 }, (_, i) => `race-${i}`);
    const outcomes = await Promise.all(ids.flatMap((id, i) => [
      (i % 2 === 0 ? a : b).store.recordHalf(half(id, 'request', NOW, 2)),
      (i % 2 === 0 ? b : a).store.recordHalf(half(id, 'response', NOW, 2)),
    ]));
    const statuses = outcomes.map((o: HalfOutcome) => o.status);
    assert.equal(statuses.filter((s) => s === 'paired').length, ids.length, 'one half of each pair pairs');
    assert.equal(statuses.filter((s) => s === 'waiting').length, ids.length, 'the other waits');
    assert.equal(await count(a.pool, "SELECT count(*) AS n FROM predictions WHERE request_id LIKE 'race-%'"), ids.length * 2, 'every row of every pair, once');
    assert.equal(await count(a.pool, "SELECT count(*) AS n FROM cloudevents WHERE ce_id LIKE 'race-%' AND paired_ms IS NOT NULL AND request IS NULL AND response IS NULL"), ids.length);
  });

  it('answers a half that came again through another replica as a duplicate, before and after pairing', async () => {
    await a.store.recordHalf(half('again-1', 'request'));
    assert.deepEqual(await b.store.recordHalf(half('again-1', 'request')), { status: 'duplicate' });
    await b.store.recordHalf(half('again-1', 'response'));
    assert.deepEqual(await a.store.recordHalf(half('again-1', 'response')), { status: 'duplicate' });
    assert.equal(await count(a.pool, "SELECT count(*) AS n FROM predictions WHERE request_id = 'again-1'"), 1);
  });

  it('logs an observation sent to two replicas at once exactly once, whatever the order of the batches', async () => {
    const ids = Array.from({ length: 200 }, (_, i) => `both-${String(i).padStart(3, '0')}`);
    const [fromA, fromB] = await Promise.all([
      a.store.observe(ids.map((id) => observation(id))),
      b.store.observe([...ids].reverse().map((id) => observation(id, NOW + 1000))),
    ]);
    const created = [...fromA, ...fromB].filter((o) => o.status === 'created').length;
    assert.equal(created, ids.length, 'each id created by one replica');
    assert.equal([...fromA, ...fromB].filter((o) => o.status === 'duplicate').length, ids.length, 'and a duplicate on the other');
    assert.equal(await count(a.pool, "SELECT count(*) AS n FROM predictions WHERE id LIKE 'both-%'"), ids.length);
  });

  it('recognises a retry on another replica even when its event time puts it in another partition', async () => {
    const earlier = Date.UTC(2025, 0, 15);
    assert.equal((await a.store.observe([observation('moved-1', earlier, 0.6)]))[0]!.status, 'created');
    const retry = await b.store.observe([observation('moved-1', NOW, 0.1)]);
    assert.deepEqual(retry, [{ status: 'duplicate', probability: 0.6, decision: 0, band: 'low' }], 'the first try answers');
    assert.equal(await count(a.pool, "SELECT count(*) AS n FROM predictions WHERE id = 'moved-1'"), 1);
  });

  it('answers an id of another model as a conflict, and a repeated id within a batch as a duplicate of its first row', async () => {
    const other = { ...observation('conflict-1'), model: 'other' };
    await a.store.observe([observation('conflict-1')]);
    const [conflict] = await b.store.observe([other]);
    assert.equal(conflict!.status, 'conflict');
    const twice = await a.store.observe([observation('twice-1', NOW, 0.2), observation('twice-1', NOW, 0.9)]);
    assert.deepEqual(twice.map((o) => [o.status, o.probability]), [['created', 0.2], ['duplicate', 0.2]]);
  });

  it('joins a label received by one replica to an observation logged by another', async () => {
    await a.store.observe([observation('labelled-1')]);
    const outcome = await b.audit.recordLabels([['labelled-1', 1, NOW + 60_000]], NOW + 60_000);
    assert.equal(outcome.accepted, 1);
    assert.deepEqual((await a.pool.query('SELECT label, model, probability FROM labels WHERE prediction_id = $1', ['labelled-1'])).rows, [{ label: 1, model: 'm', probability: 0.3 }]);
  });

  it('counts each unpaired half once in the fleet when every replica sweeps at the same time, and still pairs a late partner', async () => {
    for (let i = 0; i < 20; i++) await (i % 2 === 0 ? a : b).store.recordHalf(half(`lonely-${i}`, 'request', NOW - 600_000));
    const sweeps = await Promise.all([a, b, a, b].map((r) => r.store.expireHalves(NOW - 300_000, NOW)));
    assert.equal(sweeps.reduce((s, o) => s + o.expired, 0), 20, 'each half counted by one sweep');
    assert.deepEqual(await a.store.expireHalves(NOW - 300_000, NOW), { expired: 0, waiting: 0 });
    assert.equal((await b.store.recordHalf(half('lonely-3', 'response'))).status, 'paired');
  });

  it('keeps a waiting half through a restart of the replica that took it, and pairs it with a partner that comes afterwards', async () => {
    const first = await replica(url);
    assert.deepEqual(await first.store.recordHalf(half('restart-1', 'response')), { status: 'waiting' });
    await first.close();
    const second = await replica(url);
    assert.deepEqual(await second.store.recordHalf(half('restart-1', 'request', NOW + 10)), { status: 'paired', rows: 1, duplicateRows: 0 });
    await second.close();
  });

  it('pairs a half whose partner came in a month whose partition retention has since dropped', async () => {
    const old = Date.UTC(2024, 2, 10);
    await a.store.recordHalf(half('old-month-1', 'request', old));
    await a.pool.query('DROP TABLE predictions_202403');
    const paired = await b.store.recordHalf(half('old-month-1', 'response'));
    assert.deepEqual(paired, { status: 'paired', rows: 1, duplicateRows: 0 });
    assert.equal(await count(a.pool, "SELECT count(*) AS n FROM predictions_202403 WHERE id = 'old-month-1'"), 1, 'the partition of the first half\'s time is made again');
  });

  it('refuses work once closed, naming the log as closed', async () => {
    const r = await replica(url);
    await r.close();
    await assert.rejects(r.store.observe([observation('closed-1')]), /the audit log is closed/);
  });
});
