import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { asyncBufferFromFile, parquetReadObjects } from 'hyparquet';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { PgExportReader } from '../../src/store/pg-export-rows.js';
import { openPostgres } from '../../src/store/postgres.js';
import type { ExportRow } from '../../src/store/export-rows.js';
import { tempDir } from '../helpers/app.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';
import { runVigiaCommand } from '../helpers/process.js';

const skip = postgresMissing();
let cluster: PgCluster;
let n = 0;
const T0 = Date.UTC(2026, 10, 30, 23, 59, 0);

/** A fresh database with 7 rows of model m: 5 of version 1 (two months), one of version 2, one shadow row of version 3, and labels for three. */
async function fresh() {
  const url = await cluster.createDatabase(`e${n++}`);
  const pool = await openPostgres({ url, poolSize: 4 });
  const log = new PgAuditLog(pool);
  const add = (id: string, eventTs: number, features: Record<string, number | null>, p: number, version = '1', shadowOf?: string) => log.append([{
    id, requestId: 'r', tsMs: eventTs + 5, eventTsMs: eventTs, model: 'm', modelVersion: version, features, probability: p, decision: p >= 0.5 ? 1 : 0, band: p >= 0.5 ? 'high' : 'low', threshold: 0.5, latencyMs: 1, traceId: 't', bundleHash: `hash-${version}`, ...(shadowOf === undefined ? {} : { shadowOf }),
  }]);
  // Out of order on purpose: the export orders by event time. The last two cross into December (another partition).
  await add('c', T0 + 2000, { a: 3, b: 30 }, 0.7);
  await add('a', T0, { a: 1, b: null }, 0.1);
  await add('b', T0 + 1000, { a: 2, b: 20 }, 0.6);
  await add('d', T0 + 61_000, { a: 4, b: 40 }, 0.2);
  await add('e', T0 + 62_000, { a: 5, b: 50 }, 0.3);
  await add('v2', T0 + 3000, { a: 9, b: 90 }, 0.9, '2');
  await add('shadow', T0 + 90_000, { a: 9, b: 90 }, 0.9, '3', 'e');
  await log.recordLabels([['a', 0, T0 + 10_000], ['c', 1, T0 + 20_000], ['d', 1, T0 + 70_000]], T0 + 100_000);
  return { url, log, close: async () => { await log.close(); await pool.end(); } };
}

const collect = async (rows: AsyncIterable<ExportRow>) => {
  const out: ExportRow[] = [];
  for await (const r of rows) out.push(r);
  return out;
};

/** Runs `fn` on a fresh database and a reader of it, and closes both. */
async function withReader(fn: (db: Awaited<ReturnType<typeof fresh>>, reader: PgExportReader) => Promise<void>) {
  const db = await fresh();
  const reader = await PgExportReader.open(db.url);
  try {
    await fn(db, reader);
  } finally {
    await reader.close();
    await db.close();
  }
}

if (skip === undefined) {
  before(async () => {
    cluster = await startPostgres();
  });
  after(() => cluster?.close());
}

describe('PgExportReader', { skip }, () => {
  it('reads one version\'s predictions in an event-time range, oldest first, with their labels, across partitions and fetch batches', () => withReader(async (db, reader) => {
    const rows = await collect(reader.iterate('m', '1', T0, T0 + 62_001, 2));
    assert.deepEqual(rows.map((r) => r[0]), ['a', 'b', 'c', 'd', 'e']);
    assert.deepEqual(rows[0], ['a', T0, T0 + 5, JSON.stringify({ a: 1, b: null }), 0.1, 0, 'low', 0.5, 'hash-1', 0, T0 + 10_000]);
    assert.deepEqual(rows[1]!.slice(9), [null, null], 'an unlabelled row has a null label and label time');
    assert.deepEqual(rows[2]!.slice(9), [1, T0 + 20_000]);
    assert.equal(typeof rows[0]![1], 'number', 'bigint columns are numbers');
    // The range is half-open and by event time; the other versions stay out.
    assert.deepEqual((await collect(reader.iterate('m', '1', T0 + 1000, T0 + 61_000))).map((r) => r[0]), ['b', 'c']);
    assert.deepEqual((await collect(reader.iterate('m', '2', 0, T0 + 1e9))).map((r) => r[0]), ['v2']);
    assert.deepEqual(await collect(reader.iterate('other', '1', 0, T0 + 1e9)), []);
  }));

  it('names the latest answered version: a shadow candidate\'s rows do not make it the latest', () => withReader(async (db, reader) => {
    assert.equal(await reader.latestVersion('m'), '1');
    assert.equal(await reader.latestVersion('nope'), undefined);
  }));

  it('reads one snapshot: rows committed while the export runs are not in it, and a consumer that stops early leaves no transaction open', () => withReader(async (db, reader) => {
    const seen: string[] = [];
    for await (const r of reader.iterate('m', '1', 0, T0 + 1e9, 1)) {
      seen.push(r[0]);
      if (seen.length === 1) {
        await db.log.append([{ id: 'late', requestId: 'r', tsMs: T0 + 1, eventTsMs: T0 + 1, model: 'm', modelVersion: '1', features: { a: 0, b: 0 }, probability: 0.1, decision: 0, band: 'low', threshold: 0.5, latencyMs: 1, traceId: 't' }]);
        await db.log.recordLabels([['b', 1, T0 + 1]], T0 + 1);
      }
    }
    assert.deepEqual(seen, ['a', 'b', 'c', 'd', 'e'], 'the row committed after the export began is not in it');
    // Stop after one row: the transaction ends, so the next read sees the new rows.
    for await (const r of reader.iterate('m', '1', 0, T0 + 1e9, 2)) {
      assert.equal(r[0], 'a');
      break;
    }
    const again = await collect(reader.iterate('m', '1', 0, T0 + 1e9));
    assert.deepEqual(again.map((r) => r[0]), ['a', 'late', 'b', 'c', 'd', 'e']);
    assert.deepEqual(again[2]!.slice(9), [1, T0 + 1]);
  }));

  it('runs as `vigia export --db postgres://…`: the file round-trips, and a bad model or an unreachable server is named', async () => {
    const db = await fresh();
    const tmp = tempDir('vigia-pg-export-');
    try {
      const out = join(tmp.dir, 'm.csv');
      const run = await runVigiaCommand(['export', '--model', 'm', '--from', '0', '--out', out, '--db', db.url]);
      assert.equal(run.code, 0, run.output);
      assert.match(run.output, /vigia: exporting m 1 from 1970-01-01T00:00:00\.000Z to .* \(csv\)/);
      assert.match(run.output, /vigia: wrote 5 rows \(2 features, probability, decision, label\) to .*m\.csv/);
      const [header, ...lines] = readFileSync(out, 'utf8').trimEnd().split('\n');
      assert.equal(header, 'prediction_id,event_time_ms,decision_time_ms,a,b,probability,decision,band,threshold,label,label_time_ms,bundle_hash');
      assert.deepEqual(lines, [
        `a,${T0},${T0 + 5},1,,0.1,0,low,0.5,0,${T0 + 10_000},hash-1`,
        `b,${T0 + 1000},${T0 + 1005},2,20,0.6,1,high,0.5,,,hash-1`,
        `c,${T0 + 2000},${T0 + 2005},3,30,0.7,1,high,0.5,1,${T0 + 20_000},hash-1`,
        `d,${T0 + 61_000},${T0 + 61_005},4,40,0.2,0,low,0.5,1,${T0 + 70_000},hash-1`,
        `e,${T0 + 62_000},${T0 + 62_005},5,50,0.3,0,low,0.5,,,hash-1`,
      ]);
      const pq = join(tmp.dir, 'v2.parquet');
      const v2 = await runVigiaCommand(['export', '--model', 'm', '--version', '2', '--from', '0', '--out', pq], { VIGIA_DB: db.url });
      assert.equal(v2.code, 0, v2.output);
      assert.deepEqual((await parquetReadObjects({ file: await asyncBufferFromFile(pq) })).map((o) => o['prediction_id']), ['v2'], 'VIGIA_DB names the PostgreSQL log when --db is absent');
      const missing = await runVigiaCommand(['export', '--model', 'nope', '--out', join(tmp.dir, 'x.csv'), '--db', db.url.replace('postgres://postgres@', 'postgres://postgres:secret@')]);
      assert.equal(missing.code, 2, missing.output);
      assert.match(missing.output, /--model "nope": has no prediction in postgres:\/\/postgres:\*\*\*@/);
      const down = await runVigiaCommand(['export', '--model', 'm', '--out', join(tmp.dir, 'y.csv'), '--db', 'postgres://postgres@127.0.0.1:1/vigia']);
      assert.equal(down.code, 1, down.output);
      assert.match(down.output, /vigia: cannot read the PostgreSQL audit log at postgres:\/\/postgres@127\.0\.0\.1:1\/vigia: .*ECONNREFUSED/);
    } finally {
      tmp.remove();
      await db.close();
    }
  });
});
