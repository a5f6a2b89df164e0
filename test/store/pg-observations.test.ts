import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { verifyArchives } from '../../src/store/archive-verify.js';
import type { AuditRecord, EventHalf, HalfOutcome } from '../../src/store/audit-log.js';
import { AUDIT_LOG_LANES, PgAuditLog } from '../../src/store/pg-audit-log.js';
import { verifyPgAuditLog } from '../../src/store/pg-audit-verify.js';
import { PgObservationStore } from '../../src/store/pg-observations.js';
import { pgRetentionPass } from '../../src/store/pg-retention.js';
import { openPostgres } from '../../src/store/postgres.js';
import { tempDir } from '../helpers/app.js';
import { appendConcurrently } from '../helpers/appends.js';
import { runVigiaCommand } from '../helpers/process.js';
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

describe('PgObservationStore: observations in the hash chain', { skip }, () => {
  let chainCluster: PgCluster;
  const tmp = tempDir();
  before(async () => {
    chainCluster = await startPostgres();
  });
  after(async () => {
    await chainCluster?.close();
    tmp.remove();
  });

  /** A fresh database, two named replicas (audit log and observation store on one pool each), and a client to verify and tamper with. */
  async function fleet() {
    const url = await chainCluster.createDatabase(`chain${n++}`);
    const named = async (name: string) => {
      const pool = await openPostgres({ url, poolSize: 8 });
      const store = new PgObservationStore(pool, { replica: name });
      const audit = new PgAuditLog(pool, undefined, { replica: name });
      return { pool, store, audit, close: async () => { await store.close(); await audit.close(); await pool.end(); } };
    };
    const one = await named('vigia-1');
    const two = await named('vigia-2');
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    const archiveDir = join(tmp.dir, `archive-${n}`);
    return {
      url, one, two, client, archiveDir,
      verify: () => verifyPgAuditLog(client, verifyArchives(archiveDir, 'postgres')),
      sql: async <T extends pg.QueryResultRow>(text: string, params: unknown[] = []) => (await client.query<T>(text, params)).rows,
      close: async () => { await client.end(); await one.close(); await two.close(); },
    };
  }

  it('chains the observations and the CloudEvent pairs it logs: verify finds every row covered, none unchained', async () => {
    const db = await fleet();
    await db.one.store.observe(Array.from({ length: 50 }, (_, i) => observation(`obs-${i}`)));
    await db.one.store.recordHalf(half('pair-1', 'request', NOW, 3));
    assert.equal((await db.two.store.recordHalf(half('pair-1', 'response', NOW, 3))).status, 'paired');
    assert.deepEqual(await db.sql('SELECT count(*)::int AS n FROM predictions WHERE writer IS NULL OR seq IS NULL OR row_hash IS NULL'), [{ n: 0 }]);
    const r = await db.verify();
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.unchained, 0);
    assert.equal(r.rows, 53);
    const writers = await db.sql<{ replica: string; lane: number }>('SELECT replica, lane FROM audit_writers ORDER BY n');
    assert.deepEqual(writers, [{ replica: 'vigia-1', lane: AUDIT_LOG_LANES }, { replica: 'vigia-2', lane: AUDIT_LOG_LANES }], "each replica's observations on a lane after its audit log's");
    await db.close();
  });

  it('finds one altered byte of an observed row and names the row and its writer', async () => {
    const db = await fleet();
    await db.one.store.observe(Array.from({ length: 20 }, (_, i) => observation(`alter-${i}`)));
    await db.one.store.recordHalf(half('alter-pair', 'request'));
    await db.one.store.recordHalf(half('alter-pair', 'response'));
    // An observation through the API, then a row of a CloudEvent pair: one byte of its features, each put back after.
    for (const [id, was, altered] of [['alter-7', '{"a":1}', '{"a":2}'], ['alter-pair', '{"a":0}', '{"a":1}']] as const) {
      const [target] = await db.sql<{ writer: string; seq: number }>('SELECT writer, seq::int AS seq FROM predictions WHERE id = $1', [id]);
      await db.sql('UPDATE predictions SET features = $1 WHERE id = $2 AND features = $3', [altered, id, was]);
      const r = await db.verify();
      assert.equal(r.ok, false, id);
      assert.equal(r.firstBreak?.id, id);
      assert.equal(r.firstBreak?.writer, target!.writer);
      assert.equal(r.firstBreak?.reason, `row seq ${target!.seq} (prediction ${id}) of writer ${target!.writer} does not match its hash: it was altered after it was committed`);
      await db.sql('UPDATE predictions SET features = $1 WHERE id = $2', [was, id]);
      assert.equal((await db.verify()).ok, true, `${id} put back`);
    }
    await db.close();
  });

  it('chains nothing for a retry or an id another model holds, and only the new rows of a batch mixing them', async () => {
    const db = await fleet();
    await db.one.store.observe([observation('retry-1'), observation('retry-2')]);
    const links = async () => (await db.sql<{ n: number }>('SELECT count(*)::int AS n FROM audit_links'))[0]!.n;
    const before = await links();
    const retried = await db.two.store.observe([observation('retry-1', NOW + 1000), { ...observation('retry-2'), model: 'other' }]);
    assert.deepEqual(retried.map((o) => o.status), ['duplicate', 'conflict']);
    assert.equal(await links(), before, 'a transaction that logs nothing adds no link');
    assert.deepEqual(db.two.store.writers, [], 'nor takes a lane');
    await db.one.store.observe([observation('retry-1'), observation('retry-3'), observation('retry-2')]);
    assert.equal(await links(), before + 1);
    assert.deepEqual(await db.sql("SELECT id, seq::int AS seq FROM predictions WHERE id LIKE 'retry-%' ORDER BY seq"), [{ id: 'retry-1', seq: 1 }, { id: 'retry-2', seq: 2 }, { id: 'retry-3', seq: 3 }]);
    const r = await db.verify();
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.rows, 3);
    await db.close();
  });

  it('retires the writer of a lane whose transaction failed, and the chains still verify with no gap', async () => {
    const db = await fleet();
    await db.one.store.observe([observation('fail-1')]);
    const [first] = db.one.store.writers;
    // PostgreSQL refuses a NUL in text: the INSERT of the rows fails after their ids were claimed.
    await assert.rejects(db.one.store.observe([{ ...observation('fail-2'), requestId: 'r\u0000' }]), /the observations could not be committed/);
    assert.equal((await db.one.store.observe([observation('fail-2')]))[0]!.status, 'created', 'the failed transaction claimed nothing');
    assert.equal(db.one.store.writers.length, 1);
    assert.notEqual(db.one.store.writers[0], first, 'the lane took a new writer');
    const r = await db.verify();
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.writers, 2);
    assert.equal(r.rows, 2);
    await db.close();
  });

  it('verifies the chains of two replicas logging observations and CloudEvent pairs while they score predictions, all at once', async () => {
    const db = await fleet();
    const scored = (prefix: string, i: number): AuditRecord => ({ ...observation(`${prefix}-${i}`, NOW, (i % 10) / 10), source: 'scored' });
    await Promise.all([db.one, db.two].flatMap((r, k) => [
      appendConcurrently(r.audit, 400, (id) => scored(`scored-${k}`, Number(id.slice(1)))),
      // Batches sharing ids across the replicas: each id logged by one, the other answered a duplicate.
      ...Array.from({ length: 30 }, (_, b) => r.store.observe(Array.from({ length: 10 }, (_x, i) => observation(`shared-${(b * 10 + i + k * 150) % 300}`)))),
      ...Array.from({ length: 30 }, (_, p) => r.store.recordHalf(half(`ce-${p}`, k === 0 ? 'request' : 'response', NOW, 2))),
    ]));
    assert.deepEqual(await db.sql("SELECT count(*)::int AS n FROM predictions WHERE id LIKE 'shared-%' OR id LIKE 'ce-%'"), [{ n: 300 + 60 }]);
    const r = await db.verify();
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.unchained, 0);
    assert.equal(r.rows, 800 + 360);
    const lanes = await db.sql<{ replica: string; lane: number; n: number }>('SELECT replica, lane, count(*)::int AS n FROM audit_writers GROUP BY 1, 2 ORDER BY 1, 2');
    assert.ok(lanes.every((l) => l.n === 1), `one writer per lane of each replica: ${JSON.stringify(lanes)}`);
    assert.ok(lanes.some((l) => l.lane >= AUDIT_LOG_LANES + 1), 'concurrent observation transactions of one replica took lanes of their own');
    await db.close();
  });

  it('archives chained observations with retention and verifies them across the archives and the database', async () => {
    const db = await fleet();
    const JAN = Date.UTC(2024, 0, 10);
    const MAR = Date.UTC(2024, 2, 10);
    for (const t of [JAN, MAR]) {
      await db.one.store.observe(Array.from({ length: 40 }, (_, i) => observation(`ret-${t}-${i}`, t)));
      await db.two.store.recordHalf(half(`ret-ce-${t}`, 'request', t, 5));
      await db.one.store.recordHalf(half(`ret-ce-${t}`, 'response', t, 5));
      await appendConcurrently(db.two.audit, 30, (id) => ({ ...observation(`ret-scored-${t}-${id}`, t), source: 'scored' }));
    }
    const pass = await pgRetentionPass(db.client, { cutoffMs: Date.UTC(2024, 1, 1), nowMs: MAR, archiveDir: db.archiveDir, sizeBudgetBytes: 0, replica: 'test', linkRows: 20, rowsPerFile: 40 });
    assert.deepEqual(pass.months, ['predictions_202401']);
    assert.equal(pass.rows, 75);
    const r = await db.verify();
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.rows, 75, 'the live rows; the archived ones are checked in the archives');
    assert.equal(r.unchained, 0);
    const run = await runVigiaCommand(['audit', 'verify', '--db', db.url, '--archive-dir', db.archiveDir]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.stdout, /intact — 75 rows in \d+ links of \d+ writers verified after 75 archived rows in 2 files in [\d.]+ s; register head/, 'nothing counted as not covered');

    await db.sql(`UPDATE predictions SET probability = 0.31 WHERE id = 'ret-${MAR}-3'`);
    const broken = await db.verify();
    assert.equal(broken.ok, false);
    assert.equal(broken.firstBreak?.id, `ret-${MAR}-3`);
    await db.close();
  });
});
