import assert from 'node:assert/strict';
import { statSync } from 'node:fs';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuditLogClosedError, SqliteAuditLog, type AuditRecord } from '../../src/store/audit-log.js';
import { openDatabase } from '../../src/store/database.js';
import { SCHEMA_VERSION } from '../../src/store/migrations.js';
import type { CheckpointPass } from '../../src/store/wal-checkpoint-protocol.js';
import { tempDir } from '../helpers/app.js';
import { appendConcurrently } from '../helpers/appends.js';

const tmp = tempDir();
after(() => tmp.remove());
let n = 0;
const record = (id: string): AuditRecord => ({
  id, requestId: 'r', tsMs: 1_700_000_000_000, eventTsMs: 1_700_000_000_000, model: 'm', modelVersion: '1', features: { a: 1 },
  probability: 0.3, decision: 1, band: 'moderate', threshold: 0.2, latencyMs: 1.5, traceId: 't'.repeat(32),
});

/** A fresh migrated database, its reading connection, and an audit log writing to it. */
async function fresh(onCommit?: (rows: number, seconds: number, failed: boolean) => void) {
  const path = join(tmp.dir, `a${n++}.db`);
  const db = openDatabase({ path, synchronous: 'NORMAL' });
  const log = await SqliteAuditLog.open({ path, synchronous: 'NORMAL', ...(onCommit ? { onCommit } : {}) });
  const count = () => db.prepare('SELECT count(*) FROM predictions').pluck().get() as number;
  return { db, log, count };
}

describe('SqliteAuditLog', () => {
  it('opens the database in WAL mode with the schema applied', () => {
    const db = openDatabase({ path: join(tmp.dir, `a${n++}.db`), synchronous: 'FULL' });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
  });

  it('commits the appends of one event-loop turn as one group, resolving each only once committed', async () => {
    const commits: number[] = [];
    const { db, log, count } = await fresh((rows) => commits.push(rows));
    const a = log.append([record('a1'), record('a2')]);
    const b = log.append([record('b1')]);
    assert.equal(count(), 0, 'nothing is written synchronously');
    await Promise.all([a, b]);
    assert.equal(count(), 3, 'committed rows are visible to another connection once append resolves');
    assert.deepEqual(commits, [3]);
    const row = db.prepare('SELECT * FROM predictions WHERE id = ?').get('a1') as Record<string, unknown>;
    assert.equal(row['features'], '{"a":1}');
    assert.equal(row['band'], 'moderate');
    assert.equal(row['decision'], 1);
    await log.close();
    db.close();
  });

  it('keeps every row under many concurrent appends', async () => {
    const { db, log, count } = await fresh();
    await appendConcurrently(log, 2000, record);
    assert.equal(count(), 2000);
    await log.close();
    db.close();
  });

  it('rejects every append of a failed group, so none of its predictions is answered', async () => {
    const failures: boolean[] = [];
    const { db, log, count } = await fresh((_rows, _s, failed) => failures.push(failed));
    await log.append([record('dup')]);
    const results = await Promise.allSettled([log.append([record('ok')]), log.append([record('dup')])]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /the audit-log commit failed: UNIQUE constraint failed: predictions.id/);
    assert.equal(count(), 1, 'the failed group left no row');
    assert.deepEqual(failures, [false, true]);
    await log.append([record('after')]);
    assert.equal(count(), 2, 'the log goes on after a failed group');
    await log.close();
    db.close();
  });

  it('commits what is queued on close and refuses appends after', async () => {
    const { db, log, count } = await fresh();
    const pending = log.append([record('last')]);
    await log.close();
    await pending;
    assert.equal(count(), 1);
    await assert.rejects(log.append([record('late')]), AuditLogClosedError);
    assert.equal(log.problem, 'the audit log is closed');
    db.close();
  });

  it('leaves the write-ahead log to its checkpointer thread: committed pages reach the database file with no commit copying them', async () => {
    const { db, log, count } = await fresh();
    const path = db.name;
    const fileSize = () => statSync(path).size;
    const before = fileSize();
    // About 150 KiB of rows: far below SQLite's automatic checkpoint (1,000 pages, 4 MiB),
    // and the writer's own limit is higher still, so only the checkpointer copies them.
    for (let i = 0; i < 10; i++) await log.append(Array.from({ length: 50 }, (_, j) => ({ ...record(`w${i}-${j}`), features: { a: 1, note: 'x'.repeat(200) } })));
    assert.equal(count(), 500);
    const deadline = Date.now() + 5000;
    while (fileSize() <= before && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    assert.ok(fileSize() > before + 100_000, `the database file grew from ${before} to ${fileSize()} bytes`);
    assert.equal(db.pragma('wal_autocheckpoint', { simple: true }), 1000, 'this reading connection keeps the default');
    await log.close();
    db.close();
  });

  it('reports the pages each checkpoint pass leaves in the log: some while a reader holds an older snapshot, none once it lets go', async () => {
    const path = join(tmp.dir, `a${n++}.db`);
    const db = openDatabase({ path, synchronous: 'NORMAL' });
    const passes: CheckpointPass[] = [];
    const log = await SqliteAuditLog.open({ path, synchronous: 'NORMAL', onCheckpoint: (p) => passes.push(p) });
    const pending = async (test: (pages: number) => boolean) => {
      const from = passes.length;
      const deadline = Date.now() + 5000;
      for (;;) {
        const seen = passes.slice(from).find((p) => p.ok && test(p.pending));
        if (seen !== undefined && seen.ok) return seen.pending;
        assert.ok(Date.now() < deadline, `no pass in 5 s met the test: ${JSON.stringify(passes.slice(from))}`);
        await new Promise((r) => setTimeout(r, 50));
      }
    };
    await log.append([record('first')]);
    assert.equal(await pending((p) => p === 0), 0);
    // A reader's snapshot pins the log: the pages committed after it stay there.
    db.exec('BEGIN');
    db.prepare('SELECT count(*) FROM predictions').pluck().get();
    for (let i = 0; i < 5; i++) await log.append(Array.from({ length: 50 }, (_, j) => record(`p${i}-${j}`)));
    assert.ok(await pending((p) => p > 0) > 0);
    db.exec('COMMIT');
    assert.equal(await pending((p) => p === 0), 0);
    assert.ok(passes.every((p) => p.ok), 'no pass failed');
    await log.close();
    db.close();
  });

  it('refuses a database whose schema is newer than this version knows', () => {
    const path = join(tmp.dir, `a${n++}.db`);
    const db = openDatabase({ path, synchronous: 'NORMAL' });
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => openDatabase({ path, synchronous: 'NORMAL' }), new RegExp(`cannot open the database .* \\(VIGIA_DB\\): schema version 99 is newer than this Vigia knows \\(${SCHEMA_VERSION}\\)`));
  });
});
