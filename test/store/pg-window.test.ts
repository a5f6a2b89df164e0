import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { sampleKey } from '../../src/drift/bucket-sample.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { CommitSafeCursor, PgWindowCache, readPgCohort } from '../../src/store/pg-window.js';
import { connectionConfig, ensurePartitions, openPostgres } from '../../src/store/postgres.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const skip = postgresMissing();
let cluster: PgCluster;
let n = 0;

async function fresh() {
  const url = await cluster.createDatabase(`w${n++}`);
  const pool = await openPostgres({ url, poolSize: 8 });
  const log = new PgAuditLog(pool);
  const reader = new pg.Client(connectionConfig(url));
  await reader.connect();
  let id = 0;
  const add = (ts: number, features: Record<string, unknown>, p = 0.1, model = 'm', version = '1') => log.append([{
    id: `id${id++}`, requestId: 'r', tsMs: ts, eventTsMs: ts, model, modelVersion: version, features, probability: p, decision: 0, band: 'low', threshold: 0.5, latencyMs: 1.5, traceId: 't',
  }]);
  return { url, pool, log, reader, add, close: async () => { await reader.end(); await log.close(); await pool.end(); } };
}

const T0 = Date.UTC(2026, 0, 1);

if (skip === undefined) {
  before(async () => {
    cluster = await startPostgres();
  });
  after(() => cluster?.close());
}

describe('PgWindowCache', { skip }, () => {
  it('reads the window as columns, with null and absent values as NaN, and only its own model version', async () => {
    const { reader, add, close } = await fresh();
    await add(T0, { a: 1, b: 2 }, 0.3);
    await add(T0 + 1, { a: null, b: 4 }, 0.4);
    await add(T0 + 2, { a: 5 }, 0.5);
    await add(T0 + 3, { a: 9, b: 9 }, 0.9, 'other');
    await add(T0 + 4, { a: 9, b: 9 }, 0.9, 'm', '2');
    const w = await new PgWindowCache(reader, 'm', '1', ['a', 'b']).refresh(0);
    assert.equal(w.n, 3);
    assert.deepEqual([...w.columns.get('a')!], [1, NaN, 5]);
    // Each row carries its sample key (the hash of its prediction id), as on SQLite: attribution drift's sample.
    assert.deepEqual([...w.keys!], ['id0', 'id1', 'id2'].map(sampleKey));
    assert.deepEqual([...w.columns.get('b')!], [2, 4, NaN]);
    assert.deepEqual([...w.scores], [0.3, 0.4, 0.5]);
    assert.deepEqual([...w.tsMs], [T0, T0 + 1, T0 + 2]);
    await close();
  });

  it('reads only new rows on each refresh and drops the rows that left the window', async () => {
    const { reader, add, close } = await fresh();
    const cache = new PgWindowCache(reader, 'm', '1', ['a']);
    await Promise.all(Array.from({ length: 500 }, (_, i) => add(T0 + i, { a: i })));
    assert.equal((await cache.refresh(T0)).n, 500);
    await Promise.all(Array.from({ length: 200 }, (_, i) => add(T0 + 500 + i, { a: 500 + i })));
    const w = await cache.refresh(T0 + 300);
    assert.equal(w.n, 400);
    assert.deepEqual([...w.columns.get('a')!].sort((x, y) => x - y), Array.from({ length: 400 }, (_, i) => 300 + i));
    await close();
  });

  it('never misses a committed row under concurrent writers whose transactions commit out of id order', async () => {
    const { url, pool, reader, close } = await fresh();
    // A transaction that inserts first and commits last: with "id > last seen" its row is
    // skipped for good, because later rows were read before it committed.
    const slow = new pg.Client(connectionConfig(url));
    await slow.connect();
    await ensurePartitions(slow, [T0]);
    await slow.query('BEGIN');
    await slow.query(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms)
      VALUES ('slow', 'r', $1, 'm', '1', '{"a":-1}', 0.5, 0, 'low', 0.5, 1, 't', $1)`, [T0]);
    const cache = new PgWindowCache(reader, 'm', '1', ['a']);
    const writers = Array.from({ length: 6 }, async (_, w) => {
      const log = new PgAuditLog(pool);
      for (let i = 0; i < 150; i++) {
        await log.append([{ id: `w${w}-${i}`, requestId: 'r', tsMs: T0, eventTsMs: T0 + i, model: 'm', modelVersion: '1', features: { a: w * 1000 + i }, probability: 0.1, decision: 0, band: 'low', threshold: 0.5, latencyMs: 1, traceId: 't' }]);
      }
      await log.close();
    });
    const seen: number[] = [];
    let reading = true;
    const reads = (async () => {
      while (reading) {
        await cache.refresh(0);
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await Promise.all(writers);
    await slow.query('COMMIT');
    await slow.end();
    reading = false;
    await reads;
    const w = await cache.refresh(0);
    seen.push(...w.columns.get('a')!);
    assert.equal(w.n, 901, 'every committed row read exactly once');
    assert.equal(new Set(seen).size, 901, 'no row read twice');
    assert.ok(seen.includes(-1), 'the row of the transaction that committed last is read');
    await close();
  });

  it('leaves a still-running transaction\'s rows for a later read', async () => {
    const { url, reader, add, close } = await fresh();
    const cursor = new CommitSafeCursor();
    const open = new pg.Client(connectionConfig(url));
    await open.connect();
    await open.query('BEGIN');
    await open.query('SELECT pg_current_xact_id()');
    await add(T0, { a: 1 });
    const count = () => cursor.read(reader, async (from, to) => Number((await reader.query('SELECT count(*) AS n FROM predictions WHERE tx >= $1::xid8 AND tx < $2::xid8', [from, to])).rows[0].n));
    assert.equal(await count(), 0, 'a row above the oldest running transaction waits');
    await open.query('COMMIT');
    await open.end();
    assert.equal(await count(), 1);
    assert.equal(await count(), 0, 'and is read once');
    await close();
  });
});

describe('readPgCohort', { skip }, () => {
  it('counts the matured predictions of a model version in the range and reads the labelled ones', async () => {
    const { log, reader, close } = await fresh();
    const rows = Array.from({ length: 3000 }, (_, i) => ({ id: `p${i}`, requestId: 'r', tsMs: T0, eventTsMs: T0 + i, model: 'm', modelVersion: '1', features: {}, probability: i / 3000, decision: 0 as const, band: 'low', threshold: 0.5, latencyMs: 1, traceId: 't' }));
    await log.append([...rows, { ...rows[0]!, id: 'other', model: 'x', eventTsMs: T0 + 10 }]);
    await log.recordLabels(rows.filter((_, i) => i % 3 === 0).map((r, k) => [r.id, (k % 2) as 0 | 1, T0]), T0);
    await log.recordLabels([['other', 1, T0]], T0);
    const c = await readPgCohort(reader, 'm', '1', T0 + 1000, T0 + 2000);
    assert.equal(c.matured, 1000);
    assert.equal(c.labels.length, 333);
    const byProbability = [...c.probabilities].map((p, i) => [p, c.labels[i]!] as const).sort((a, b) => a[0] - b[0]);
    assert.deepEqual(byProbability[0], [1002 / 3000, 0]);
    assert.deepEqual(byProbability[1], [1005 / 3000, 1]);
    await close();
  });
});
