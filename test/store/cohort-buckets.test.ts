import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { cohortAggregateLayout, labelledCount } from '../../src/performance/cohort-aggregate.js';
import { SqliteAuditLog, type AuditRecord } from '../../src/store/audit-log.js';
import type { CohortGroupCount } from '../../src/fairness/report.js';
import { SqliteCohortBuckets } from '../../src/store/cohort-buckets.js';
import { openDatabase } from '../../src/store/database.js';
import { FairnessCountReader } from '../../src/store/fairness-counts.js';
import { BUCKET_MS } from '../../src/store/window-buckets.js';
import { tempDir } from '../helpers/app.js';
import { sameAggregate } from '../helpers/same-aggregate.js';

const tmp = tempDir();
after(() => tmp.remove());

const HOUR = BUCKET_MS;
const T0 = Date.UTC(2026, 0, 1);
const layout = cohortAggregateLayout(0.5);

function fresh() {
  const path = join(tmp.dir, `c${Math.random()}.db`);
  const db = openDatabase({ path, synchronous: 'NORMAL' });
  const insert = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms) VALUES (?, 'r', ?, ?, '1', '{}', ?, 0, 'low', 0.5, 1, 't', ?)`);
  const insertLabel = db.prepare(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability) VALUES (?, ?, 0, 0, ?, '1', ?, ?)`);
  const predictions = new Map<string, [number, number, string]>();
  let id = 0;
  const add = (ts: number, p: number, model = 'm') => {
    const key = `id${id++}`;
    insert.run(key, ts, model, p, ts);
    predictions.set(key, [ts, p, model]);
    return key;
  };
  const label = (key: string, y: number) => {
    const [ts, p, model] = predictions.get(key)!;
    insertLabel.run(key, y, model, ts, p);
  };
  /** Every hour folded at once from the rows, in memory only: what the incremental and stored buckets must equal. */
  const fromRows = (fromMs: number, toMs: number) => new SqliteCohortBuckets(db, 'm', '1', layout).refresh(fromMs, toMs);
  return { db, path, add, label, fromRows };
}

describe('SqliteCohortBuckets', () => {
  it('counts the predictions and folds the labels of its own model version into the hour of the prediction, and drops the hours before the cohort', () => {
    const { db, add, label } = fresh();
    const ids = Array.from({ length: 30 }, (_, i) => add(T0 + i * 20 * 60_000, (i % 10) / 10)); // 3 per hour, hours 0..9
    ids.forEach((id, i) => i % 2 === 0 && label(id, i % 4 === 0 ? 1 : 0));
    label(add(T0, 0.9, 'other'), 1);
    const b = new SqliteCohortBuckets(db, 'm', '1', layout);
    const c = b.refresh(T0 + 30 * 60_000, T0 + 5 * HOUR + 59 * 60_000);
    assert.deepEqual([c.fromMs, c.toMs], [T0, T0 + 5 * HOUR], 'aligned: from the hour holding the start to the last hour wholly matured');
    assert.equal(c.matured, 15);
    assert.equal(c.labelled, 8); // i = 0, 2, ..., 14
    assert.equal(labelledCount(c.aggregate), 8);
    const later = b.refresh(T0 + 4 * HOUR, T0 + 10 * HOUR);
    assert.equal(later.matured, 18);
    assert.equal(later.labelled, 9); // i = 12, 14, ..., 28
    assert.equal(b.labelled, 9, 'the hours before the cohort are gone');
  });

  it('folds a label that arrives late for an old hour exactly once, into that hour', () => {
    const { db, add, label, fromRows } = fresh();
    const ids = Array.from({ length: 48 }, (_, i) => add(T0 + i * HOUR + 1000, ((i * 7) % 100) / 100));
    for (let i = 24; i < 48; i++) label(ids[i]!, i % 3 === 0 ? 1 : 0);
    const b = new SqliteCohortBuckets(db, 'm', '1', layout);
    assert.equal(b.refresh(T0, T0 + 48 * HOUR).labelled, 24);
    label(ids[2]!, 1); // a day late, for hour 2
    const c = b.refresh(T0, T0 + 48 * HOUR);
    assert.equal(c.labelled, 25);
    assert.equal(b.refresh(T0, T0 + 48 * HOUR).labelled, 25, 'and not again');
    assert.equal(b.refresh(T0 + 2 * HOUR, T0 + 3 * HOUR).labelled, 1, 'in the hour of its prediction');
    sameAggregate(b.refresh(T0, T0 + 48 * HOUR).aggregate, fromRows(T0, T0 + 48 * HOUR).aggregate);
    // A label is never overwritten: the same prediction cannot be labelled twice.
    assert.throws(() => label(ids[2]!, 0), /UNIQUE constraint failed: labels.prediction_id/);
  });

  it('never reuses a label\'s number when the newest label is deleted, so the next one is still folded', () => {
    const { db, add, label } = fresh();
    const ids = Array.from({ length: 10 }, (_, i) => add(T0 + i * 1000, i / 10));
    for (let i = 0; i < 5; i++) label(ids[i]!, 1);
    const b = new SqliteCohortBuckets(db, 'm', '1', layout);
    assert.equal(b.refresh(T0, T0 + HOUR).labelled, 5);
    // Retention deletes the newest label (a plain rowid would be handed out again).
    db.prepare('DELETE FROM labels WHERE prediction_id = ?').run(ids[4]);
    label(ids[5]!, 0);
    assert.equal(b.refresh(T0, T0 + HOUR).labelled, 6);
  });

  it('never misses a committed label while concurrent writers append predictions and labels through the group-commit writer', async () => {
    const { db, path } = fresh();
    const log = await SqliteAuditLog.open({ path, synchronous: 'NORMAL' });
    const b = new SqliteCohortBuckets(new Database(path, { readonly: true }), 'm', '1', layout);
    const record = (id: string, i: number): AuditRecord => ({ id, requestId: 'r', tsMs: T0, eventTsMs: T0 + (i % 5) * HOUR, model: 'm', modelVersion: '1', features: {}, probability: (i % 100) / 100, decision: 0, band: 'low', threshold: 0.5, latencyMs: 1, traceId: 't' });
    const writers = Array.from({ length: 4 }, async (_, k) => {
      for (let i = 0; i < 100; i++) {
        await log.append([record(`w${k}-${i}`, i)]);
        await log.recordLabels([[`w${k}-${i}`, i % 2 === 0 ? 0 : 1, T0 + 10 * HOUR]], T0 + 10 * HOUR);
      }
    });
    let reading = true;
    let refreshes = 0;
    const reads = (async () => {
      while (reading) {
        b.refresh(T0, T0 + 5 * HOUR);
        refreshes++;
        await new Promise((r) => setTimeout(r, 2));
      }
    })();
    await Promise.all(writers);
    reading = false;
    await reads;
    await log.close();
    const c = b.refresh(T0, T0 + 5 * HOUR);
    assert.ok(refreshes > 3, `${refreshes} refreshes during the writes`);
    assert.equal(c.matured, 400);
    assert.equal(c.labelled, 400, 'every committed label folded exactly once');
    db.close();
  });

  it('stores the hours and both cursors, and a new process loads them and folds only what was committed since', () => {
    const { db, path, add, label, fromRows } = fresh();
    const ids = Array.from({ length: 200 }, (_, i) => add(T0 + i * 60_000, (i % 97) / 97));
    for (let i = 0; i < 100; i++) label(ids[i]!, i % 2);
    const writer = new Database(path);
    const first = new SqliteCohortBuckets(db, 'm', '1', layout, writer);
    first.refresh(T0, T0 + 4 * HOUR);
    assert.equal(first.origin, 'rows');
    for (let i = 100; i < 150; i++) label(ids[i]!, i % 3 === 0 ? 1 : 0);
    const second = new SqliteCohortBuckets(db, 'm', '1', layout, writer);
    const c = second.refresh(T0, T0 + 4 * HOUR);
    assert.equal(second.origin, 'stored');
    assert.equal(c.labelled, 150);
    assert.equal(c.matured, 200);
    sameAggregate(c.aggregate, fromRows(T0, T0 + 4 * HOUR).aggregate);
    const stored = writer.prepare("SELECT sum(labelled) AS l, sum(matured) AS m FROM cohort_buckets WHERE model = 'm'").get() as { l: number; m: number };
    assert.deepEqual(stored, { l: 150, m: 200 });
    writer.close();
  });

  it('stores the first change at once, later ones at most once per interval, and what is pending at flush', () => {
    const { db, path, add, label } = fresh();
    const ids = Array.from({ length: 100 }, (_, i) => add(T0 + i * 60_000, (i % 97) / 97));
    for (let i = 0; i < 50; i++) label(ids[i]!, i % 2);
    const writer = new Database(path);
    const b = new SqliteCohortBuckets(db, 'm', '1', layout, writer, 60_000);
    b.refresh(T0, T0 + 4 * HOUR);
    const storedLabels = () => writer.prepare("SELECT sum(labelled) FROM cohort_buckets WHERE model = 'm'").pluck().get();
    assert.equal(storedLabels(), 50);
    for (let i = 50; i < 80; i++) label(ids[i]!, i % 2);
    assert.equal(b.refresh(T0, T0 + 4 * HOUR).labelled, 80, 'the cohort in memory has every label');
    assert.equal(storedLabels(), 50, 'the store waits for the interval');
    b.flush();
    assert.equal(storedLabels(), 80);
    const next = new SqliteCohortBuckets(db, 'm', '1', layout, writer);
    assert.equal(next.refresh(T0, T0 + 4 * HOUR).labelled, 80);
    assert.equal(next.origin, 'stored');
    writer.close();
  });

  it('rebuilds from the rows when the stored hours disagree with the audit log, or were built at another threshold', () => {
    const { db, path, add, label, fromRows } = fresh();
    const ids = Array.from({ length: 50 }, (_, i) => add(T0 + i * 60_000, i / 50));
    for (let i = 0; i < 50; i += 2) label(ids[i]!, 1);
    const writer = new Database(path);
    new SqliteCohortBuckets(db, 'm', '1', layout, writer).refresh(T0, T0 + HOUR);
    writer.prepare('UPDATE cohort_buckets SET labelled = labelled + 1').run();
    const again = new SqliteCohortBuckets(db, 'm', '1', layout, writer);
    sameAggregate(again.refresh(T0, T0 + HOUR).aggregate, fromRows(T0, T0 + HOUR).aggregate);
    assert.equal(again.origin, 'rebuilt');
    assert.equal((writer.prepare('SELECT sum(labelled) AS l FROM cohort_buckets').get() as { l: number }).l, 25, 'the stored hours are replaced');
    const other = new SqliteCohortBuckets(db, 'm', '1', cohortAggregateLayout(0.3), writer);
    assert.equal(other.refresh(T0, T0 + HOUR).labelled, 25);
    assert.equal(other.origin, 'rebuilt');
    writer.close();
  });

  /** 120 predictions over two hours with varied groups and decisions, 100 of them labelled; the exact path's GROUP BY over them. */
  function withGroups() {
    const f = fresh();
    const ids = Array.from({ length: 120 }, (_, i) => f.add(T0 + i * 60_000, (i % 97) / 97));
    const set = f.db.prepare('UPDATE predictions SET groups = ?, decision = ? WHERE id = ?');
    ids.forEach((id, i) => set.run(JSON.stringify({ SEX: i % 3 === 0 ? 'female' : 'male', AGE: i % 5 === 0 ? '<25' : '25+' }), i % 2, id));
    for (let i = 0; i < 100; i++) f.label(ids[i]!, i % 7 === 0 ? 1 : 0);
    const exact = sorted(new FairnessCountReader(f.db).cohortCounts('m', '1', T0, T0 + 2 * HOUR));
    assert.equal(exact.reduce((n, c) => n + c[3], 0), 100);
    assert.ok(exact.length >= 8, 'every combination of groups, decision and label that occurs');
    return { ...f, ids, exact };
  }
  const sorted = (counts: readonly CohortGroupCount[]) => [...counts].sort((a, b) => (JSON.stringify(a) < JSON.stringify(b) ? -1 : 1));

  it('counts each label in the cell of its prediction\'s groups and decision, as the exact path\'s GROUP BY does, and keeps the counts through a store and a load', () => {
    const { db, path, exact } = withGroups();
    const writer = new Database(path);
    const first = new SqliteCohortBuckets(db, 'm', '1', layout, writer);
    assert.deepEqual(sorted(first.refresh(T0, T0 + 2 * HOUR).groupCounts), exact);
    const loaded = new SqliteCohortBuckets(db, 'm', '1', layout, writer);
    assert.deepEqual(sorted(loaded.refresh(T0, T0 + 2 * HOUR).groupCounts), exact);
    assert.equal(loaded.origin, 'stored');
    writer.close();
  });

  it('folds the cohort again from the rows when its stored hours have no group counts (stored before they were kept), or counts that cannot be right', () => {
    const { db, path, exact } = withGroups();
    const writer = new Database(path);
    new SqliteCohortBuckets(db, 'm', '1', layout, writer).refresh(T0, T0 + 2 * HOUR);
    for (const stored of [null, JSON.stringify([['{}', 1, 1, 1000]])]) {
      writer.prepare('UPDATE cohort_buckets SET group_counts = ?').run(stored);
      const again = new SqliteCohortBuckets(db, 'm', '1', layout, writer);
      assert.deepEqual(sorted(again.refresh(T0, T0 + 2 * HOUR).groupCounts), exact);
      assert.equal(again.origin, 'rebuilt', String(stored));
      const counted = writer.prepare('SELECT group_counts FROM cohort_buckets WHERE data IS NOT NULL').pluck().all() as string[];
      assert.ok(counted.length > 0 && counted.every((c) => c !== stored), 'the stored hours are replaced, with their counts');
    }
    writer.close();
  });

  it('leaves a label whose prediction is gone out of every cell, as the exact path\'s join does, and keeps it in the metrics', () => {
    const { db, ids } = withGroups();
    db.prepare('DELETE FROM predictions WHERE id = ?').run(ids[0]!);
    const c = new SqliteCohortBuckets(db, 'm', '1', layout).refresh(T0, T0 + 2 * HOUR);
    assert.equal(c.labelled, 100);
    assert.deepEqual(sorted(c.groupCounts), sorted(new FairnessCountReader(db).cohortCounts('m', '1', T0, T0 + 2 * HOUR)));
    assert.equal(c.groupCounts.reduce((n, g) => n + g[3], 0), 99);
  });
});
