import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { PgWindowBuckets } from '../../src/store/pg-window-buckets.js';
import { connectionConfig, ensurePartitions, openPostgres } from '../../src/store/postgres.js';
import { BUCKET_MS, SqliteWindowBuckets } from '../../src/store/window-buckets.js';
import { openDatabase } from '../../src/store/database.js';
import { tempDir } from '../helpers/app.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { smallLayout } from '../helpers/small-layout.js';

const skip = postgresMissing();
let cluster: PgCluster;
let n = 0;
const tmp = tempDir();
const layout = smallLayout();
const T0 = Date.UTC(2026, 0, 1);
const HOUR = BUCKET_MS;

async function fresh() {
  const url = await cluster.createDatabase(`b${n++}`);
  const pool = await openPostgres({ url, poolSize: 8 });
  const log = new PgAuditLog(pool);
  const clients: pg.Client[] = [];
  const client = async () => {
    const c = new pg.Client(connectionConfig(url));
    await c.connect();
    clients.push(c);
    return c;
  };
  // The month of T0, for the rows a test inserts by hand (the audit log creates it as needed).
  await ensurePartitions(await client(), [T0]);
  let id = 0;
  const row = (ts: number, a: number, p = 0.1, model = 'm') => ({
    id: `id${id++}`, requestId: 'r', tsMs: ts, eventTsMs: ts, model, modelVersion: '1', features: { a, c: a % 4 }, probability: p, decision: 0 as const, band: 'low', threshold: 0.5, latencyMs: 1.5, traceId: 't',
  });
  const add = (ts: number, a: number, p?: number, model?: string) => log.append([row(ts, a, p, model)]);
  const count = async () => Number((await pool.query("SELECT count(*) AS n FROM predictions WHERE model = 'm'")).rows[0].n);
  return { url, pool, log, client, row, add, count, close: async () => { for (const c of clients) await c.end(); await log.close(); await pool.end(); } };
}

/** The window folded at once from every row, in memory only: what the stored buckets must equal. */
async function fromRows(client: pg.ClientBase, fromMs = 0) {
  return new PgWindowBuckets(client, layout, { store: false }).refresh(fromMs);
}

if (skip === undefined) {
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.close();
    tmp.remove();
  });
}

describe('PgWindowBuckets', { skip }, () => {
  it('folds each row into the bucket of its event time, only its own model version, and drops the buckets that left the window', async () => {
    const { client, add, pool, close } = await fresh();
    const w = new PgWindowBuckets(await client(), layout);
    await add(T0 + 0.5 * HOUR, 1, 0.2);
    await add(T0 + 1.5 * HOUR, 2, 0.4);
    await add(T0 + 2.5 * HOUR, 3, 0.6);
    await add(T0 + 2.6 * HOUR, 3, 0.6, 'other');
    let r = await w.refresh(T0);
    assert.equal(r.aggregate[0], 3);
    assert.equal(r.buckets, 3);
    assert.ok(Math.abs(r.firstHalfMean - 0.3) < 1e-12 && Math.abs(r.secondHalfMean - 0.6) < 1e-12, `${r.firstHalfMean} ${r.secondHalfMean}`);
    r = await w.refresh(T0 + 1.2 * HOUR);
    assert.equal(r.fromMs, T0 + HOUR);
    assert.equal(r.aggregate[0], 2);
    assert.equal(w.rows, 2);
    // A late row of an old hour still in the window joins its own bucket.
    await add(T0 + 1.1 * HOUR, 5, 0.9);
    r = await w.refresh(T0 + 1.2 * HOUR);
    assert.equal(r.aggregate[0], 3);
    assert.equal(r.buckets, 2);
    const stored = (await pool.query('SELECT bucket_start_ms::float8 AS start, rows::int AS rows FROM window_buckets ORDER BY 1')).rows;
    assert.deepEqual(stored, [{ start: T0 + HOUR, rows: 2 }, { start: T0 + 2 * HOUR, rows: 1 }], 'the dropped hour is gone from the table too');
    await close();
  });

  it('gives the same aggregate as the SQLite store folding the same rows', async () => {
    const { client, log, row, close } = await fresh();
    const rows = Array.from({ length: 2000 }, (_, i) => row(T0 + i * 7_000, (i * 13) % 120, (i % 100) / 100));
    await log.append(rows);
    const pgWindow = await new PgWindowBuckets(await client(), layout).refresh(T0);
    const db = openDatabase({ path: `${tmp.dir}/same-${n}.db`, synchronous: 'NORMAL' });
    const insert = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms) VALUES (?, 'r', ?, 'm', '1', ?, ?, 0, 'low', 0.5, 1.5, 't', ?)`);
    db.transaction(() => rows.forEach((r) => insert.run(r.id, r.tsMs, JSON.stringify(r.features), r.probability, r.eventTsMs)))();
    const sqliteWindow = new SqliteWindowBuckets(db, layout).refresh(T0);
    db.close();
    assert.equal(pgWindow.buckets, sqliteWindow.buckets);
    assert.deepEqual(Array.from(pgWindow.aggregate), Array.from(sqliteWindow.aggregate));
    await close();
  });

  it('never misses a committed row under concurrent writers whose transactions commit out of id order', async () => {
    const { url, pool, client, close } = await fresh();
    // A transaction that inserts first and commits last: "id > last seen" would skip its row.
    const slow = new pg.Client(connectionConfig(url));
    await slow.connect();
    await slow.query('BEGIN');
    await slow.query(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms)
      VALUES ('slow', 'r', $1, 'm', '1', '{"a":-1,"c":1}', 0.5, 0, 'low', 0.5, 1, 't', $1)`, [T0]);
    const w = new PgWindowBuckets(await client(), layout);
    const writers = Array.from({ length: 6 }, async (_, k) => {
      const log = new PgAuditLog(pool);
      for (let i = 0; i < 150; i++) {
        await log.append([{ id: `w${k}-${i}`, requestId: 'r', tsMs: T0, eventTsMs: T0 + (i % 5) * HOUR, model: 'm', modelVersion: '1', features: { a: (k * 1000 + i) % 100, c: i % 4 }, probability: 0.1, decision: 0, band: 'low', threshold: 0.5, latencyMs: 1, traceId: 't' }]);
      }
      await log.close();
    });
    let reading = true;
    let refreshes = 0;
    const reads = (async () => {
      while (reading) {
        await w.refresh(T0);
        refreshes++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await Promise.all(writers);
    await slow.query('COMMIT');
    await slow.end();
    reading = false;
    await reads;
    const final = await w.refresh(T0);
    assert.ok(refreshes > 3, `${refreshes} refreshes during the writes`);
    assert.equal(final.aggregate[0], 901, 'every committed row folded exactly once');
    // Below-minimum values count in their own bin: the slow row (a = -1) is there.
    assert.deepEqual(Array.from(final.aggregate), Array.from((await fromRows(await client(), T0)).aggregate));
    const stored = Number((await pool.query('SELECT sum(rows) AS n FROM window_buckets')).rows[0].n);
    assert.equal(stored, 901, 'and stored once');
    await close();
  });

  it('stores the buckets and the cursor, and a new evaluator loads them and folds only the transactions settled since', async () => {
    const { client, log, row, close } = await fresh();
    await log.append(Array.from({ length: 500 }, (_, i) => row(T0 + i * 20_000, i % 90, (i % 10) / 10)));
    const first = new PgWindowBuckets(await client(), layout);
    await first.refresh(T0);
    assert.equal(first.origin, 'rows');
    await log.append(Array.from({ length: 100 }, (_, i) => row(T0 + (500 + i) * 20_000, i % 90, (i % 10) / 10)));
    const second = new PgWindowBuckets(await client(), layout);
    const b = await second.refresh(T0);
    assert.equal(second.origin, 'stored');
    assert.equal(b.aggregate[0], 600);
    assert.deepEqual(Array.from(b.aggregate), Array.from((await fromRows(await client(), T0)).aggregate));
    await close();
  });

  it('never mixes two evaluators\' buckets: the one whose base was overwritten stores nothing and reloads', async () => {
    const { client, add, pool, close } = await fresh();
    for (let i = 0; i < 100; i++) await add(T0 + i * 30_000, i % 90);
    const a = new PgWindowBuckets(await client(), layout);
    const b = new PgWindowBuckets(await client(), layout);
    await a.refresh(T0);
    await b.refresh(T0); // loads a's buckets
    for (let i = 0; i < 50; i++) await add(T0 + i * 30_000, 7);
    assert.equal((await b.refresh(T0)).aggregate[0], 150, 'b stores the new rows');
    await add(T0, 8);
    const stale = await a.refresh(T0);
    assert.equal(stale.aggregate[0], 151, 'a still answers every row it read');
    assert.match(a.saveError ?? '', /another evaluator stored the buckets of m@1 since these were read/);
    const stored = Number((await pool.query('SELECT sum(rows) AS n FROM window_buckets')).rows[0].n);
    assert.equal(stored, 150, 'a wrote nothing');
    await add(T0, 9);
    const again = await a.refresh(T0);
    assert.equal(a.origin, 'stored');
    assert.equal(again.aggregate[0], 152);
    assert.equal(a.saveError, undefined);
    assert.deepEqual(Array.from(again.aggregate), Array.from((await fromRows(await client(), T0)).aggregate));
    await close();
  });

  it('stores nothing for an evaluator whose leader term has been superseded', async () => {
    const { client, add, pool, close } = await fresh();
    await pool.query("INSERT INTO leader_terms (replica) VALUES ('a'), ('b')");
    await add(T0, 1);
    const deposed = new PgWindowBuckets(await client(), layout);
    assert.equal((await deposed.refresh(T0, 1)).aggregate[0], 1);
    assert.match(deposed.saveError ?? '', /term 1 is no longer the fleet's evaluator \(term 2 is\)/);
    assert.equal(Number((await pool.query('SELECT count(*) AS n FROM window_cursors')).rows[0].n), 0);
    const leader = new PgWindowBuckets(await client(), layout);
    await leader.refresh(T0, 2);
    assert.equal(leader.saveError, undefined);
    assert.deepEqual((await pool.query('SELECT term::int AS term FROM window_cursors')).rows, [{ term: 2 }]);
    await close();
  });

  it('rebuilds from the rows when the stored cursor is ahead of the server (a restored database) or of another layout', async () => {
    const { client, add, pool, close } = await fresh();
    for (let i = 0; i < 40; i++) await add(T0 + i * 60_000, i);
    await new PgWindowBuckets(await client(), layout).refresh(T0);
    await pool.query("UPDATE window_cursors SET through_tx = '999999999999'::xid8");
    await add(T0, 1);
    const restored = new PgWindowBuckets(await client(), layout);
    assert.equal((await restored.refresh(T0)).aggregate[0], 41);
    assert.equal(restored.origin, 'rebuilt');
    const other = smallLayout(32);
    const w = new PgWindowBuckets(await client(), other);
    assert.equal((await w.refresh(T0)).aggregate[0], 41);
    assert.equal(w.origin, 'rebuilt');
    assert.deepEqual((await pool.query('SELECT DISTINCT layout FROM window_buckets')).rows.map((r: { layout: string }) => r.layout), [other.hash]);
    await close();
  });

  it('stores its buckets deflated, and a new process loads them, as it loads buckets an earlier version stored raw', async () => {
    const { client, add, pool, close } = await fresh();
    for (let i = 0; i < 30; i++) await add(T0 + i * 240_000, i, (i % 10) / 10);
    const first = await new PgWindowBuckets(await client(), layout).refresh(T0);
    const sizes = (await pool.query<{ stored: number }>('SELECT length(data)::int AS stored FROM window_buckets')).rows;
    assert.ok(sizes.every((r) => r.stored < layout.size * 8), `stored ${sizes.map((r) => r.stored).join(', ')} bytes of ${layout.size * 8}`);
    const restarted = new PgWindowBuckets(await client(), layout);
    assert.deepEqual((await restarted.refresh(T0)).aggregate, first.aggregate);
    assert.equal(restarted.origin, 'stored');
    // As an earlier version stored them: the raw Float64Array bytes.
    const raw = new Float64Array(layout.size);
    raw[0] = 7;
    await pool.query(`UPDATE window_buckets SET data = $1, rows = 7, group_counts = '[["{}",0,7]]'`, [Buffer.from(raw.buffer)]);
    const older = new PgWindowBuckets(await client(), layout);
    const hours = sizes.length;
    assert.equal((await older.refresh(T0)).aggregate[0], 7 * hours);
    assert.equal(older.origin, 'stored');
    await close();
  });

  it('folds a window larger than one fetch page', async () => {
    const { client, log, row, count, close } = await fresh();
    for (let k = 0; k < 5; k++) await log.append(Array.from({ length: 5000 }, (_, i) => row(T0 + (k * 5000 + i) * 100, i % 100, (i % 97) / 97)));
    const w = await new PgWindowBuckets(await client(), layout).refresh(T0);
    assert.equal(w.aggregate[0], await count());
    assert.equal(w.aggregate[0], 25_000);
    await close();
  });
});

describe('PgWindowBuckets counting groups for fairness', { skip }, () => {
  /** Rows with groups and a decision: SEX alternates, AGE_BAND by thirds, decision 1 for every fifth row. */
  async function withGroups() {
    const f = await fresh();
    let id = 0;
    const add = (count: number, ts: (i: number) => number) => f.log.append(Array.from({ length: count }, () => {
      const i = id++;
      return {
        ...f.row(ts(i), i % 90), decision: (i % 5 === 0 ? 1 : 0) as 0 | 1,
        groups: { SEX: String(1 + (i % 2)), AGE_BAND: ['<25', '25-35', '35+'][i % 3]! },
      };
    }));
    /** What a GROUP BY over the rows of event time >= fromMs answers. */
    const groupBy = async (fromMs: number) => (await f.pool.query<[string, number, number]>({
      text: "SELECT groups, decision, count(*)::int FROM predictions WHERE model = 'm' AND event_ts_ms >= $1 GROUP BY groups, decision", values: [fromMs], rowMode: 'array',
    })).rows;
    return { ...f, add, groupBy };
  }
  const sorted = (xs: readonly (readonly [string, number, number])[]) => [...xs].map((x) => [...x]).sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`));

  it('counts the window by groups and decision as a GROUP BY over the buckets\' span does, incrementally, and leaves dropped buckets out', async () => {
    const { client, add, groupBy, close } = await withGroups();
    const w = new PgWindowBuckets(await client(), layout);
    for (let k = 0; k < 9; k++) {
      await add(100, (i) => T0 + i * 12_000);
      await w.refresh(T0);
    }
    const all = await w.refresh(T0);
    assert.equal(all.groupCounts!.reduce((n, g) => n + g[2], 0), 900);
    assert.deepEqual(sorted(all.groupCounts!), sorted(await groupBy(T0)));
    // From 1.5 h the window starts at the bucket holding it: the counts of [1 h, …).
    const later = await w.refresh(T0 + 1.5 * HOUR);
    assert.deepEqual(sorted(later.groupCounts!), sorted(await groupBy(T0 + HOUR)));
    await close();
  });

  it('stores the counts with their bucket, and a new evaluator loads them; a bucket stored without them, or with counts that do not add up, is folded again', async () => {
    const { client, add, groupBy, pool, close } = await withGroups();
    await add(600, (i) => T0 + i * 12_000);
    const first = await new PgWindowBuckets(await client(), layout).refresh(T0);
    const loaded = new PgWindowBuckets(await client(), layout);
    const r = await loaded.refresh(T0);
    assert.equal(loaded.origin, 'stored');
    assert.deepEqual(sorted(r.groupCounts!), sorted(first.groupCounts!));
    // As a version before the counts stored it: no counts for the first hour.
    await pool.query('UPDATE window_buckets SET group_counts = NULL WHERE bucket_start_ms = $1', [T0]);
    const older = new PgWindowBuckets(await client(), layout);
    const again = await older.refresh(T0);
    assert.equal(older.origin, 'rebuilt');
    assert.deepEqual(sorted(again.groupCounts!), sorted(await groupBy(T0)));
    assert.equal(Number((await pool.query('SELECT count(*) AS n FROM window_buckets WHERE group_counts IS NULL')).rows[0].n), 0, 'the rebuilt buckets were stored with their counts');
    await pool.query(`UPDATE window_buckets SET group_counts = '[["{}",0,1]]' WHERE bucket_start_ms = $1`, [T0]);
    const corrupt = new PgWindowBuckets(await client(), layout);
    await corrupt.refresh(T0);
    assert.equal(corrupt.origin, 'rebuilt');
    await close();
  });
});
