import assert from 'node:assert/strict';
import { readdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { verifyArchives } from '../../src/store/archive-verify.js';
import { rowHash, type ChainedRow } from '../../src/store/audit-chain.js';
import { CHAINED_SELECT } from '../../src/store/pg-audit-chain.js';
import type { AuditRecord } from '../../src/store/audit-log.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { verifyPgAuditLog } from '../../src/store/pg-audit-verify.js';
import { pgRetentionPass } from '../../src/store/pg-retention.js';
import { MIGRATIONS } from '../../src/store/migrations.js';
import { migratePostgres, monthOf, openPostgres } from '../../src/store/postgres.js';
import { tempDir } from '../helpers/app.js';
import { appendConcurrently } from '../helpers/appends.js';
import { runVigiaCommand } from '../helpers/process.js';
import { postgresMissing, startPostgres, type PgCluster } from '../helpers/postgres.js';

const skip = postgresMissing();
let cluster: PgCluster;
const tmp = tempDir();
let n = 0;

const JAN = Date.UTC(2024, 0, 10);
const MAR = Date.UTC(2024, 2, 10);

const record = (id: string, eventTsMs = MAR, i = 0): AuditRecord => ({
  id, requestId: `r-${id}`, tsMs: eventTsMs + i, eventTsMs: eventTsMs + i, model: 'm', modelVersion: '1', features: { a: i, b: i / 3, c: 'x' },
  probability: (i % 97) / 97, decision: (i % 2) as 0 | 1, band: 'moderate', threshold: 0.2, latencyMs: 1.5 + i / 7, traceId: 't'.repeat(32),
  groups: { SEX: String(1 + (i % 2)) }, bundleHash: 'b'.repeat(64), ...(i % 5 === 0 ? { monitoring: { channel: 'app' } } : {}),
});

/** A fresh database, two replicas' audit logs on their own pools, and a client to verify and tamper with. */
async function fresh() {
  const url = await cluster.createDatabase(`v${n++}`);
  const poolA = await openPostgres({ url, poolSize: 4 });
  const poolB = await openPostgres({ url, poolSize: 4 });
  const a = new PgAuditLog(poolA, undefined, { replica: 'vigia-1' });
  const b = new PgAuditLog(poolB, undefined, { replica: 'vigia-2' });
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  const archiveDir = join(tmp.dir, `a${n}`);
  const verify = () => verifyPgAuditLog(client, verifyArchives(archiveDir, 'postgres'));
  const sql = (text: string, params: unknown[] = []) => client.query(text, params);
  return {
    url, poolA, a, b, client, archiveDir, verify, sql,
    close: async () => {
      await client.end();
      await a.close();
      await b.close();
      await poolA.end();
      await poolB.end();
    },
  };
}

/** Both replicas append single rows concurrently, as busy servers do (several groups in flight on each). */
async function traffic(db: Awaited<ReturnType<typeof fresh>>, rows: number, eventTsMs = MAR) {
  await Promise.all([
    appendConcurrently(db.a, rows, (id) => record(`a-${eventTsMs}-${id}`, eventTsMs, Number(id.slice(1)))),
    appendConcurrently(db.b, rows, (id) => record(`b-${eventTsMs}-${id}`, eventTsMs, Number(id.slice(1)))),
  ]);
}

describe('the hash chains of the PostgreSQL audit log', { skip }, () => {
  before(async () => {
    cluster = await startPostgres();
  });
  after(async () => {
    await cluster?.close();
    tmp.remove();
  });

  it('verifies a clean log written by two replicas at once, each lane of each a writer with its own chain from its register entry', async () => {
    const db = await fresh();
    await traffic(db, 1500);
    const writers = (await db.sql('SELECT writer, replica, lane FROM audit_writers ORDER BY n')).rows as { replica: string }[];
    assert.ok(writers.length >= 2, `${writers.length} writers`);
    assert.deepEqual([...new Set(writers.map((w) => w.replica))].sort(), ['vigia-1', 'vigia-2']);
    const r = await db.verify();
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.rows, 3000);
    assert.equal(r.writers, writers.length);
    assert.equal(r.unchained, 0);
    const links = (await db.sql('SELECT count(*)::int AS n FROM audit_links')).rows[0].n as number;
    assert.equal(r.links, links);
    assert.ok(links < 3000, `group commit: ${links} links for 3,000 rows`);
    const firsts = (await db.sql('SELECT l.prev_hash = w.hash AS ok FROM audit_links l JOIN audit_writers w USING (writer) WHERE l.link = 1')).rows as { ok: boolean }[];
    assert.equal(firsts.length, writers.length);
    assert.ok(firsts.every((f) => f.ok), "each writer's first link follows its register entry");
    await db.close();
  });

  it('finds one altered byte in a row\'s features and names the row and its writer', async () => {
    const db = await fresh();
    await traffic(db, 300);
    const target = (await db.sql(`SELECT id, writer, seq::int AS seq FROM predictions WHERE id = 'b-${MAR}-r123'`)).rows[0] as { id: string; writer: string; seq: number };
    await db.sql(`UPDATE predictions SET features = replace(features, '"c":"x"', '"c":"y"') WHERE id = $1`, [target.id]);
    const r = await db.verify();
    assert.equal(r.ok, false);
    assert.equal(r.firstBreak?.id, target.id);
    assert.equal(r.firstBreak?.writer, target.writer);
    assert.equal(r.firstBreak?.seq, target.seq);
    assert.equal(r.firstBreak?.reason, `row seq ${target.seq} (prediction ${target.id}) of writer ${target.writer} does not match its hash: it was altered after it was committed`);
    await db.close();
  });

  it('finds a row deleted and a row inserted inside a chain', async () => {
    const db = await fresh();
    await traffic(db, 300);
    const target = (await db.sql(`SELECT id, writer, seq::int AS seq FROM predictions WHERE id = 'a-${MAR}-r200'`)).rows[0] as { id: string; writer: string; seq: number };
    const link = (await db.sql('SELECT link::int AS link, rows FROM audit_links WHERE writer = $1 AND $2 BETWEEN first_seq AND last_seq', [target.writer, target.seq])).rows[0] as { link: number; rows: number };
    await db.sql('CREATE TABLE saved AS SELECT * FROM predictions WHERE id = $1', [target.id]);
    await db.sql('DELETE FROM predictions WHERE id = $1', [target.id]);
    const deleted = await db.verify();
    assert.equal(deleted.ok, false);
    assert.equal(deleted.firstBreak?.writer, target.writer);
    assert.match(deleted.firstBreak!.reason, new RegExp(`^link ${link.link} of writer ${target.writer} covers ${link.rows} rows \\(seq \\d+–\\d+\\) but ${link.rows - 1} are in the database: rows were deleted$`));

    // Put it back, then forge a row with a valid hash: at a seq inside the link, then after the last link.
    await db.sql('INSERT INTO predictions SELECT * FROM saved');
    assert.equal((await db.verify()).ok, true);
    await db.sql("UPDATE saved SET id = 'forged'");
    const forge = async (seq: number) => {
      const row = (await db.client.query<unknown[]>({ text: `SELECT ${CHAINED_SELECT.join(', ')} FROM saved p`, rowMode: 'array' })).rows[0]!;
      await db.sql("DELETE FROM predictions WHERE id = 'forged'");
      await db.sql('UPDATE saved SET seq = $1, row_hash = $2', [seq, rowHash([seq, ...row.slice(1)] as unknown as ChainedRow)]);
      await db.sql('INSERT INTO predictions SELECT * FROM saved');
    };
    await forge(target.seq);
    const inside = await db.verify();
    assert.equal(inside.ok, false);
    assert.equal(inside.firstBreak?.reason, `link ${link.link} of writer ${target.writer} covers ${link.rows} rows (seq ${inside.firstBreak?.seq}–${(await db.sql('SELECT last_seq::int AS s FROM audit_links WHERE writer = $1 AND link = $2', [target.writer, link.link])).rows[0].s}) but ${link.rows + 1} are in the database: rows were inserted`);
    const last = (await db.sql('SELECT max(last_seq)::int AS s FROM audit_links WHERE writer = $1', [target.writer])).rows[0].s as number;
    await forge(last + 1);
    const after = await db.verify();
    assert.equal(after.ok, false);
    assert.equal(after.firstBreak?.id, 'forged');
    assert.equal(after.firstBreak?.reason, `row seq ${last + 1} (prediction forged) of writer ${target.writer} is after the last link: it was inserted after the fact`);
    await db.close();
  });

  it('finds a writer\'s whole chain deleted, and its register entry deleted with it', async () => {
    const db = await fresh();
    await traffic(db, 300);
    const writers = (await db.sql('SELECT writer FROM audit_writers ORDER BY n')).rows.map((r) => r.writer as string);
    const victim = writers[0]!;
    await db.sql('DELETE FROM predictions WHERE writer = $1', [victim]);
    await db.sql('DELETE FROM audit_links WHERE writer = $1', [victim]);
    const r = await db.verify();
    assert.equal(r.ok, false);
    assert.equal(r.firstBreak?.reason, `writer ${victim} is registered but none of its links is in the database or the archives: its whole chain was deleted`);
    await db.sql('DELETE FROM audit_writers WHERE writer = $1', [victim]);
    const unregistered = await db.verify();
    assert.equal(unregistered.ok, false);
    assert.match(unregistered.firstBreak!.reason, /^register entry 2 \(writer .*\) follows entry 0: entry 1 was removed from the register$/);
    await db.close();
  });

  it('keeps the chains verifiable after retention archived and dropped a month, and still finds tampering in the live rows and a missing archive', async () => {
    const db = await fresh();
    await traffic(db, 400, JAN);
    await traffic(db, 400, MAR);
    const pass = await pgRetentionPass(db.client, { cutoffMs: Date.UTC(2024, 1, 1), nowMs: MAR, archiveDir: db.archiveDir, sizeBudgetBytes: 0, replica: 'test', linkRows: 100, rowsPerFile: 300 });
    assert.deepEqual(pass.months, ['predictions_202401']);
    assert.equal((await db.sql("SELECT count(*)::int AS n FROM pg_class WHERE relname = 'audit_links_202401'")).rows[0].n, 0, 'the month\'s links went with its rows');
    const checkpoints = (await db.sql('SELECT count(*)::int AS n FROM audit_writer_checkpoints')).rows[0].n as number;
    assert.ok(checkpoints >= 2, 'each writer of the month has its last archived link recorded');
    const r = await db.verify();
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.rows, 800, 'the live rows; the archived ones are checked in the archives');
    const run = await runVigiaCommand(['audit', 'verify', '--db', db.url, '--archive-dir', db.archiveDir]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.stdout, /intact — 800 rows in \d+ links of \d+ writers verified after 800 archived rows in 3 files/);

    await db.sql(`UPDATE predictions SET probability = 0.5 WHERE id = 'a-${MAR}-r7'`);
    const broken = await runVigiaCommand(['audit', 'verify', '--db', db.url, '--archive-dir', db.archiveDir]);
    assert.equal(broken.code, 1, broken.output);
    assert.match(broken.stdout, new RegExp(`BROKEN — row seq \\d+ \\(prediction a-${MAR}-r7\\) of writer [0-9a-f-]{36} does not match its hash`));
    await db.close();
  });

  it('finds an archive removed from the end of a writer\'s chain through its archive checkpoint', async () => {
    const db = await fresh();
    await traffic(db, 200, JAN);
    await traffic(db, 200, Date.UTC(2024, 1, 10));
    await pgRetentionPass(db.client, { cutoffMs: MAR, nowMs: MAR, archiveDir: db.archiveDir, sizeBudgetBytes: 0, replica: 'test', linkRows: 100, rowsPerFile: 1000 });
    // Every chain now lies wholly in the archives, one file per month; without February's the
    // archives are consistent, and only each writer's archive checkpoint says they end too soon.
    const files = readdirSync(db.archiveDir).sort();
    assert.equal(files.length, 2);
    rmSync(join(db.archiveDir, files[1]!));
    const archives = verifyArchives(db.archiveDir, 'postgres');
    assert.equal(archives.ok, true, archives.firstBreak?.reason);
    const r = await verifyPgAuditLog(db.client, archives);
    assert.equal(r.ok, false);
    assert.match(r.firstBreak!.reason, /the archive checkpoint of writer .* says its link \d+ was archived, but the archives do not end a run of its links there: an archive is missing or replaced|none of its links is in the database or the archives/);
    await db.close();
  });

  it('counts the rows of a database migrated from before the chain as not covered, and chains the rows written after', async () => {
    const url = await cluster.createDatabase(`v${n++}`);
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await migratePostgres(client, MIGRATIONS.findIndex((step) => step.postgres?.includes('CREATE TABLE audit_writers') === true));
    const jan = monthOf(JAN);
    await client.query(`CREATE TABLE ${jan.name} PARTITION OF predictions FOR VALUES FROM (${jan.fromMs}) TO (${jan.toMs})`);
    await client.query(`INSERT INTO predictions (id, request_id, ts_ms, event_ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id)
      VALUES ('old', 'r', ${JAN}, ${JAN}, 'm', '1', '{}', 0.5, 1, 'low', 0.5, 1, 't')`);
    const pool = await openPostgres({ url, poolSize: 2 });
    assert.equal((await client.query(`SELECT count(*)::int AS n FROM pg_inherits WHERE inhrelid = '${jan.links}'::regclass`)).rows[0].n, 1, 'the existing month got its links partition');
    const log = new PgAuditLog(pool);
    await log.append([record('new-1', JAN, 1), record('new-2', MAR, 2)]);
    const r = await verifyPgAuditLog(client, verifyArchives(join(tmp.dir, 'none'), 'postgres'));
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.unchained, 1);
    assert.equal(r.rows, 2);
    assert.equal(r.links, 2, 'a group over two months is one link per month');
    await log.close();
    await pool.end();
    await client.end();
  });

  it('gives a restarted replica new writers, and leaves no gap when a transaction fails or its connection dies mid-commit', async () => {
    const db = await fresh();
    await traffic(db, 200);
    const before = (await db.sql('SELECT count(*)::int AS n FROM audit_writers')).rows[0].n as number;
    // A restart: a new audit log of the same replica on the same database.
    await db.a.close();
    const again = new PgAuditLog(db.poolA, undefined, { replica: 'vigia-1' });
    await appendConcurrently(again, 200, (id) => record(`again-${id}`, MAR, 1));
    const after = (await db.sql("SELECT count(*)::int AS n FROM audit_writers WHERE replica = 'vigia-1'")).rows[0].n as number;
    assert.ok(after > before / 2, 'the restarted replica registered writers of its own');
    assert.equal((await db.verify()).ok, true);

    // A failed transaction (text PostgreSQL refuses) retires its lane's writer: no gap.
    const lanesBefore = new Set(again.writers);
    await again.append([record('twice', MAR, 5)]);
    await assert.rejects(again.append([record('twice', MAR, 5)]), /commit failed: duplicate key/);
    await again.append([record('after-bad', MAR, 2)]);
    assert.ok(again.writers.some((w) => !lanesBefore.has(w)), 'the lane that failed took a new writer');
    assert.equal((await db.verify()).ok, true);

    // Connections killed while their commits are in flight: the links' table is locked, so the
    // transactions wait after inserting their rows; those are killed, then the lock released.
    await db.sql('BEGIN');
    await db.sql('LOCK TABLE audit_links IN ACCESS EXCLUSIVE MODE');
    const writersBefore = new Set(again.writers);
    const appends = Array.from({ length: 50 }, (_x, i) => again.append([record(`kill-${i}`, MAR, i)]));
    const waiting = async () => {
      await db.sql('SELECT pg_stat_clear_snapshot()');
      return (await db.sql("SELECT pid FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'")).rows.map((r) => r.pid as number);
    };
    for (let tries = 0; (await waiting()).length < 4 && tries < 200; tries++) await new Promise((r) => setTimeout(r, 25));
    const killed = await waiting();
    assert.ok(killed.length > 0, 'commits are waiting on the lock');
    await db.sql('SELECT pg_terminate_backend(pid) FROM unnest($1::int[]) pid', [killed]);
    await db.sql('COMMIT');
    // The killed group is retried append by append, by its lane's new writer.
    const settled = await Promise.allSettled(appends);
    assert.ok(again.writers.some((w) => !writersBefore.has(w)), 'the lane whose commit was killed took a new writer');
    // The pool may still hand out a killed idle connection once or twice (a 503 each), then writes again.
    for (let tries = 0; ; tries++) {
      try {
        await again.append([record('after-kill', MAR, 3)]);
        break;
      } catch (err) {
        if (tries === 4) throw err;
      }
    }
    const r = await db.verify();
    assert.equal(r.ok, true, r.firstBreak?.reason);
    const committed = (await db.sql("SELECT count(*)::int AS n FROM predictions WHERE id LIKE 'kill-%'")).rows[0].n as number;
    assert.equal(committed, settled.filter((s) => s.status === 'fulfilled').length, 'every resolved append has its row, no rejected one has');
    await again.close();
    await db.close();
  });
});
