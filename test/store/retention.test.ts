import assert from 'node:assert/strict';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gunzipSync, gzipSync } from 'node:zlib';
import { after, describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { verifyArchives } from '../../src/store/archive-verify.js';
import { SqliteAuditLog, type AuditRecord } from '../../src/store/audit-log.js';
import { verifyAuditChain } from '../../src/store/audit-verify.js';
import { openDatabase } from '../../src/store/database.js';
import { pruneStep } from '../../src/store/retention.js';
import { RetentionScheduler } from '../../src/store/retention-scheduler.js';
import { tempDir } from '../helpers/app.js';
import { runVigiaCommand } from '../helpers/process.js';

const tmp = tempDir();
after(() => tmp.remove());
let n = 0;
const T0 = 1_700_000_000_000;

/**
 * `groups` × `size` rows (200 by default) through the real writer, row i decided at T0 + i ms; the even
 * rows labelled. `note`: text each row's features carry, to make the rows bigger.
 */
async function logged({ groups = 10, size = 20, note = '' } = {}): Promise<{ path: string; archiveDir: string; ids: string[] }> {
  const dir = join(tmp.dir, `r${n++}`);
  const path = join(dir, 'vigia.db');
  openDatabase({ path, synchronous: 'NORMAL' }).close();
  const log = await SqliteAuditLog.open({ path, synchronous: 'NORMAL' });
  const ids: string[] = [];
  for (let g = 0; g < groups; g++) {
    const records: AuditRecord[] = Array.from({ length: size }, (_x, j) => {
      const i = g * size + j;
      ids.push(`p${i}`);
      return { id: `p${i}`, requestId: 'r', tsMs: T0 + i, eventTsMs: T0 + i, model: 'm', modelVersion: '1', features: note === '' ? { a: i } : { a: i, note }, probability: i / (groups * size), decision: i % 2 === 0 ? 1 : 0, band: 'low', threshold: 0.5, latencyMs: 1, traceId: 't' };
    });
    await log.append(records);
  }
  await log.recordLabels(ids.filter((_id, i) => i % 2 === 0).map((id) => [id, 1, T0 + 10_000] as const).map(([a, b, c]) => [a, b as 0 | 1, c]), T0 + 10_000);
  await log.close();
  return { path, archiveDir: join(dir, 'archive'), ids };
}

/** Every prediction in the archives of `dir`, with its label. */
function archived(dir: string): { id: string; label: number | null }[] {
  return readdirSync(dir).filter((f) => f.endsWith('.jsonl.gz')).sort().flatMap((f) => gunzipSync(readFileSync(join(dir, f))).toString('utf8').trimEnd().split('\n')
    .map((l) => JSON.parse(l) as { kind: string; row: [number, string]; label: number | null })
    .filter((l) => l.kind === 'prediction')
    .map((l) => ({ id: l.row[1], label: l.label })));
}

describe('retention with archive', () => {
  it('archives the rows past retention with their labels, then removes them: archive + database = every row ever written', async () => {
    const { path, archiveDir, ids } = await logged();
    const db = new Database(path);
    let steps = 0;
    // Rows decided before T0 + 100 are past retention; at most 50 rows per step: whole links of 20.
    while (pruneStep(db, { cutoffMs: T0 + 100, archiveDir, maxRows: 50 }).rows > 0) steps++;
    assert.equal(steps, 3, '40 + 40 + 20 rows');
    const remaining = (db.prepare('SELECT id FROM predictions ORDER BY seq').pluck().all() as string[]);
    const inArchive = archived(archiveDir);
    assert.deepEqual(inArchive.map((r) => r.id), ids.slice(0, 100));
    assert.deepEqual(remaining, ids.slice(100));
    assert.deepEqual([...inArchive.map((r) => r.id), ...remaining], ids);
    assert.deepEqual(inArchive.slice(0, 4).map((r) => r.label), [1, null, 1, null], 'labels travel with their rows');
    assert.equal(db.prepare('SELECT count(*) FROM labels').pluck().get(), 50, 'the archived rows\' labels left the database with them');
    assert.deepEqual(db.prepare('SELECT link, pruned_rows FROM audit_checkpoint').get(), { link: 5, pruned_rows: 100 });
    db.close();
  });

  it('keeps the chain verifiable across archives and database through the checkpoint, and finds an altered archived row', async () => {
    const { path, archiveDir } = await logged();
    const db = new Database(path);
    while (pruneStep(db, { cutoffMs: T0 + 100, archiveDir, maxRows: 50 }).rows > 0);
    const archives = verifyArchives(archiveDir);
    assert.equal(archives.ok, true, archives.firstBreak?.reason);
    assert.equal(archives.rows, 100);
    const r = verifyAuditChain(db, undefined, archives.head);
    assert.equal(r.ok, true, r.firstBreak?.reason);
    assert.equal(r.rows, 100);
    db.close();
    const run = await runVigiaCommand(['audit', 'verify', '--db', path]);
    assert.equal(run.code, 0, run.output);
    assert.match(run.stdout, /intact — 100 rows in 5 links verified after 100 archived rows in 3 files/);
    // One byte of an archived row: p42's feature a=42 → 43.
    const file = readdirSync(archiveDir).sort()[1]!;
    const text = gunzipSync(readFileSync(join(archiveDir, file))).toString('utf8');
    assert.ok(text.includes('{\\"a\\":42}'));
    writeFileSync(join(archiveDir, file), gzipSync(text.replace('{\\"a\\":42}', '{\\"a\\":43}')));
    const broken = verifyArchives(archiveDir);
    assert.equal(broken.ok, false);
    assert.equal(broken.firstBreak!.id, 'p42');
    const cli = await runVigiaCommand(['audit', 'verify', '--db', path]);
    assert.equal(cli.code, 1);
    assert.match(cli.stdout, /audit archives .*: BROKEN — vigia-audit-.*: archived row seq 43 \(prediction p42\) does not match its hash/);
  });

  it('finds a database whose checkpoint does not meet its archives (an archive removed)', async () => {
    const { path, archiveDir } = await logged();
    const db = new Database(path);
    while (pruneStep(db, { cutoffMs: T0 + 100, archiveDir, maxRows: 50 }).rows > 0);
    db.close();
    const { rmSync } = await import('node:fs');
    rmSync(join(archiveDir, readdirSync(archiveDir).sort().at(-1)!));
    const run = await runVigiaCommand(['audit', 'verify', '--db', path]);
    assert.equal(run.code, 1);
    assert.match(run.stdout, /is not where the archives' chain ends/);
  });

  it('archives the oldest rows whatever their age while the database is over its size budget', async () => {
    const { path, archiveDir, ids } = await logged();
    const s = await RetentionScheduler.start({ db: { engine: 'sqlite', path }, archiveDir, retentionMs: 365 * 86_400_000, intervalMs: 0, budgetCheckMs: 0, maxRows: 20, sizeBudgetBytes: 1, now: () => T0 });
    const pass = await s.pruneNow();
    await s.close();
    assert.equal(pass.rows, 200, 'a budget of 1 byte archives everything');
    assert.deepEqual(archived(archiveDir).map((r) => r.id), ids);
  });

  it('brings a database over its size budget back under it between scheduled passes, oldest rows first, within seconds', async () => {
    const { path, archiveDir, ids } = await logged({ groups: 20, size: 100, note: 'x'.repeat(300) });
    const db = new Database(path);
    const used = () => ((db.pragma('page_count', { simple: true }) as number) - (db.pragma('freelist_count', { simple: true }) as number)) * (db.pragma('page_size', { simple: true }) as number);
    const budget = used() - 200_000;
    const seen: number[] = [];
    // No scheduled pass at all (interval 0, and a retention period nothing has reached):
    // only the thread's own budget check can archive anything.
    const s = await RetentionScheduler.start({ db: { engine: 'sqlite', path }, archiveDir, retentionMs: 365 * 86_400_000, intervalMs: 0, budgetCheckMs: 50, maxRows: 100, sizeBudgetBytes: budget, now: () => T0, onArchived: (rows) => seen.push(rows) });
    const deadline = Date.now() + 10_000;
    while (used() > budget && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await new Promise((r) => setTimeout(r, 200));
    await s.close();
    assert.ok(used() <= budget, `${used()} bytes used against a budget of ${budget}`);
    const left = db.prepare('SELECT id FROM predictions ORDER BY seq').pluck().all() as string[];
    db.close();
    assert.ok(left.length > 0 && left.length < ids.length, `${left.length} rows left: the oldest went, only as many as the budget needed`);
    assert.deepEqual([...archived(archiveDir).map((r) => r.id), ...left], ids);
    assert.equal(seen.reduce((a, b) => a + b, 0), ids.length - left.length);
  });

  it('runs in its own thread on a schedule, reporting the rows it archived', async () => {
    const { path, archiveDir, ids } = await logged();
    const seen: number[] = [];
    const s = await RetentionScheduler.start({ db: { engine: 'sqlite', path }, archiveDir, retentionMs: 60_000, intervalMs: 0, maxRows: 30, now: () => T0 + 60_000 + 150, onArchived: (rows) => seen.push(rows) });
    const pass = await s.pruneNow();
    await s.close();
    assert.deepEqual(pass, { rows: 140, files: 7 });
    assert.equal(seen.reduce((a, b) => a + b, 0), 140);
    const db = new Database(path, { readonly: true });
    assert.deepEqual([...archived(archiveDir).map((r) => r.id), ...(db.prepare('SELECT id FROM predictions ORDER BY seq').pluck().all() as string[])], ids);
    db.close();
  });
});
