import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { AuditLogClosedError, SqliteAuditLog, type AuditRecord } from '../../src/store/audit-log.js';
import { openDatabase } from '../../src/store/database.js';
import { tempDir } from '../helpers/app.js';

const tmp = tempDir();
after(() => tmp.remove());
let n = 0;
const record = (id: string): AuditRecord => ({
  id, requestId: 'r', tsMs: 1_700_000_000_000, model: 'm', modelVersion: '1', features: { a: 1 },
  probability: 0.3, decision: 1, band: 'moderate', threshold: 0.2, latencyMs: 1.5, traceId: 't'.repeat(32),
});

describe('SqliteAuditLog', () => {
  it('opens the database in WAL mode with the schema applied', () => {
    const db = openDatabase({ path: join(tmp.dir, `a${n++}.db`), synchronous: 'FULL' });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('synchronous', { simple: true }), 2);
    assert.equal(db.pragma('user_version', { simple: true }), 1);
    db.close();
  });

  it('commits appends of one event-loop turn in one transaction, resolving each only once committed', async () => {
    const db = openDatabase({ path: join(tmp.dir, `a${n++}.db`), synchronous: 'NORMAL' });
    const groups: number[] = [];
    const log = new SqliteAuditLog(db, (rows) => groups.push(rows));
    const count = () => db.prepare('SELECT count(*) FROM predictions').pluck().get();
    const a = log.append([record('a1'), record('a2')]);
    const b = log.append([record('b1')]);
    assert.equal(count(), 0, 'nothing is written synchronously');
    await Promise.all([a, b]);
    assert.equal(count(), 3);
    assert.deepEqual(groups, [3]);
    const row = db.prepare('SELECT * FROM predictions WHERE id = ?').get('a1') as Record<string, unknown>;
    assert.equal(row['features'], '{"a":1}');
    assert.equal(row['band'], 'moderate');
    await log.close();
    db.close();
  });

  it('rejects every append of a failed group, so none of its predictions is answered', async () => {
    const db = openDatabase({ path: join(tmp.dir, `a${n++}.db`), synchronous: 'NORMAL' });
    const failures: boolean[] = [];
    const log = new SqliteAuditLog(db, (_rows, _s, failed) => failures.push(failed));
    await log.append([record('dup')]);
    const results = await Promise.allSettled([log.append([record('ok')]), log.append([record('dup')])]);
    assert.deepEqual(results.map((r) => r.status), ['rejected', 'rejected']);
    assert.equal(db.prepare('SELECT count(*) FROM predictions').pluck().get(), 1, 'the failed group left no row');
    assert.deepEqual(failures, [false, true]);
    await log.close();
    db.close();
  });

  it('flushes what is queued on close and refuses appends after', async () => {
    const db = openDatabase({ path: join(tmp.dir, `a${n++}.db`), synchronous: 'NORMAL' });
    const log = new SqliteAuditLog(db);
    const pending = log.append([record('last')]);
    await log.close();
    await pending;
    assert.equal(db.prepare('SELECT count(*) FROM predictions').pluck().get(), 1);
    await assert.rejects(log.append([record('late')]), AuditLogClosedError);
    db.close();
  });

  it('refuses a database whose schema is newer than this version knows', () => {
    const path = join(tmp.dir, `a${n++}.db`);
    const db = openDatabase({ path, synchronous: 'NORMAL' });
    db.pragma('user_version = 99');
    db.close();
    assert.throws(() => openDatabase({ path, synchronous: 'NORMAL' }), /cannot open the database .* \(VIGIA_DB\): schema version 99 is newer than this Vigia knows \(1\)/);
  });
});
