// `npm run bench:retention`: the p99 of POST /predict at a fixed 200 req/s while retention
// archives and removes 150,000 rows past their period, against the same load with retention
// off, on copies of one database. Results: stdout and bench/results/retention.json. The
// machine is shared: compare the two runs of one invocation, not absolute figures.
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import Database from 'better-sqlite3';
import { SqliteAuditLog, type AuditRecord } from '../src/store/audit-log.js';
import { openDatabase } from '../src/store/database.js';
import { newPredictionId } from '../src/predict/prediction-id.js';
import { fixedRate } from './fixed-rate.js';

const ROOT = resolve(import.meta.dirname, '..');
const OLD_ROWS = Number(process.env['BENCH_RETENTION_ROWS'] ?? 150_000);
const RATE = 200;
const SECONDS = 15;
const dir = mkdtempSync(join(tmpdir(), 'vigia-retention-bench-'));
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const ROW = JSON.stringify({ features: Object.fromEntries(['LIMIT_BAL', 'SEX', 'EDUCATION', 'MARRIAGE', 'AGE', 'PAY_0', 'PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6', 'BILL_AMT1', 'BILL_AMT2', 'BILL_AMT3', 'BILL_AMT4', 'BILL_AMT5', 'BILL_AMT6', 'PAY_AMT1', 'PAY_AMT2', 'PAY_AMT3', 'PAY_AMT4', 'PAY_AMT5', 'PAY_AMT6'].map((f, i) => [f, i < 5 ? 1 : 1000])) });

/** `n` rows decided three years ago, through the real writer, 1,000 per group. */
async function fill(path: string, n: number): Promise<void> {
  openDatabase({ path, synchronous: 'NORMAL' }).close();
  const audit = await SqliteAuditLog.open({ path, synchronous: 'NORMAL' });
  const t0 = Date.now() - 3 * 365 * 86_400_000;
  const features = JSON.parse(ROW).features as Record<string, number>;
  for (let done = 0; done < n; done += 1000) {
    const records: AuditRecord[] = [];
    for (let i = done; i < Math.min(n, done + 1000); i++) {
      records.push({ id: newPredictionId(t0 + i), requestId: 'bench', tsMs: t0 + i, eventTsMs: t0 + i, model: 'credit-default', modelVersion: '1.0.0', features, probability: 0.3, decision: 1, band: 'moderate', threshold: 0.2, latencyMs: 1, traceId: '0', bundleHash: 'f'.repeat(64) });
    }
    await audit.append(records);
  }
  await audit.close();
}

async function run(db: string, retention: boolean) {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'server.ts')], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', VIGIA_DB: db, VIGIA_EVAL_INTERVAL: '0s', VIGIA_LOG_LEVEL: 'warn', VIGIA_RETENTION_INTERVAL: retention ? '1s' : '0s', VIGIA_ARCHIVE_DIR: `${db}.archive` },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const url = await new Promise<string>((res) => proc.stdout!.on('data', (d: Buffer) => {
    const m = /listening on (\S+)/.exec(d.toString());
    if (m) res(m[1]!);
  }));
  const r = await fixedRate({ url: `${url}/predict`, rate: RATE, seconds: SECONDS, body: () => ROW });
  proc.kill('SIGTERM');
  await new Promise((res) => proc.once('exit', res));
  const d = new Database(db, { readonly: true });
  const remaining = d.prepare('SELECT count(*) FROM predictions').pluck().get() as number;
  d.close();
  const archived = existsSync(`${db}.archive`) ? readdirSync(`${db}.archive`).length : 0;
  return { retention, p50_ms: r.p50, p99_ms: r.p99, max_ms: r.max, ok: r.ok, errors: r.errors, rows_left: remaining, archive_files: archived, db_mb: Math.round(statSync(db).size / 2 ** 20) };
}

async function main(): Promise<void> {
  const template = join(dir, 'template.db');
  log(`filling ${OLD_ROWS.toLocaleString('en-US')} rows past retention…`);
  await fill(template, OLD_ROWS);
  const results = [];
  for (const [i, retention] of [false, true, false, true].entries()) {
    const db = join(dir, `run${i}.db`);
    copyFileSync(template, db);
    const r = await run(db, retention);
    log(JSON.stringify(r));
    results.push(r);
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  const off = results.filter((r) => !r.retention);
  const on = results.filter((r) => r.retention);
  const summary = { old_rows: OLD_ROWS, rate: RATE, seconds: SECONDS, p99_off_ms: median(off.map((r) => r.p99_ms)), p99_during_purge_ms: median(on.map((r) => r.p99_ms)), runs: results, note: 'shared machine (2 cores, several engineers): indicative; compare the runs of one invocation' };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'retention.json'), `${JSON.stringify(summary, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
}

main().finally(() => rmSync(dir, { recursive: true, force: true }));
