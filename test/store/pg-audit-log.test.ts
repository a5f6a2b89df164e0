import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { AuditLogClosedError, type AuditRecord } from '../../src/store/audit-log.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { openPostgres } from '../../src/store/postgres.js';
import { appendConcurrently } from '../helpers/appends.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const skip = postgresMissing();
let cluster: PgCluster;
let n = 0;

const record = (id: string, eventTsMs = 1_700_000_000_000): AuditRecord => ({
  id, requestId: 'r', tsMs: 1_700_000_000_000, eventTsMs, model: 'm', modelVersion: '1', features: { a: 1 },
  probability: 0.3, decision: 1, band: 'moderate', threshold: 0.2, latencyMs: 1.5, traceId: 't'.repeat(32),
});

/** A fresh migrated database with a pool, an audit log writing to it, and a row count. */
async function fresh(onCommit?: (rows: number, seconds: number, failed: boolean) => void) {
  const url = await cluster.createDatabase(`a${n++}`);
  const pool = await openPostgres({ url, poolSize: 4 });
  const log = new PgAuditLog(pool, onCommit);
  const count = async () => Number((await pool.query<{ n: string }>('SELECT count(*) AS n FROM predictions')).rows[0]!.n);
  return { url, pool, log, count, close: async () => { await log.close(); await pool.end(); } };
}

describe('PgAuditLog', { skip }, () => {
  before(async () => {
    cluster = await startPostgres();
  });
  after(() => cluster?.close());

  it('commits the appends of one event-loop turn as one group, resolving each only once committed', async () => {
    const commits: number[] = [];
    const { pool, log, count, close } = await fresh((rows) => commits.push(rows));
    const a = log.append([record('a1'), record('a2')]);
    const b = log.append([record('b1')]);
    assert.equal(await count(), 0, 'nothing is written synchronously');
    await Promise.all([a, b]);
    assert.equal(await count(), 3, 'committed rows are visible to another connection once append resolves');
    assert.deepEqual(commits, [3]);
    const row = (await pool.query('SELECT * FROM predictions WHERE id = $1', ['a1'])).rows[0] as Record<string, unknown>;
    assert.equal(row['features'], '{"a":1}');
    assert.equal(row['band'], 'moderate');
    assert.equal(row['decision'], 1);
    assert.equal(row['probability'], 0.3);
    assert.equal(row['event_ts_ms'], '1700000000000');
    await close();
  });

  it('commits with synchronous_commit on, whatever the server default', async () => {
    const { pool, close } = await fresh();
    assert.equal((await pool.query('SHOW synchronous_commit')).rows[0].synchronous_commit, 'on');
    await close();
  });

  it('inserts a batch larger than the protocol allows as a VALUES list (one bind parameter per column)', async () => {
    const { log, count, close } = await fresh();
    const rows = Array.from({ length: 10_000 }, (_, i) => record(`big${i}`));
    assert.ok(rows.length * 14 > 65_535);
    await log.append(rows);
    assert.equal(await count(), 10_000);
    await close();
  });

  it('keeps every row under many concurrent appends', async () => {
    const { log, count, close } = await fresh();
    await appendConcurrently(log, 2000, record);
    assert.equal(await count(), 2000);
    await close();
  });

  it('creates the monthly partition an event time needs, and files rows by event time', async () => {
    const { pool, log, close } = await fresh();
    const old = Date.UTC(2025, 0, 15);
    await log.append([record('old', old), record('now', Date.now())]);
    const parts = (await pool.query<{ part: string; id: string }>('SELECT tableoid::regclass::text AS part, id FROM predictions ORDER BY id')).rows;
    const month = new Date().toISOString().slice(0, 7).replace('-', '');
    assert.deepEqual(parts, [{ part: `predictions_${month}`, id: 'now' }, { part: 'predictions_202501', id: 'old' }]);
    await close();
  });

  it('rejects only the append whose row fails, retrying the others of its group alone', async () => {
    const failures: boolean[] = [];
    const { log, count, close } = await fresh((_rows, _s, failed) => failures.push(failed));
    await log.append([record('dup')]);
    const results = await Promise.allSettled([log.append([record('ok')]), log.append([record('dup')])]);
    assert.deepEqual(results.map((r) => r.status), ['fulfilled', 'rejected']);
    assert.match(String((results[1] as PromiseRejectedResult).reason), /the audit-log commit failed: duplicate key value violates unique constraint/);
    assert.equal(await count(), 2, 'the failed append left no row; the other committed');
    assert.deepEqual(failures, [false, true]);
    await close();
  });

  it('commits what is queued on close and refuses appends after', async () => {
    const { log, count, close } = await fresh();
    const pending = log.append([record('last')]);
    await log.close();
    await pending;
    assert.equal(await count(), 1);
    await assert.rejects(log.append([record('late')]), AuditLogClosedError);
    await close();
  });

  it('joins labels to predictions another replica made, idempotent and never overwriting', async () => {
    const a = await fresh();
    const poolB = await openPostgres({ url: a.url, poolSize: 2 });
    const replicaB = new PgAuditLog(poolB);
    await a.log.append([record('p1', 1_700_000_000_000), record('p2'), record('p3')]);
    const first = await replicaB.recordLabels([['p1', 1, 1_700_000_060_000], ['p2', 0, 1_700_000_000_000], ['nope', 1, 0], ['p3', 1, 0], ['p3', 0, 0]], 5);
    assert.equal(first.accepted, 3);
    assert.deepEqual(first.unknown, ['nope']);
    assert.deepEqual(first.conflicting, ['p3'], 'the same id twice in one request: the second, different label is a conflict');
    assert.deepEqual(first.delays, { 'm@1': [60, 0, 0] });
    const again = await a.log.recordLabels([['p1', 1, 0], ['p2', 1, 0]], 6);
    assert.deepEqual({ accepted: again.accepted, duplicate: again.duplicate, conflicting: again.conflicting }, { accepted: 0, duplicate: 1, conflicting: ['p2'] });
    const stored = (await a.pool.query('SELECT prediction_id, label, model, model_version, probability FROM labels ORDER BY prediction_id')).rows;
    assert.deepEqual(stored, [
      { prediction_id: 'p1', label: 1, model: 'm', model_version: '1', probability: 0.3 },
      { prediction_id: 'p2', label: 0, model: 'm', model_version: '1', probability: 0.3 },
      { prediction_id: 'p3', label: 1, model: 'm', model_version: '1', probability: 0.3 },
    ]);
    await replicaB.close();
    await poolB.end();
    await a.close();
  });

  it('stores one label when two replicas receive the same label at once, and reports the other as a duplicate or conflict', async () => {
    const a = await fresh();
    const poolB = await openPostgres({ url: a.url, poolSize: 2 });
    const replicaB = new PgAuditLog(poolB);
    const ids = Array.from({ length: 300 }, (_, i) => `c${i}`);
    await a.log.append(ids.map((id) => record(id)));
    const [ra, rb] = await Promise.all([
      a.log.recordLabels(ids.map((id) => [id, 1, 0] as [string, 1, number]), 1),
      replicaB.recordLabels(ids.map((id, i) => [id, (i % 2) as 0 | 1, 0] as [string, 0 | 1, number]), 1),
    ]);
    assert.equal(ra.accepted + rb.accepted, 300, 'each label stored once');
    assert.equal(ra.accepted + ra.duplicate + ra.conflicting.length, 300);
    assert.equal(rb.accepted + rb.duplicate + rb.conflicting.length, 300);
    assert.equal(Number((await a.pool.query('SELECT count(*) AS n FROM labels')).rows[0].n), 300);
    await replicaB.close();
    await poolB.end();
    await a.close();
  });

  it('fails appends while PostgreSQL is down and recovers by itself when it is back', async () => {
    const { log, count, close } = await fresh();
    await log.append([record('before')]);
    cluster.stop();
    try {
      await assert.rejects(log.append([record('during')]), /the audit-log commit failed/);
    } finally {
      cluster.start();
    }
    let recovered = false;
    for (let i = 0; i < 40 && !recovered; i++) {
      recovered = await log.append([record(`after${i}`)]).then(() => true, () => false);
      if (!recovered) await new Promise((r) => setTimeout(r, 250));
    }
    assert.ok(recovered, 'an append succeeds again once the server is back');
    assert.equal(await count(), 2);
    await close();
  });
});

