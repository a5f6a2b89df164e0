// `npm run bench:export`: `vigia export` of 1,000,000 predictions of the demo model (23
// features, 30 % labelled) to CSV and to Parquet, as the real command (bin/vigia.js, built
// first): rows/s and the process's peak RSS, against the same export of 100,000 rows — equal
// peak RSS at both sizes is what "constant memory" means. Then `vigia audit verify` over the
// same log. Results: stdout and bench/results/export.json. BENCH_EXPORT_ENGINE=postgres does
// the same on a throwaway PostgreSQL cluster (fsync on): `vigia export --db postgres://…`
// reads through a server-side cursor; results in bench/results/export-postgres.json. The
// machine is shared: figures are indicative; the ratios within one run are what to compare.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { SqliteAuditLog, type AuditLog, type AuditRecord, type LabelStore } from '../src/store/audit-log.js';
import { openDatabase } from '../src/store/database.js';
import { PgAuditLog } from '../src/store/pg-audit-log.js';
import { openPostgres } from '../src/store/postgres.js';
import { newPredictionId } from '../src/predict/prediction-id.js';
import { startPostgres, type PgCluster } from '../test/helpers/postgres.js';

const ROOT = resolve(import.meta.dirname, '..');
const ENGINE = process.env['BENCH_EXPORT_ENGINE'] ?? 'sqlite';
if (ENGINE !== 'sqlite' && ENGINE !== 'postgres') throw new Error(`BENCH_EXPORT_ENGINE "${ENGINE}": expected sqlite or postgres`);
const ROWS = Number(process.env['BENCH_EXPORT_ROWS'] ?? 1_000_000);
const SMALL = Math.round(ROWS / 10);
const FEATURES = ['LIMIT_BAL', 'SEX', 'EDUCATION', 'MARRIAGE', 'AGE', 'PAY_0', 'PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6', 'BILL_AMT1', 'BILL_AMT2', 'BILL_AMT3', 'BILL_AMT4', 'BILL_AMT5', 'BILL_AMT6', 'PAY_AMT1', 'PAY_AMT2', 'PAY_AMT3', 'PAY_AMT4', 'PAY_AMT5', 'PAY_AMT6'];
const dir = mkdtempSync(join(tmpdir(), 'vigia-export-bench-'));
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const lcg = (seed: number) => () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

/** Writes `n` predictions through the real audit-log writer (hash chain included), 1,000 per group, and labels 30 %. */
async function fill(audit: AuditLog & LabelStore, n: number): Promise<number> {
  const rand = lcg(7);
  const t0 = Date.now() - n;
  const labelled: [string, 0 | 1, number][] = [];
  for (let done = 0; done < n; done += 1000) {
    const records: AuditRecord[] = [];
    for (let i = done; i < Math.min(n, done + 1000); i++) {
      const ts = t0 + i;
      const features = Object.fromEntries(FEATURES.map((f, j) => [f, j < 5 ? Math.floor(rand() * 5) : Math.round(rand() * 100_000)]));
      const p = Math.round(rand() ** 2 * 1e6) / 1e6;
      const id = newPredictionId(ts);
      records.push({ id, requestId: 'bench', tsMs: ts, eventTsMs: ts, model: 'credit-default', modelVersion: '1.0.0', features, probability: p, decision: p >= 0.2 ? 1 : 0, band: p >= 0.5 ? 'critical' : p >= 0.2 ? 'moderate' : 'low', threshold: 0.2, latencyMs: 1, traceId: '0', bundleHash: 'f'.repeat(64), groups: { SEX: String(features['SEX']) } });
      if (rand() < 0.3) labelled.push([id, rand() < p ? 1 : 0, ts]);
    }
    await audit.append(records);
    if (done % 100_000 === 0 && done > 0) log(`  ${done.toLocaleString('en-US')} rows`);
    if (labelled.length >= 10_000) await audit.recordLabels(labelled.splice(0), Date.now());
  }
  if (labelled.length > 0) await audit.recordLabels(labelled.splice(0), Date.now());
  return t0;
}

/** Runs a vigia subcommand and returns its wall time, peak RSS (from its last progress line, or /proc via time), and output. */
function vigia(args: string[]): { seconds: number; output: string; peakRssMb: number } {
  const started = process.hrtime.bigint();
  const r = spawnSync('/usr/bin/time', ['-f', 'MAXRSS_KB=%M', process.execPath, join(ROOT, 'bin', 'vigia.js'), ...args], { encoding: 'utf8' });
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  const output = r.stdout + r.stderr;
  if (r.status !== 0) throw new Error(`vigia ${args.join(' ')} failed (${r.status}):\n${output}`);
  const kb = Number(/MAXRSS_KB=(\d+)/.exec(output)?.[1] ?? NaN);
  return { seconds, output, peakRssMb: kb / 1024 };
}

async function main(): Promise<void> {
  log(`filling ${ROWS.toLocaleString('en-US')} rows through the ${ENGINE} audit-log writer…`);
  const fillStarted = Date.now();
  let db: string;
  let t0: number;
  let sizeMb: number;
  if (ENGINE === 'sqlite') {
    db = join(dir, 'vigia.db');
    openDatabase({ path: db, synchronous: 'NORMAL' }).close();
    const audit = await SqliteAuditLog.open({ path: db, synchronous: 'NORMAL' });
    t0 = await fill(audit, ROWS);
    await audit.close();
    sizeMb = statSync(db).size / 2 ** 20;
  } else {
    cluster = await startPostgres({ fsync: true });
    db = cluster.url;
    const pool = await openPostgres({ url: db, poolSize: 4 });
    const audit = new PgAuditLog(pool);
    t0 = await fill(audit, ROWS);
    await audit.close();
    sizeMb = Number((await pool.query<{ b: string }>(`SELECT pg_database_size(current_database()) AS b`)).rows[0]!.b) / 2 ** 20;
    await pool.end();
  }
  const fillSeconds = (Date.now() - fillStarted) / 1000;
  log(`filled in ${fillSeconds.toFixed(1)} s; ${sizeMb.toFixed(0)} MB`);
  const results: Record<string, unknown> = { engine: ENGINE, rows: ROWS, cpus: cpus().length, cpu: cpus()[0]?.model, date: new Date().toISOString().slice(0, 10), note: 'shared machine (2 cores, several engineers): indicative figures', fill_through_audit_writer_seconds: Math.round(fillSeconds * 10) / 10, database_mb: Math.round(sizeMb) };
  for (const format of ['csv', 'parquet'] as const) {
    for (const n of [SMALL, ROWS]) {
      const out = join(dir, `out-${n}.${format}`);
      const r = vigia(['export', '--model', 'credit-default', '--version', '1.0.0', '--from', String(t0), '--to', String(t0 + n), '--out', out, '--db', db]);
      const entry = { rows: n, seconds: r.seconds, rows_per_second: Math.round(n / r.seconds), peak_rss_mb: Math.round(r.peakRssMb), file_mb: Math.round(statSync(out).size / 2 ** 20) };
      results[`${format}_${n}`] = entry;
      log(`${format} ${n.toLocaleString('en-US')} rows: ${JSON.stringify(entry)}`);
    }
  }
  const v = vigia(['audit', 'verify', '--db', db, ...(ENGINE === 'postgres' ? ['--archive-dir', join(dir, 'archive')] : [])]);
  results['audit_verify'] = { rows: ROWS, seconds: v.seconds, rows_per_second: Math.round(ROWS / v.seconds), peak_rss_mb: Math.round(v.peakRssMb) };
  log(`audit verify: ${JSON.stringify(results['audit_verify'])}`);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', ENGINE === 'sqlite' ? 'export.json' : 'export-postgres.json'), `${JSON.stringify(results, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(results, null, 2)}\n`);
}

let cluster: PgCluster | undefined;
main().finally(async () => {
  await cluster?.close();
  rmSync(dir, { recursive: true, force: true });
});
