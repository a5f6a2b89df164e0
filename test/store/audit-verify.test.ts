import assert from 'node:assert/strict';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteAuditLog, type AuditRecord } from '../../src/store/audit-log.js';
import { GENESIS_HASH } from '../../src/store/audit-chain.js';
import { verifyAuditChain } from '../../src/store/audit-verify.js';
import { openDatabase } from '../../src/store/database.js';
import { tempDir } from '../helpers/app.js';
import { runVigiaCommand } from '../helpers/process.js';

const tmp = tempDir();
after(() => tmp.remove());
let n = 0;

const record = (id: string, i: number): AuditRecord => ({
  id, requestId: `r${i}`, tsMs: 1_700_000_000_000 + i, eventTsMs: 1_700_000_000_000 + i, model: 'm', modelVersion: '1', features: { a: i, b: i / 3 },
  probability: (i % 97) / 97, decision: i % 2 === 0 ? 1 : 0, band: 'moderate', threshold: 0.2, latencyMs: 1.5 + i / 7, traceId: 't'.repeat(32),
  groups: { SEX: String(1 + (i % 2)) }, bundleHash: 'b'.repeat(64), ...(i % 5 === 0 ? { monitoring: { channel: 'app' } } : {}),
});

/** A database with `groups` committed groups of rows, written by the real audit-log writer thread. */
async function logged(groups: number, perGroup: number): Promise<string> {
  const path = join(tmp.dir, `chain${n++}.db`);
  openDatabase({ path, synchronous: 'NORMAL' }).close();
  const log = await SqliteAuditLog.open({ path, synchronous: 'NORMAL' });
  let i = 0;
  for (let g = 0; g < groups; g++) {
    await log.append(Array.from({ length: perGroup }, () => record(`p${i}`, i++)));
  }
  await log.close();
  return path;
}

const verify = (path: string) => {
  const db = new Database(path, { readonly: true });
  try {
    return verifyAuditChain(db);
  } finally {
    db.close();
  }
};
const tamper = (path: string, sql: string, ...params: unknown[]) => {
  const db = new Database(path);
  db.prepare(sql).run(...params);
  db.close();
};

describe('the audit log hash chain', () => {
  it('extends the chain by one link per committed group, starting from the genesis hash', async () => {
    const path = await logged(4, 25);
    const db = new Database(path, { readonly: true });
    const links = db.prepare('SELECT link, first_seq, last_seq, rows, prev_hash, hash FROM audit_chain ORDER BY link').all() as { first_seq: number; last_seq: number; rows: number; prev_hash: string; hash: string }[];
    db.close();
    assert.equal(links.length, 4);
    assert.equal(links[0]!.prev_hash, GENESIS_HASH);
    for (let i = 1; i < links.length; i++) {
      assert.equal(links[i]!.prev_hash, links[i - 1]!.hash);
      assert.equal(links[i]!.first_seq, links[i - 1]!.last_seq + 1);
    }
    assert.ok(links.every((l) => l.rows === 25));
  });

  it('chains observations and KServe pairs ingested beside the predictions, retries included', async () => {
    const path = join(tmp.dir, `chain${n++}.db`);
    openDatabase({ path, synchronous: 'NORMAL' }).close();
    const log = await SqliteAuditLog.open({ path, synchronous: 'NORMAL' });
    await log.append([record('p0', 0), record('p1', 1)]);
    const observed = (id: string, i: number): AuditRecord => ({ ...record(id, i), source: 'observed', latencyMs: 0, traceId: '' });
    assert.deepEqual((await log.observe([observed('o0', 2), observed('o1', 3)])).map((o) => o.status), ['created', 'created']);
    // A retry inserts nothing, so it adds no row to any link.
    assert.deepEqual((await log.observe([observed('o0', 2)])).map((o) => o.status), ['duplicate']);
    const policy = { version: '1', threshold: 0.5, bands: [['high', 0.5], ['low', 0]] as const, bundleHash: 'c'.repeat(64) };
    await log.recordHalf({ model: 'm', ceId: 'ce1', half: 'response', payload: '[0.75, 0.1]', receivedMs: 1000, policy });
    assert.deepEqual(await log.recordHalf({ model: 'm', ceId: 'ce1', half: 'request', payload: JSON.stringify([{ a: 1 }, { a: 2 }]), receivedMs: 2000, policy }), { status: 'paired', rows: 2, duplicateRows: 0 });
    await log.append([record('p2', 4)]);
    await log.close();
    const r = verify(path);
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.rows, 7);
    assert.equal(r.unchained, 0);
  });

  it('verifies a clean log', async () => {
    const r = verify(await logged(5, 40));
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.rows, 200);
    assert.equal(r.links, 5);
    assert.equal(r.unchained, 0);
  });

  it('finds a single altered byte and names its row', async () => {
    const path = await logged(5, 40);
    // One byte of one row's features, in the middle of the log: "a":77 → "a":78.
    tamper(path, `UPDATE predictions SET features = replace(features, '"a":77,', '"a":78,') WHERE id = 'p77'`);
    const r = verify(path);
    assert.equal(r.ok, false);
    assert.equal(r.firstBreak!.id, 'p77');
    assert.equal(r.firstBreak!.seq, 78);
    assert.match(r.firstBreak!.reason, /row seq 78 \(prediction p77\) does not match its hash: it was altered after it was committed/);
  });

  it('finds a probability changed in its last bit, and a row\'s stored hash rewritten to match', async () => {
    const path = await logged(3, 10);
    tamper(path, `UPDATE predictions SET probability = ? WHERE id = 'p12'`, (12 % 97) / 97 + Number.EPSILON / 8);
    assert.equal(verify(path).firstBreak?.id, 'p12');
    const path2 = await logged(3, 10);
    const db = new Database(path2);
    db.prepare(`UPDATE predictions SET decision = 1 - decision WHERE id = 'p15'`).run();
    const { rowHash } = await import('../../src/store/audit-chain.js');
    const { CHAINED_COLUMNS } = await import('../../src/store/audit-chain.js');
    const row = db.prepare(`SELECT ${CHAINED_COLUMNS.join(', ')} FROM predictions WHERE id = 'p15'`).raw().get() as never;
    db.prepare(`UPDATE predictions SET row_hash = ? WHERE id = 'p15'`).run(rowHash(row));
    db.close();
    const r = verify(path2);
    assert.equal(r.ok, false);
    assert.match(r.firstBreak!.reason, /link 2 \(seq 11–20\) does not match its rows/);
  });

  it("covers a shadow row's shadow_of: setting it on an answered row or clearing it on a shadow row breaks the chain", async () => {
    const path = join(tmp.dir, `chain${n++}.db`);
    openDatabase({ path, synchronous: 'NORMAL' }).close();
    const log = await SqliteAuditLog.open({ path, synchronous: 'NORMAL' });
    await log.append([record('p0', 0), { ...record('s0', 1), modelVersion: '2', shadowOf: 'p0' }]);
    await log.close();
    assert.equal(verify(path).ok, true);
    const copy = (name: string) => {
      const to = join(tmp.dir, `${name}${n++}.db`);
      const db = new Database(path, { readonly: true });
      db.prepare('VACUUM INTO ?').run(to);
      db.close();
      return to;
    };
    const set = copy('set');
    tamper(set, `UPDATE predictions SET shadow_of = 's0' WHERE id = 'p0'`);
    assert.equal(verify(set).firstBreak?.id, 'p0');
    const cleared = copy('cleared');
    tamper(cleared, `UPDATE predictions SET shadow_of = NULL WHERE id = 's0'`);
    assert.equal(verify(cleared).firstBreak?.id, 's0');
  });

  it('hashes an answered row (shadow_of NULL) as before the column existed, so older chains and archives still verify', async () => {
    const { canonicalRow } = await import('../../src/store/audit-chain.js');
    const base = [1, 'p', 'r', 1, 'm', '1', '{}', 0.5, 1, 'high', 0.2, 1, 't', 1, '{}', null, 'h', 'scored', null] as const;
    assert.deepEqual(canonicalRow([...base, null]), Buffer.from(JSON.stringify(base)));
    assert.notDeepEqual(canonicalRow([...base, 'p0']), Buffer.from(JSON.stringify(base)));
  });

  it('finds a deleted row and an inserted one', async () => {
    const deleted = await logged(3, 10);
    tamper(deleted, `DELETE FROM predictions WHERE id = 'p4'`);
    assert.match(verify(deleted).firstBreak!.reason, /link 1 covers 10 rows \(seq 1–10\) but 9 are in the database: rows were deleted/);
    const inserted = await logged(3, 10);
    tamper(inserted, `INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms) VALUES ('forged', 'r', 1, 'm', '1', '{}', 0.1, 0, 'low', 0.2, 1, 't', 1)`);
    const r = verify(inserted);
    assert.equal(r.firstBreak!.id, 'forged');
    assert.match(r.firstBreak!.reason, /is after the last link: it was inserted after the fact/);
  });

  it('answers `vigia audit verify` with 0 on a clean log and 1 naming the altered row', async () => {
    const path = await logged(2, 10);
    let run = await runVigiaCommand(['audit', 'verify', '--db', path]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.stdout, /intact — 20 rows in 2 links verified in [\d.]+ s; head [0-9a-f]{64}/);
    tamper(path, `UPDATE predictions SET band = 'low' WHERE id = 'p3'`);
    run = await runVigiaCommand(['audit', 'verify', '--db', path]);
    assert.equal(run.code, 1, run.output);
    assert.match(run.stdout, /BROKEN — row seq 4 \(prediction p3\) does not match its hash.*first row that does not match: seq 4, prediction p3/);
    run = await runVigiaCommand(['audit', 'verify', '--db', join(tmp.dir, 'nope.db')]);
    assert.equal(run.code, 2);
    assert.match(run.output, /--db ".*nope\.db": cannot be opened/);
  });
});
