import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { evaluateAggregate } from '../../src/drift/window-aggregate.js';
import { DEFAULT_DRIFT_THRESHOLDS } from '../../src/drift/severity.js';
import { SqliteAuditLog, type AuditRecord } from '../../src/store/audit-log.js';
import { openDatabase } from '../../src/store/database.js';
import { BUCKET_MS, SqliteWindowBuckets } from '../../src/store/window-buckets.js';
import { tempDir } from '../helpers/app.js';
import { smallLayout } from '../helpers/small-layout.js';

const tmp = tempDir();
after(() => tmp.remove());

const HOUR = BUCKET_MS;
const layout = smallLayout();

function fresh() {
  const path = join(tmp.dir, `b${Math.random()}.db`);
  const db = openDatabase({ path, synchronous: 'NORMAL' });
  const insert = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms) VALUES (?, 'r', ?, ?, ?, ?, ?, 0, 'low', 0.5, 1.5, 't', ?)`);
  let id = 0;
  const add = (ts: number, a: number, p = 0.1, model = 'm') => insert.run(`id${id++}`, Math.round(ts), model, '1', JSON.stringify({ a, c: a % 4 }), p, Math.round(ts));
  return { db, add, path };
}

describe('SqliteWindowBuckets', () => {
  it('folds each row into the bucket of its event time, only its own model version, and drops the buckets that left the window', () => {
    const { db, add } = fresh();
    const w = new SqliteWindowBuckets(db, layout);
    add(0.5 * HOUR, 1, 0.2);
    add(1.5 * HOUR, 2, 0.4);
    add(2.5 * HOUR, 3, 0.6);
    add(2.6 * HOUR, 3, 0.6, 'other');
    let r = w.refresh(0);
    assert.equal(r.aggregate[0], 3);
    assert.equal(r.buckets, 3);
    assert.ok(Math.abs(r.firstHalfMean - 0.3) < 1e-12 && Math.abs(r.secondHalfMean - 0.6) < 1e-12, `${r.firstHalfMean} ${r.secondHalfMean}`);
    // A window from 1.2 h starts at the bucket holding it: [1 h, …).
    r = w.refresh(1.2 * HOUR);
    assert.equal(r.fromMs, HOUR);
    assert.equal(r.aggregate[0], 2);
    assert.equal(w.rows, 2);
    // A late row of an old hour still in the window joins its own bucket.
    add(1.1 * HOUR, 5, 0.9);
    r = w.refresh(1.2 * HOUR);
    assert.equal(r.aggregate[0], 3);
    assert.equal(r.buckets, 2);
    db.close();
  });

  it('gives the same evaluation as the rows folded at once, after many incremental refreshes', () => {
    const { db, add } = fresh();
    const w = new SqliteWindowBuckets(db, layout);
    for (let i = 0; i < 3000; i++) {
      add(i * 10_000, (i * 13) % 120, (i % 100) / 100);
      if (i % 250 === 0) w.refresh(0);
    }
    const incremental = w.refresh(0);
    const once = new SqliteWindowBuckets(db, layout).refresh(0);
    assert.deepEqual(Array.from(incremental.aggregate), Array.from(once.aggregate));
    assert.deepEqual(evaluateAggregate(layout, incremental.aggregate, DEFAULT_DRIFT_THRESHOLDS), evaluateAggregate(layout, once.aggregate, DEFAULT_DRIFT_THRESHOLDS));
    db.close();
  });

  it('never misses a committed row while concurrent writers append through the group-commit writer', async () => {
    const { db, path } = fresh();
    db.close();
    const log = await SqliteAuditLog.open({ path, synchronous: 'NORMAL' });
    const reader = new Database(path, { readonly: true });
    const w = new SqliteWindowBuckets(reader, layout);
    let next = 0;
    const record = (): AuditRecord => {
      const i = next++;
      return { id: `p${i}`, requestId: 'r', tsMs: i, eventTsMs: (i % 50) * 60_000, model: 'm', modelVersion: '1', features: { a: i % 100, c: i % 4 }, probability: (i % 10) / 10, decision: 0, band: 'low', threshold: 0.5, latencyMs: 1, traceId: 't' };
    };
    let writing = true;
    const writers = Array.from({ length: 4 }, async () => {
      for (let k = 0; k < 60; k++) await log.append(Array.from({ length: 1 + (k % 7) }, record));
    });
    const done = Promise.all(writers).then(() => { writing = false; });
    let refreshes = 0;
    while (writing) {
      w.refresh(0);
      refreshes++;
      await new Promise((r) => setImmediate(r));
    }
    await done;
    const final = w.refresh(0);
    const committed = reader.prepare('SELECT count(*) FROM predictions').pluck().get() as number;
    assert.equal(committed, next);
    assert.equal(final.aggregate[0], committed, `after ${refreshes} refreshes during the writes`);
    assert.deepEqual(Array.from(final.aggregate), Array.from(new SqliteWindowBuckets(reader, layout).refresh(0).aggregate));
    reader.close();
    await log.close();
  });
});

describe('SqliteWindowBuckets with stored aggregates', () => {
  it('stores the buckets and the cursor, and a new process loads them and folds only the rows committed since', () => {
    const { db, add } = fresh();
    for (let i = 0; i < 500; i++) add(i * 20_000, i % 90, (i % 10) / 10);
    const first = new SqliteWindowBuckets(db, layout, db);
    const a = first.refresh(0);
    assert.equal(first.origin, 'rows');
    assert.equal(db.prepare('SELECT sum(rows) FROM window_buckets').pluck().get(), 500);
    for (let i = 500; i < 600; i++) add(i * 20_000, i % 90, (i % 10) / 10);
    const second = new SqliteWindowBuckets(db, layout, db);
    const b = second.refresh(0);
    assert.equal(second.origin, 'stored');
    assert.equal(b.aggregate[0], 600);
    const fromRows = new SqliteWindowBuckets(db, layout).refresh(0);
    assert.deepEqual(Array.from(b.aggregate), Array.from(fromRows.aggregate));
    assert.ok(a.aggregate[0]! < b.aggregate[0]!);
    db.close();
  });

  it('keeps a sample of each bucket\'s rows, stores it, and a new process loads the same rows', () => {
    const { db, add } = fresh();
    // 1,500 rows over 3 hours: each bucket holds more rows than its sample keeps.
    for (let i = 0; i < 1500; i++) add(i * 7_200, i % 90, (i % 10) / 10);
    const first = new SqliteWindowBuckets(db, layout, db).refresh(0);
    assert.deepEqual(first.samples!.map((s) => [s.rows, s.sample.size]), [[500, 500], [500, 500], [500, 500]]);
    for (let i = 1500; i < 2400; i++) add(i * 7_200, i % 90, (i % 10) / 10);
    const incremental = new SqliteWindowBuckets(db, layout, db);
    const stored = incremental.refresh(0);
    assert.equal(incremental.origin, 'stored');
    const fromRows = new SqliteWindowBuckets(db, layout).refresh(0);
    assert.deepEqual(stored.samples!.map((s) => s.rows), [500, 500, 500, 500, 400]);
    assert.deepEqual(stored.samples!.map((s) => s.sample.size), [500, 500, 500, 500, 400]);
    // The rows kept depend on the rows' ids only: folding at once keeps the same ones.
    for (let b = 0; b < 5; b++) assert.deepEqual(stored.samples![b]!.sample.rows(), fromRows.samples![b]!.sample.rows(), `bucket ${b}`);
    // Each kept row is one of its bucket's rows: a = i % 90, c = a % 4.
    const { values } = stored.samples![0]!.sample.rows();
    for (let r = 0; r < 500; r++) assert.equal(values[r * 2 + 1], values[r * 2]! % 4);
    db.close();
  });

  it('folds the window again from the rows when a stored bucket has no sample (stored before the samples existed)', () => {
    const { db, add } = fresh();
    for (let i = 0; i < 300; i++) add(i * 20_000, i % 90);
    new SqliteWindowBuckets(db, layout, db).refresh(0);
    db.prepare('UPDATE window_buckets SET sample = NULL').run();
    const again = new SqliteWindowBuckets(db, layout, db);
    const r = again.refresh(0);
    assert.equal(again.origin, 'rebuilt');
    assert.equal(r.aggregate[0], 300);
    assert.equal(r.samples!.reduce((n, s) => n + s.sample.size, 0), 300);
    assert.equal(db.prepare('SELECT count(*) FROM window_buckets WHERE sample IS NULL').pluck().get(), 0);
    db.close();
  });

  it('stores the first change at once, later ones at most once per interval, and what is pending at flush', () => {
    const { db, add } = fresh();
    for (let i = 0; i < 100; i++) add(i * 20_000, i % 90);
    const w = new SqliteWindowBuckets(db, layout, db, 60_000);
    w.refresh(0);
    const cursor = () => db.prepare('SELECT through_seq FROM window_cursors').pluck().get();
    const storedRows = () => db.prepare('SELECT sum(rows) FROM window_buckets').pluck().get();
    assert.equal(cursor(), 100);
    for (let i = 100; i < 150; i++) add(i * 20_000, i % 90);
    assert.equal(w.refresh(0).aggregate[0], 150, 'the window in memory has every row');
    assert.equal(cursor(), 100, 'the store waits for the interval: no write lock taken at every evaluation');
    assert.equal(storedRows(), 100);
    w.flush();
    assert.equal(cursor(), 150);
    assert.equal(storedRows(), 150);
    // A new process loads what was flushed and folds nothing again.
    const next = new SqliteWindowBuckets(db, layout, db);
    assert.equal(next.refresh(0).aggregate[0], 150);
    assert.equal(next.origin, 'stored');
    db.close();
  });

  it('keeps the stored buckets when retention removed rows of the window: the window counts the predictions made', () => {
    const { db, add } = fresh();
    for (let i = 0; i < 300; i++) add(i * 20_000, i % 90);
    new SqliteWindowBuckets(db, layout, db).refresh(0);
    db.prepare('DELETE FROM predictions WHERE seq <= 100').run();
    const again = new SqliteWindowBuckets(db, layout, db);
    const r = again.refresh(0);
    assert.equal(again.origin, 'stored');
    assert.equal(r.aggregate[0], 300);
    db.close();
  });

  it('rebuilds from the rows when the stored cursor is beyond the newest row of the audit log', () => {
    const { db, add } = fresh();
    for (let i = 0; i < 300; i++) add(i * 20_000, i % 90);
    new SqliteWindowBuckets(db, layout, db).refresh(0);
    db.prepare('DELETE FROM predictions WHERE seq > 250').run();
    const again = new SqliteWindowBuckets(db, layout, db);
    const r = again.refresh(0);
    assert.equal(again.origin, 'rebuilt');
    assert.equal(r.aggregate[0], 250);
    db.close();
  });

  it('forgets the buckets of another layout (an older baseline) of the same model version', () => {
    const { db, add } = fresh();
    for (let i = 0; i < 100; i++) add(i * 20_000, i % 90);
    new SqliteWindowBuckets(db, layout, db).refresh(0);
    const other = smallLayout(32);
    add(3_000_000, 1);
    const w = new SqliteWindowBuckets(db, other, db);
    assert.equal(w.refresh(0).aggregate[0], 101);
    assert.deepEqual(db.prepare('SELECT DISTINCT layout FROM window_buckets').pluck().all(), [other.hash]);
    assert.deepEqual(db.prepare('SELECT layout FROM window_cursors').pluck().all(), [other.hash]);
    db.close();
  });
});

describe('SqliteWindowBuckets counting groups for fairness', () => {
  /** Rows with groups and a decision: SEX alternates, AGE_BAND by thirds, decision 1 for every fifth row. */
  function withGroups() {
    const { db, path } = fresh();
    const insert = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms, groups) VALUES (?, 'r', ?, 'm', '1', ?, 0.3, ?, 'low', 0.5, 1.5, 't', ?, ?)`);
    let id = 0;
    const add = (ts: number) => {
      const i = id++;
      insert.run(`g${i}`, Math.round(ts), JSON.stringify({ a: i % 90, c: i % 4 }), i % 5 === 0 ? 1 : 0, Math.round(ts), JSON.stringify({ SEX: String(1 + (i % 2)), AGE_BAND: ['<25', '25-35', '35+'][i % 3] }));
    };
    /** What a GROUP BY over the rows of event time >= fromMs answers, sorted like `sorted`. */
    const groupBy = (fromMs: number) => db.prepare('SELECT groups, decision, count(*) FROM predictions WHERE event_ts_ms >= ? GROUP BY groups, decision').raw().all(fromMs) as [string, number, number][];
    return { db, path, add, groupBy };
  }
  const sorted = (xs: readonly (readonly [string, number, number])[]) => [...xs].map((x) => [...x]).sort((a, b) => `${a[0]}${a[1]}`.localeCompare(`${b[0]}${b[1]}`));

  it('counts the window by groups and decision as a GROUP BY over the buckets\' span does, incrementally, and leaves dropped buckets out', () => {
    const { db, add, groupBy } = withGroups();
    const w = new SqliteWindowBuckets(db, layout);
    for (let i = 0; i < 900; i++) {
      add(i * 12_000);
      if (i % 200 === 0) w.refresh(0);
    }
    const all = w.refresh(0);
    assert.equal(all.groupCounts!.reduce((n, g) => n + g[2], 0), 900);
    assert.deepEqual(sorted(all.groupCounts!), sorted(groupBy(0)));
    // From 1.5 h the window starts at the bucket holding it: the counts of [1 h, …).
    const later = w.refresh(1.5 * HOUR);
    assert.deepEqual(sorted(later.groupCounts!), sorted(groupBy(HOUR)));
    db.close();
  });

  it('stores the counts with their bucket, and a new process loads them; a bucket stored without them is folded again', () => {
    const { db, add, groupBy } = withGroups();
    for (let i = 0; i < 600; i++) add(i * 12_000);
    new SqliteWindowBuckets(db, layout, db).refresh(0);
    // Rows removed by retention stay counted in the stored buckets, as in the aggregates.
    db.prepare('DELETE FROM predictions WHERE seq <= 100').run();
    const loaded = new SqliteWindowBuckets(db, layout, db);
    const r = loaded.refresh(0);
    assert.equal(loaded.origin, 'stored');
    assert.equal(r.groupCounts!.reduce((n, g) => n + g[2], 0), 600);
    db.prepare('UPDATE window_buckets SET group_counts = NULL WHERE bucket_start_ms = 0').run();
    const older = new SqliteWindowBuckets(db, layout, db);
    const again = older.refresh(0);
    assert.equal(older.origin, 'rebuilt');
    assert.deepEqual(sorted(again.groupCounts!), sorted(groupBy(0)));
    assert.equal(db.prepare('SELECT count(*) FROM window_buckets WHERE group_counts IS NULL').pluck().get(), 0);
    // Counts that do not add up to the bucket's rows are not trusted either.
    db.prepare(`UPDATE window_buckets SET group_counts = '[["{}",0,1]]' WHERE bucket_start_ms = 0`).run();
    const corrupt = new SqliteWindowBuckets(db, layout, db);
    corrupt.refresh(0);
    assert.equal(corrupt.origin, 'rebuilt');
    db.close();
  });
});

describe('SqliteWindowBuckets when the aggregates cannot be stored', () => {
  it('keeps the window from memory and says why the store failed; a process that can write stores them', () => {
    const { db, add, path } = fresh();
    for (let i = 0; i < 50; i++) add(i * 20_000, i % 90);
    const readOnly = new Database(path, { readonly: true });
    const w = new SqliteWindowBuckets(db, layout, readOnly);
    assert.equal(w.refresh(0).aggregate[0], 50);
    assert.match(w.saveError ?? '', /readonly/);
    readOnly.close();
    const again = new SqliteWindowBuckets(db, layout, db);
    assert.equal(again.refresh(0).aggregate[0], 50);
    assert.equal(again.saveError, undefined);
    assert.equal(db.prepare('SELECT sum(rows) FROM window_buckets').pluck().get(), 50);
    db.close();
  });
});
