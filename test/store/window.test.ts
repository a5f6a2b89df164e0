import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sampleKey } from '../../src/drift/bucket-sample.js';
import { openDatabase } from '../../src/store/database.js';
import { WindowCache } from '../../src/store/window.js';
import { tempDir } from '../helpers/app.js';

const tmp = tempDir();
after(() => tmp.remove());

function fresh() {
  const db = openDatabase({ path: join(tmp.dir, `w${Math.random()}.db`), synchronous: 'NORMAL' });
  const insert = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms) VALUES (?, 'r', ?, ?, ?, ?, ?, 0, 'low', 0.5, 1.5, 't', ?)`);
  let id = 0;
  const add = (ts: number, features: Record<string, unknown>, p = 0.1, model = 'm', version = '1') => insert.run(`id${id++}`, ts, model, version, JSON.stringify(features), p, ts);
  return { db, add };
}

describe('WindowCache', () => {
  it('reads the window as columns, with null and absent values as NaN, and only its own model version', () => {
    const { db, add } = fresh();
    add(1000, { a: 1, b: 2 }, 0.3);
    add(1001, { a: null, b: 4 }, 0.4);
    add(1002, { a: 5 }, 0.5);
    add(1003, { a: 9, b: 9 }, 0.9, 'other');
    add(1004, { a: 9, b: 9 }, 0.9, 'm', '2');
    const w = new WindowCache(db, 'm', '1', ['a', 'b']).refresh(0);
    assert.equal(w.n, 3);
    assert.deepEqual([...w.columns.get('a')!], [1, NaN, 5]);
    // Each row carries its sample key (the hash of its prediction id): attribution drift's sample.
    assert.deepEqual([...w.keys!], ['id0', 'id1', 'id2'].map(sampleKey));
    assert.deepEqual([...w.columns.get('b')!], [2, 4, NaN]);
    assert.deepEqual([...w.scores], [0.3, 0.4, 0.5]);
    assert.deepEqual([...w.latencyMs], [1.5, 1.5, 1.5]);
    db.close();
  });

  it('reads only new rows on each refresh and drops the rows that left the window', () => {
    const { db, add } = fresh();
    const cache = new WindowCache(db, 'm', '1', ['a']);
    for (let i = 0; i < 5000; i++) add(i, { a: i });
    assert.equal(cache.refresh(0).n, 5000);
    for (let i = 5000; i < 7000; i++) add(i, { a: i });
    const w = cache.refresh(3000);
    assert.equal(w.n, 4000);
    assert.equal(w.columns.get('a')![0], 3000);
    assert.equal(w.columns.get('a')![3999], 6999);
    assert.equal(w.tsMs[0], 3000);
    db.close();
  });

  it('keeps every row through growth and compaction over a long run', () => {
    const { db, add } = fresh();
    const cache = new WindowCache(db, 'm', '1', ['a']);
    let ts = 0;
    for (let round = 0; round < 30; round++) {
      for (let i = 0; i < 700; i++, ts++) add(ts, { a: ts });
      const from = Math.max(0, ts - 2000);
      const w = cache.refresh(from);
      assert.equal(w.n, ts - from, `round ${round}`);
      const a = w.columns.get('a')!;
      for (let i = 0; i < a.length; i++) assert.equal(a[i], from + i);
    }
    db.close();
  });

  it('starts from the audit log alone: a new cache rebuilds the same window', () => {
    const { db, add } = fresh();
    for (let i = 0; i < 300; i++) add(i, { a: i % 7 });
    const a = new WindowCache(db, 'm', '1', ['a']).refresh(100);
    const b = new WindowCache(db, 'm', '1', ['a']).refresh(100);
    assert.deepEqual([...a.columns.get('a')!], [...b.columns.get('a')!]);
    assert.equal(a.n, 200);
    db.close();
  });
});
