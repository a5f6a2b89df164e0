// `npm run bench:pg-retention`: the p99 of POST /predict on PostgreSQL at a fixed 40 req/s
// while retention archives then drops two monthly partitions past their period (150,000 rows
// by default), against the same load with retention off. 40 req/s (BENCH_RATE): one replica on
// PostgreSQL takes about 64 req/s on this shared machine (docs/fleet.md), and a fixed rate
// above that measures the queue, not the purge. On copies of one database (CREATE DATABASE
// … TEMPLATE). A local PostgreSQL 15 with fsync on. Results: stdout and
// bench/results/pg-retention.json. The machine is shared: compare the runs of one invocation.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { AuditRecord } from '../src/store/audit-log.js';
import { PgAuditLog } from '../src/store/pg-audit-log.js';
import { openPostgres } from '../src/store/postgres.js';
import { newPredictionId } from '../src/predict/prediction-id.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { fixedRate } from './fixed-rate.js';
import { median } from './service-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const OLD_ROWS = Number(process.env['BENCH_RETENTION_ROWS'] ?? 150_000);
const RATE = Number(process.env['BENCH_RATE'] ?? 40);
const SECONDS = 15;
const dir = mkdtempSync(join(tmpdir(), 'vigia-pg-retention-bench-'));
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const FEATURES = Object.fromEntries(['LIMIT_BAL', 'SEX', 'EDUCATION', 'MARRIAGE', 'AGE', 'PAY_0', 'PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6', 'BILL_AMT1', 'BILL_AMT2', 'BILL_AMT3', 'BILL_AMT4', 'BILL_AMT5', 'BILL_AMT6', 'PAY_AMT1', 'PAY_AMT2', 'PAY_AMT3', 'PAY_AMT4', 'PAY_AMT5', 'PAY_AMT6'].map((f, i) => [f, i < 5 ? 1 : 1000]));
const ROW = JSON.stringify({ features: FEATURES });

/** `n` rows spread over two months three years ago, through the real writer, 1,000 per group. */
async function fill(url: string, n: number): Promise<void> {
  const pool = await openPostgres({ url, poolSize: 2 });
  const audit = new PgAuditLog(pool);
  const t0 = Date.UTC(new Date().getUTCFullYear() - 3, 0, 1);
  const step = (59 * 86_400_000) / n;
  for (let done = 0; done < n; done += 1000) {
    const records: AuditRecord[] = [];
    for (let i = done; i < Math.min(n, done + 1000); i++) {
      const t = Math.floor(t0 + i * step);
      records.push({ id: newPredictionId(t), requestId: 'bench', tsMs: t, eventTsMs: t, model: 'credit-default', modelVersion: '1.0.0', features: FEATURES, probability: 0.3, decision: 1, band: 'moderate', threshold: 0.2, latencyMs: 1, traceId: '0', bundleHash: 'f'.repeat(64) });
    }
    await audit.append(records);
  }
  await audit.close();
  await pool.end();
}

async function run(url: string, archiveDir: string, retention: boolean) {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'server.ts')], {
    env: { ...process.env, PORT: '0', HOST: '127.0.0.1', VIGIA_DB: url, VIGIA_EVAL_INTERVAL: '0s', VIGIA_LOG_LEVEL: 'warn', VIGIA_RETENTION_INTERVAL: retention ? '1s' : '0s', VIGIA_ARCHIVE_DIR: archiveDir },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const base = await new Promise<string>((res) => proc.stdout!.on('data', (d: Buffer) => {
    const m = /listening on (\S+)/.exec(d.toString());
    if (m) res(m[1]!);
  }));
  const started = Date.now();
  const r = await fixedRate({ url: `${base}/predict`, rate: RATE, seconds: SECONDS, body: () => ROW });
  proc.kill('SIGTERM');
  await new Promise((res) => proc.once('exit', res));
  const c = new pg.Client({ connectionString: url });
  await c.connect();
  const old = Number((await c.query<{ n: string }>(`SELECT count(*) AS n FROM predictions WHERE event_ts_ms < $1`, [started - 365 * 86_400_000])).rows[0]!.n);
  await c.end();
  const files = existsSync(archiveDir) ? readdirSync(archiveDir).length : 0;
  return { retention, p50_ms: r.p50, p99_ms: r.p99, max_ms: r.max, ok: r.ok, errors: r.errors, old_rows_left: old, archive_files: files };
}

async function main(): Promise<void> {
  const cluster = await startPostgres({ fsync: true });
  try {
    const template = await cluster.createDatabase('template_bench');
    log(`filling ${OLD_ROWS.toLocaleString('en-US')} rows past retention…`);
    await fill(template, OLD_ROWS);
    const admin = new pg.Client({ connectionString: template.replace(/\/template_bench$/, '/postgres') });
    await admin.connect();
    const results = [];
    for (const [i, retention] of [false, true, false, true, false, true].entries()) {
      await admin.query(`CREATE DATABASE run${i} TEMPLATE template_bench`);
      const r = await run(template.replace(/template_bench$/, `run${i}`), join(dir, `archive${i}`), retention);
      log(JSON.stringify(r));
      results.push(r);
    }
    await admin.end();
    const off = results.filter((r) => !r.retention);
    const on = results.filter((r) => r.retention);
    const p99Off = median(off.map((r) => r.p99_ms));
    const p99On = median(on.map((r) => r.p99_ms));
    const summary = {
      old_rows: OLD_ROWS, rate: RATE, seconds: SECONDS, p99_off_ms: p99Off, p99_during_purge_ms: p99On, ratio: Number((p99On / p99Off).toFixed(2)),
      runs: results, note: 'shared machine (2 cores, several engineers, PostgreSQL on the same cores): indicative; compare the runs of one invocation',
    };
    mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
    writeFileSync(join(ROOT, 'bench', 'results', 'pg-retention.json'), `${JSON.stringify(summary, null, 2)}\n`);
    process.stdout.write(`${JSON.stringify(summary, null, 2)}\n`);
  } finally {
    await cluster.close();
  }
}

main().finally(() => rmSync(dir, { recursive: true, force: true }));
