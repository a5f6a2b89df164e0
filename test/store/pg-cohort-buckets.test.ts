import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { cohortAggregateLayout } from '../../src/performance/cohort-aggregate.js';
import { SqliteCohortBuckets } from '../../src/store/cohort-buckets.js';
import { openDatabase } from '../../src/store/database.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import type { CohortGroupCount } from '../../src/fairness/report.js';
import { PgCohortBuckets } from '../../src/store/pg-cohort-buckets.js';
import { PgFairnessCountReader } from '../../src/store/pg-fairness-counts.js';
import { connectionConfig, ensurePartitions, openPostgres } from '../../src/store/postgres.js';
import { BUCKET_MS } from '../../src/store/window-buckets.js';
import { tempDir } from '../helpers/app.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { sameAggregate } from '../helpers/same-aggregate.js';

const skip = postgresMissing();
let cluster: PgCluster;
let n = 0;
const tmp = tempDir();
const layout = cohortAggregateLayout(0.5);
const T0 = Date.UTC(2026, 0, 1);
const HOUR = BUCKET_MS;

async function fresh() {
  const url = await cluster.createDatabase(`c${n++}`);
  const pool = await openPostgres({ url, poolSize: 8 });
  const log = new PgAuditLog(pool);
  const clients: pg.Client[] = [];
  const client = async () => {
    const c = new pg.Client(connectionConfig(url));
    await c.connect();
    clients.push(c);
    return c;
  };
  await ensurePartitions(await client(), [T0]);
  let id = 0;
  const row = (ts: number, p: number, model = 'm', decision: 0 | 1 = 0, groups: Record<string, string> = {}) => ({
    id: `id${id++}`, requestId: 'r', tsMs: ts, eventTsMs: ts, model, modelVersion: '1', features: {}, probability: p, decision, band: 'low', threshold: 0.5, latencyMs: 1, traceId: 't', groups,
  });
  /** Logs predictions at these event times and probabilities (and decisions and groups); their ids. */
  const add = async (rows: { ts: number; p: number; model?: string; decision?: 0 | 1; groups?: Record<string, string> }[]) => {
    const records = rows.map((r) => row(r.ts, r.p, r.model, r.decision, r.groups));
    await log.append(records);
    return records.map((r) => r.id);
  };
  const label = async (ids: string[], y: (i: number) => 0 | 1) => {
    const outcome = await log.recordLabels(ids.map((id, i) => [id, y(i), T0 + 40 * 86_400_000]), T0 + 40 * 86_400_000);
    assert.equal(outcome.accepted, ids.length);
  };
  /** Every hour folded at once from the rows, in memory only: what the stored buckets must equal. */
  const fromRows = async (fromMs: number, toMs: number) => new PgCohortBuckets(await client(), 'm', '1', layout, { store: false }).refresh(fromMs, toMs);
  return { url, pool, log, client, add, label, fromRows, close: async () => { for (const c of clients) await c.end(); await log.close(); await pool.end(); } };
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

describe('PgCohortBuckets', { skip }, () => {
  it('gives the same cohort as the SQLite store folding the same predictions and labels', async () => {
    const { client, add, label, pool, close } = await fresh();
    const rows = Array.from({ length: 600 }, (_, i) => ({ ts: T0 + i * 37_000, p: ((i * 7919) % 1000) / 1000 }));
    const ids = await add(rows);
    await add([{ ts: T0, p: 0.9, model: 'other' }]);
    await label(ids.filter((_, i) => i % 3 !== 0), (i) => (i % 5 < 2 ? 1 : 0));
    const b = new PgCohortBuckets(await client(), 'm', '1', layout);
    const fromPg = await b.refresh(T0 + 10 * 60_000, T0 + 5 * HOUR + 1);
    // The same rows in SQLite.
    const db = openDatabase({ path: join(tmp.dir, `same${n}.db`), synchronous: 'NORMAL' });
    const insert = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms) VALUES (?, 'r', ?, 'm', '1', '{}', ?, 0, 'low', 0.5, 1, 't', ?)`);
    const insertLabel = db.prepare(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability) VALUES (?, ?, 0, 0, 'm', '1', ?, ?)`);
    const labels = (await pool.query<{ prediction_id: string; label: number }>('SELECT prediction_id, label FROM labels ORDER BY tx, prediction_id')).rows;
    const byId = new Map(ids.map((id, i) => [id, rows[i]!]));
    rows.forEach((r, i) => insert.run(ids[i], r.ts, r.p, r.ts));
    for (const l of labels) insertLabel.run(l.prediction_id, l.label, byId.get(l.prediction_id)!.ts, byId.get(l.prediction_id)!.p);
    const fromSqlite = new SqliteCohortBuckets(db, 'm', '1', layout).refresh(T0 + 10 * 60_000, T0 + 5 * HOUR + 1);
    db.close();
    assert.deepEqual([fromPg.fromMs, fromPg.toMs, fromPg.matured, fromPg.labelled], [fromSqlite.fromMs, fromSqlite.toMs, fromSqlite.matured, fromSqlite.labelled]);
    assert.equal(fromPg.matured, 487); // hours 0..4: event times below T0 + 5 h
    sameAggregate(fromPg.aggregate, fromSqlite.aggregate);
    await close();
  });

  it('folds a label that arrives late for an old hour exactly once, and stores it once', async () => {
    const { client, add, label, pool, fromRows, close } = await fresh();
    const ids = await add(Array.from({ length: 48 }, (_, i) => ({ ts: T0 + i * HOUR + 5, p: (i % 10) / 10 })));
    await label(ids.slice(24), (i) => (i % 2 === 0 ? 0 : 1));
    const b = new PgCohortBuckets(await client(), 'm', '1', layout);
    assert.equal((await b.refresh(T0, T0 + 48 * HOUR)).labelled, 24);
    await label([ids[3]!], () => 1);
    assert.equal((await b.refresh(T0, T0 + 48 * HOUR)).labelled, 25);
    assert.equal((await b.refresh(T0, T0 + 48 * HOUR)).labelled, 25, 'and not again');
    assert.equal((await b.refresh(T0 + 3 * HOUR, T0 + 4 * HOUR)).labelled, 1, 'in the hour of its prediction');
    // The same label again is a no-op, another label for it a conflict: never an overwrite.
    const again = await new PgAuditLog(pool).recordLabels([[ids[3]!, 1, T0], [ids[4]!, 0, T0]], T0);
    assert.deepEqual([again.duplicate, again.accepted], [1, 1]);
    const c = await b.refresh(T0, T0 + 48 * HOUR);
    assert.equal(c.labelled, 26);
    sameAggregate(c.aggregate, (await fromRows(T0, T0 + 48 * HOUR)).aggregate);
    assert.equal(Number((await pool.query('SELECT sum(labelled) AS n FROM cohort_buckets')).rows[0].n), 26);
    await close();
  });

  it('never misses a committed label under concurrent label writers and a transaction that inserts first and commits last', async () => {
    const { url, client, add, pool, fromRows, close } = await fresh();
    const ids = await add(Array.from({ length: 901 }, (_, i) => ({ ts: T0 + (i % 5) * HOUR, p: (i % 100) / 100 })));
    // A label whose transaction takes its xid first and commits last: "id > last seen" would skip it.
    const slow = new pg.Client(connectionConfig(url));
    await slow.connect();
    await slow.query('BEGIN');
    await slow.query(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability)
      SELECT id, 1, 0, 0, model, model_version, event_ts_ms, probability FROM predictions WHERE id = $1`, [ids[900]]);
    const b = new PgCohortBuckets(await client(), 'm', '1', layout);
    const writers = Array.from({ length: 6 }, async (_, k) => {
      const log = new PgAuditLog(pool);
      for (let i = 0; i < 150; i++) await log.recordLabels([[ids[k * 150 + i]!, i % 2 === 0 ? 0 : 1, T0]], T0);
      await log.close();
    });
    let reading = true;
    let refreshes = 0;
    const reads = (async () => {
      while (reading) {
        await b.refresh(T0, T0 + 5 * HOUR);
        refreshes++;
        await new Promise((r) => setTimeout(r, 5));
      }
    })();
    await Promise.all(writers);
    reading = false;
    await reads;
    // The open transaction holds the snapshot's xmin back: the read lags behind it, never skips it.
    assert.ok((await b.refresh(T0, T0 + 5 * HOUR)).labelled < 900, 'nothing past the open transaction is folded yet');
    await slow.query('COMMIT');
    await slow.end();
    const final = await b.refresh(T0, T0 + 5 * HOUR);
    assert.ok(refreshes > 3, `${refreshes} refreshes during the writes`);
    assert.equal(final.labelled, 901, 'every committed label folded exactly once');
    sameAggregate(final.aggregate, (await fromRows(T0, T0 + 5 * HOUR)).aggregate);
    assert.equal(Number((await pool.query('SELECT sum(labelled) AS n FROM cohort_buckets')).rows[0].n), 901, 'and stored once');
    await close();
  });

  it('stores the hours and the cursor, and a new evaluator answers from them, folding only the transactions settled since', async () => {
    const { client, add, label, fromRows, close } = await fresh();
    const ids = await add(Array.from({ length: 300 }, (_, i) => ({ ts: T0 + i * 50_000, p: ((i * 31) % 100) / 100 })));
    await label(ids.slice(0, 200), (i) => (i % 3 === 0 ? 1 : 0));
    const first = new PgCohortBuckets(await client(), 'm', '1', layout);
    await first.refresh(T0, T0 + 5 * HOUR);
    assert.equal(first.origin, 'rows');
    await label(ids.slice(200), () => 0);
    const second = new PgCohortBuckets(await client(), 'm', '1', layout);
    const c = await second.refresh(T0, T0 + 5 * HOUR);
    assert.equal(second.origin, 'stored');
    assert.deepEqual([c.matured, c.labelled], [300, 300]);
    sameAggregate(c.aggregate, (await fromRows(T0, T0 + 5 * HOUR)).aggregate);
    await close();
  });

  it('stores nothing for an evaluator whose leader term has been superseded', async () => {
    const { client, add, label, pool, close } = await fresh();
    await pool.query("INSERT INTO leader_terms (replica) VALUES ('a'), ('b')");
    const ids = await add([{ ts: T0, p: 0.7 }, { ts: T0, p: 0.2 }]);
    await label(ids, (i) => (i === 0 ? 1 : 0));
    const deposed = new PgCohortBuckets(await client(), 'm', '1', layout);
    assert.equal((await deposed.refresh(T0, T0 + HOUR, 1)).labelled, 2);
    assert.match(deposed.saveError ?? '', /term 1 is no longer the fleet's evaluator \(term 2 is\)/);
    assert.equal(Number((await pool.query('SELECT count(*) AS n FROM cohort_cursors')).rows[0].n), 0);
    const leader = new PgCohortBuckets(await client(), 'm', '1', layout);
    await leader.refresh(T0, T0 + HOUR, 2);
    assert.equal(leader.saveError, undefined);
    assert.deepEqual((await pool.query('SELECT term::int AS term FROM cohort_cursors')).rows, [{ term: 2 }]);
    await close();
  });

  it('never mixes two evaluators\' hours: the one whose base was overwritten stores nothing and reloads', async () => {
    const { client, add, label, pool, fromRows, close } = await fresh();
    const ids = await add(Array.from({ length: 40 }, (_, i) => ({ ts: T0 + i * 1000, p: i / 40 })));
    await label(ids.slice(0, 10), (i) => (i % 2 === 0 ? 0 : 1));
    const a = new PgCohortBuckets(await client(), 'm', '1', layout);
    const b = new PgCohortBuckets(await client(), 'm', '1', layout);
    await a.refresh(T0, T0 + HOUR);
    await b.refresh(T0, T0 + HOUR); // loads a's hours
    await label(ids.slice(10, 20), () => 1);
    assert.equal((await b.refresh(T0, T0 + HOUR)).labelled, 20, 'b stores the new labels');
    await label(ids.slice(20, 21), () => 0);
    assert.equal((await a.refresh(T0, T0 + HOUR)).labelled, 21, 'a still answers every label it read');
    assert.match(a.saveError ?? '', /another evaluator stored the cohort buckets of m@1 since these were read/);
    assert.equal(Number((await pool.query('SELECT sum(labelled) AS n FROM cohort_buckets')).rows[0].n), 20, 'a wrote nothing');
    await label(ids.slice(21, 22), () => 1);
    const again = await a.refresh(T0, T0 + HOUR);
    assert.equal(a.origin, 'stored');
    assert.equal(again.labelled, 22);
    assert.equal(a.saveError, undefined);
    sameAggregate(again.aggregate, (await fromRows(T0, T0 + HOUR)).aggregate);
    await close();
  });

  it('rebuilds from the rows when the stored hours were built at another threshold', async () => {
    const { client, add, label, pool, close } = await fresh();
    const ids = await add(Array.from({ length: 20 }, (_, i) => ({ ts: T0 + i * 1000, p: i / 20 })));
    await label(ids, (i) => (i % 2 === 0 ? 0 : 1));
    await new PgCohortBuckets(await client(), 'm', '1', layout).refresh(T0, T0 + HOUR);
    const other = new PgCohortBuckets(await client(), 'm', '1', cohortAggregateLayout(0.3));
    assert.equal((await other.refresh(T0, T0 + HOUR)).labelled, 20);
    assert.equal(other.origin, 'rebuilt');
    assert.deepEqual((await pool.query('SELECT layout FROM cohort_cursors')).rows.map((r: { layout: string }) => r.layout), [cohortAggregateLayout(0.3).hash]);
    assert.equal(Number((await pool.query('SELECT sum(labelled) AS n FROM cohort_buckets')).rows[0].n), 20);
    await close();
  });

  it('counts each label by its prediction\'s groups and decision as the exact path\'s GROUP BY does, keeps the counts through a store and a load, and folds again when stored hours have none', async () => {
    const { client, add, label, pool, close } = await fresh();
    const ids = await add(Array.from({ length: 120 }, (_, i) => ({
      ts: T0 + i * 60_000, p: (i % 97) / 97, decision: (i % 2) as 0 | 1, groups: { SEX: i % 3 === 0 ? 'female' : 'male', AGE: i % 5 === 0 ? '<25' : '25+' },
    })));
    await label(ids.slice(0, 100), (i) => (i % 7 === 0 ? 1 : 0));
    const sorted = (counts: readonly CohortGroupCount[]) => [...counts].map((c) => [...c]).sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));
    const exact = sorted(await new PgFairnessCountReader(client).cohortCounts('m', '1', T0, T0 + 2 * HOUR));
    assert.equal(exact.reduce((n, c) => n + (c[3] as number), 0), 100);
    assert.ok(exact.length >= 8, 'every combination of groups, decision and label that occurs');
    assert.deepEqual(sorted((await new PgCohortBuckets(await client(), 'm', '1', layout).refresh(T0, T0 + 2 * HOUR)).groupCounts), exact);
    const loaded = new PgCohortBuckets(await client(), 'm', '1', layout);
    assert.deepEqual(sorted((await loaded.refresh(T0, T0 + 2 * HOUR)).groupCounts), exact);
    assert.equal(loaded.origin, 'stored');
    await pool.query('UPDATE cohort_buckets SET group_counts = NULL');
    const again = new PgCohortBuckets(await client(), 'm', '1', layout);
    assert.deepEqual(sorted((await again.refresh(T0, T0 + 2 * HOUR)).groupCounts), exact);
    assert.equal(again.origin, 'rebuilt');
    assert.equal(Number((await pool.query('SELECT count(*) AS n FROM cohort_buckets WHERE data IS NOT NULL AND group_counts IS NULL')).rows[0].n), 0, 'the stored hours are replaced, with their counts');
    await close();
  });
});
