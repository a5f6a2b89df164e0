import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { verifyArchives } from '../../src/store/archive-verify.js';
import type { AuditRecord } from '../../src/store/audit-log.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { PgObservationStore } from '../../src/store/pg-observations.js';
import { PG_ARCHIVE_PATTERN, pgRetentionPass, type PgRetentionOptions } from '../../src/store/pg-retention.js';
import { ADVISORY_LOCKS, openPostgres } from '../../src/store/postgres.js';
import { RetentionScheduler } from '../../src/store/retention-scheduler.js';
import { tempDir } from '../helpers/app.js';
import { runVigiaCommand } from '../helpers/process.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const skip = postgresMissing();
let cluster: PgCluster;
const tmp = tempDir();
let n = 0;

const JAN = Date.UTC(2024, 0, 10);
const FEB = Date.UTC(2024, 1, 10);
const MAR = Date.UTC(2024, 2, 10);
/** Months before March 2024 are past retention. */
const CUTOFF = Date.UTC(2024, 2, 1);

const record = (id: string, eventTsMs: number, i: number): AuditRecord => ({
  id, requestId: `r${i}`, tsMs: eventTsMs + i, eventTsMs: eventTsMs + i, model: 'm', modelVersion: '1', features: { a: i, b: i % 3 === 0 ? null : 'x' },
  probability: (i % 100) / 100, decision: (i % 2) as 0 | 1, band: 'low', threshold: 0.5, latencyMs: 1.25, traceId: 't',
  groups: { SEX: String(1 + (i % 2)) }, bundleHash: 'b'.repeat(64),
});

/**
 * A fresh database with `perMonth` predictions in each of January, February and March 2024
 * (ids `<month>-<i>`, sorting in insertion order), every third one labelled.
 */
async function logged(perMonth: number) {
  const url = await cluster.createDatabase(`r${n++}`);
  const pool = await openPostgres({ url, poolSize: 4 });
  const log = new PgAuditLog(pool);
  const ids: Record<string, string[]> = { jan: [], feb: [], mar: [] };
  for (const [month, t] of [['jan', JAN], ['feb', FEB], ['mar', MAR]] as const) {
    for (let start = 0; start < perMonth; start += 500) {
      const records = Array.from({ length: Math.min(500, perMonth - start) }, (_x, j) => record(`${month}-${String(start + j).padStart(6, '0')}`, t, start + j));
      ids[month]!.push(...records.map((r) => r.id));
      await log.append(records);
    }
    const labelled = ids[month]!.filter((_id, i) => i % 3 === 0);
    await log.recordLabels(labelled.map((id) => [id, 1, t + 86_400_000]), t + 86_400_000);
  }
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const archiveDir = join(tmp.dir, `a${n}`);
  const count = async (table: string) => Number((await pool.query<{ n: string }>(`SELECT count(*) AS n FROM ${table}`)).rows[0]!.n);
  const tables = async () => (await pool.query<{ relname: string }>(`SELECT relname FROM pg_class WHERE relkind = 'r' AND relname ~ '^(predictions|labels)_2024' ORDER BY relname`)).rows.map((r) => r.relname);
  const options = (extra: Partial<PgRetentionOptions> = {}): PgRetentionOptions => ({ cutoffMs: CUTOFF, nowMs: MAR, archiveDir, sizeBudgetBytes: 0, replica: 'test-1', linkRows: 100, rowsPerFile: 1000, ...extra });
  return {
    url, pool, log, client, ids, archiveDir, count, tables, options,
    close: async () => {
      await client.end().catch(() => undefined);
      await log.close();
      await pool.end();
    },
  };
}

type Line = { kind: string; row: unknown[]; label: number | null; label_ts_ms: number | null; partition?: string; engine?: string; replica?: string };

/** Every line of the PostgreSQL archives of `dir`, in name order. */
function archiveLines(dir: string): Line[] {
  return readdirSync(dir).filter((f) => PG_ARCHIVE_PATTERN.test(f)).sort()
    .flatMap((f) => gunzipSync(readFileSync(join(dir, f))).toString('utf8').trimEnd().split('\n').map((l) => JSON.parse(l) as Line));
}
const archivedIds = (dir: string) => archiveLines(dir).filter((l) => l.kind === 'prediction').map((l) => l.row[1] as string);

describe('retention on PostgreSQL, by partition', { skip }, () => {
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.close();
    tmp.remove();
  });

  it('archives the months past retention with their labels, then drops their partitions, and leaves the months inside retention untouched', async () => {
    const db = await logged(1200);
    const pass = await pgRetentionPass(db.client, db.options());
    assert.deepEqual(pass.months, ['predictions_202401', 'predictions_202402']);
    assert.equal(pass.rows, 2400);
    assert.equal(pass.files, 4, 'a month of 1,200 rows in files of at most 1,000');
    assert.deepEqual(await db.tables(), ['labels_202403', 'predictions_202403'], 'both months\' predictions and labels partitions are gone');
    assert.deepEqual(archivedIds(db.archiveDir), [...db.ids['jan']!, ...db.ids['feb']!], 'every archived row once, in id order, oldest month first');
    const remaining = (await db.pool.query<{ id: string }>('SELECT id FROM predictions ORDER BY id')).rows.map((r) => r.id);
    assert.deepEqual(remaining, db.ids['mar'], 'archive + database = every row ever written');
    assert.equal(await db.count('labels'), 400, 'only the March labels are left: the labels table is bounded with the predictions');
    const lines = archiveLines(db.archiveDir);
    const header = lines[0]!;
    assert.equal(header.engine, 'postgres');
    assert.equal(header.partition, 'predictions_202401');
    assert.equal(header.replica, 'test-1');
    const preds = lines.filter((l) => l.kind === 'prediction');
    assert.deepEqual(preds.slice(0, 4).map((l) => l.label), [1, null, null, 1], 'labels travel with their rows');
    assert.equal(preds[0]!.label_ts_ms, JAN + 86_400_000);
    assert.deepEqual(preds[0]!.row.slice(0, 5), [1, 'jan-000000', 'r0', JAN, 'm'], 'seq is the row\'s place in its writer\'s chain; times are numbers');
    assert.deepEqual((await db.pool.query('SELECT link, archived_rows FROM audit_archive_checkpoint')).rows, [{ link: '24', archived_rows: '2400' }]);
    await db.close();
  });

  it('writes archives that verify, chained from one pass to the next through the checkpoint, and finds an altered byte', async () => {
    const db = await logged(300);
    await pgRetentionPass(db.client, db.options({ cutoffMs: Date.UTC(2024, 1, 1) }));
    await pgRetentionPass(db.client, db.options());
    const files = readdirSync(db.archiveDir).sort();
    assert.deepEqual(files, [
      'vigia-audit-postgres-000000000001-000000000003-predictions_202401.jsonl.gz',
      'vigia-audit-postgres-000000000004-000000000006-predictions_202402.jsonl.gz',
    ]);
    const ok = verifyArchives(db.archiveDir, 'postgres');
    assert.equal(ok.ok, true, ok.firstBreak?.reason);
    assert.equal(ok.rows, 600);
    assert.equal(ok.links, 6);
    assert.equal(ok.head, (await db.pool.query<{ hash: string }>('SELECT hash FROM audit_archive_checkpoint')).rows[0]!.hash, 'the archives end where the checkpoint says');
    assert.equal(verifyArchives(db.archiveDir, 'sqlite').files, 0, 'the SQLite chain does not read PostgreSQL archives');

    const second = join(db.archiveDir, files[1]!);
    const text = gunzipSync(readFileSync(second)).toString('utf8');
    writeFileSync(second, gzipSync(text.replace('"feb-000150"', '"feb-000151"')));
    const broken = verifyArchives(db.archiveDir, 'postgres');
    assert.equal(broken.ok, false);
    assert.equal(broken.firstBreak?.file, files[1]);
    assert.match(broken.firstBreak!.reason, /archived row seq 451 \(prediction feb-000151\) does not match its hash/);
    await db.close();
  });

  it('verifies the archives and the live chains with `vigia audit verify --db postgres://…` against the database\'s checkpoint, and finds an archive removed', async () => {
    const db = await logged(300);
    await pgRetentionPass(db.client, db.options());
    const run = await runVigiaCommand(['audit', 'verify', '--db', db.url, '--archive-dir', db.archiveDir]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.stdout, /^audit log postgres:\/\/postgres@127\.0\.0\.1:\d+\/r\d+: intact — 300 rows in 1 links of 1 writers verified after 600 archived rows in 2 files in [\d.]+ s; register head [0-9a-f]{64}\n$/);
    rmSync(join(db.archiveDir, readdirSync(db.archiveDir).sort()[1]!));
    const broken = await runVigiaCommand(['audit', 'verify', '--db', db.url, '--archive-dir', db.archiveDir]);
    assert.equal(broken.code, 1, broken.output);
    assert.match(broken.stdout, /BROKEN — the database .* says 600 rows were archived up to link 6 .* the archives hold 300 rows in 3 links .*: an archive is missing, extra or replaced/);
    await db.close();
  });

  it('loses nothing when a replica dies between writing the archive and dropping the month: the next pass archives it again', async () => {
    const db = await logged(300);
    // An uncommitted checkpoint row: the pass blocks inside its DROP transaction, after its archive is on disk.
    const blocker = new pg.Client({ connectionString: db.url });
    await blocker.connect();
    await blocker.query('BEGIN');
    await blocker.query(`INSERT INTO audit_archive_checkpoint VALUES (1, 0, '', 0)`);
    db.client.on('error', () => undefined);
    const dying = pgRetentionPass(db.client, db.options({ cutoffMs: Date.UTC(2024, 1, 1) })).catch((err: Error) => err);
    let pid: number | undefined;
    for (let i = 0; i < 200 && pid === undefined; i++) {
      const r = await db.pool.query<{ pid: number }>(`SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE 'INSERT INTO audit_archive_checkpoint%'`);
      pid = r.rows[0]?.pid;
      if (pid === undefined) await new Promise((r) => setTimeout(r, 25));
    }
    assert.ok(pid !== undefined, 'the pass reached its DROP transaction');
    const [file] = readdirSync(db.archiveDir);
    assert.match(file!, PG_ARCHIVE_PATTERN, 'the archive was renamed into place before the drop');
    assert.deepEqual(archivedIds(db.archiveDir), db.ids['jan'], 'and holds every row of the month');
    await db.pool.query('SELECT pg_terminate_backend($1)', [pid]);
    assert.ok((await dying) instanceof Error, 'the replica died mid-purge');
    await blocker.query('ROLLBACK');
    await blocker.end();
    assert.equal(await db.count('predictions_202401'), 300, 'its DROP rolled back: the detached month is still in the database');

    const next = new pg.Client({ connectionString: db.url });
    await next.connect();
    const pass = await pgRetentionPass(next, db.options({ cutoffMs: Date.UTC(2024, 1, 1) }));
    await next.end();
    assert.deepEqual(pass.months, ['predictions_202401'], 'the detached month is taken up by the next pass');
    assert.deepEqual(archivedIds(db.archiveDir), db.ids['jan'], 'every row archived exactly once');
    assert.deepEqual(await db.tables(), ['labels_202402', 'labels_202403', 'predictions_202402', 'predictions_202403']);
    const ok = verifyArchives(db.archiveDir, 'postgres');
    assert.equal(ok.ok, true, ok.firstBreak?.reason);
    await db.close();
  });

  it('takes up first a month that a dead pass left detached, with its labels', async () => {
    const db = await logged(100);
    await db.pool.query('ALTER TABLE predictions DETACH PARTITION predictions_202401 CONCURRENTLY');
    assert.equal(await db.count('predictions'), 200, 'detached: out of the predictions');
    const pass = await pgRetentionPass(db.client, db.options({ cutoffMs: 0 }));
    assert.deepEqual(pass.months, ['predictions_202401'], 'a detached month goes first, whatever the cutoff');
    assert.deepEqual(archivedIds(db.archiveDir), db.ids['jan']);
    assert.equal(archiveLines(db.archiveDir).filter((l) => l.kind === 'prediction' && l.label === 1).length, 34, 'its labels, still attached then, went with it');
    await db.close();
  });

  it('lets predictions of the current month be logged throughout a purge, none failing or lost', async () => {
    const db = await logged(1500);
    let purging = true;
    const appended: string[] = [];
    const writer = (async () => {
      for (let i = 0; purging; i++) {
        const id = `mar-late-${String(i).padStart(5, '0')}`;
        await db.log.append([record(id, MAR, i)]);
        appended.push(id);
      }
    })();
    const pass = await pgRetentionPass(db.client, db.options());
    purging = false;
    await writer;
    assert.equal(pass.rows, 3000);
    assert.ok(appended.length > 0, 'rows were logged while the months were detached, archived and dropped');
    const stored = (await db.pool.query<{ id: string }>(`SELECT id FROM predictions WHERE id LIKE 'mar-late-%' ORDER BY id`)).rows.map((r) => r.id);
    assert.deepEqual(stored, appended);
    await db.close();
  });

  it('deletes the ids of a dropped month\'s observations with it, keeping those of the months inside retention', async () => {
    const db = await logged(10);
    const observations = new PgObservationStore(db.pool);
    const observed = (id: string, t: number) => ({ ...record(id, t, 0), source: 'observed' as const });
    await observations.observe([observed('obs-jan', JAN), observed('obs-mar', MAR)]);
    await pgRetentionPass(db.client, db.options());
    assert.deepEqual((await db.pool.query<{ id: string }>('SELECT id FROM observed_ids ORDER BY id')).rows.map((r) => r.id), ['obs-mar']);
    assert.equal((await observations.observe([observed('obs-mar', MAR)]))[0]!.status, 'duplicate', 'a retry of a kept month is still recognised');
    await observations.close();
    await db.close();
  });

  it('does nothing while another replica holds the retention lock', async () => {
    const db = await logged(100);
    const other = new pg.Client({ connectionString: db.url });
    await other.connect();
    await other.query('SELECT pg_advisory_lock($1)', [ADVISORY_LOCKS.retention]);
    const pass = await pgRetentionPass(db.client, db.options());
    assert.equal(pass.busy, true);
    assert.equal(await db.count('predictions'), 300);
    assert.equal(existsSync(db.archiveDir), false, 'no archive written');
    await other.end();
    assert.equal((await pgRetentionPass(db.client, db.options())).rows, 200, 'the lock is free once that replica\'s connection ends');
    await db.close();
  });

  it('archives and drops the oldest months first while the partitions are over the size budget, never the current month', async () => {
    const db = await logged(200);
    const pass = await pgRetentionPass(db.client, db.options({ cutoffMs: 0, sizeBudgetBytes: 1 }));
    assert.deepEqual(pass.months, ['predictions_202401', 'predictions_202402']);
    assert.equal(await db.count('predictions'), 200, 'March, the current month, stays whatever its size');
    const roomy = await pgRetentionPass(db.client, db.options({ cutoffMs: 0, sizeBudgetBytes: 1e12, nowMs: Date.UTC(2024, 5, 1) }));
    assert.equal(roomy.rows, 0, 'under the budget nothing inside retention goes');
    await db.close();
  });

  it('lets a replica that had created a dropped month\'s partition log a row for that month again', async () => {
    const db = await logged(10);
    await pgRetentionPass(db.client, db.options());
    await db.log.append([record('late-jan', JAN, 0)]);
    assert.equal(await db.count('predictions_202401'), 1, 'the partition was created again for the late row');
    await db.close();
  });

  it('runs on its own thread from the retention scheduler, counting the archived rows', async () => {
    const db = await logged(100);
    const seen: number[] = [];
    const s = await RetentionScheduler.start({ db: { engine: 'postgres', url: db.url }, archiveDir: db.archiveDir, retentionMs: MAR - CUTOFF, intervalMs: 0, replica: 'test-2', now: () => MAR, onArchived: (rows) => seen.push(rows) });
    assert.deepEqual(await s.pruneNow(), { rows: 200, files: 2 });
    await s.close();
    assert.deepEqual(seen, [100, 100]);
    assert.equal(await db.count('predictions'), 100);
    await db.close();
  });
});
