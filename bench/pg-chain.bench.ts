// `npm run bench:pg-chain`: what the hash chain costs the PostgreSQL audit log. The real
// writer (PgAuditLog, group commit, four lanes) on a local PostgreSQL 15 with fsync on, driven
// in this process without HTTP so only the insert path is compared: single rows from 16
// concurrent appenders (each waits for its commit, as a request does) and batches of 100
// from 4, chained and not chained (`chained: false`, which only this comparison uses), 5 s
// each, alternated, median of 5 runs (BENCH_RUNS). Also the hashing alone, per row, on the event loop.
// Results: stdout and bench/results/pg-chain.json. The machine is shared: compare the
// ratios of one invocation.
import { mkdirSync, writeFileSync } from 'node:fs';
import { join, resolve } from 'node:path';
import { rowHash, type ChainedRow } from '../src/store/audit-chain.js';
import { toAuditRow, type AuditRecord } from '../src/store/audit-log.js';
import { PgAuditLog } from '../src/store/pg-audit-log.js';
import { openPostgres } from '../src/store/postgres.js';
import { newPredictionId } from '../src/predict/prediction-id.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { median } from './service-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const RUNS = Number(process.env['BENCH_RUNS'] ?? 5);
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const FEATURES = Object.fromEntries(['LIMIT_BAL', 'SEX', 'EDUCATION', 'MARRIAGE', 'AGE', 'PAY_0', 'PAY_2', 'PAY_3', 'PAY_4', 'PAY_5', 'PAY_6', 'BILL_AMT1', 'BILL_AMT2', 'BILL_AMT3', 'BILL_AMT4', 'BILL_AMT5', 'BILL_AMT6', 'PAY_AMT1', 'PAY_AMT2', 'PAY_AMT3', 'PAY_AMT4', 'PAY_AMT5', 'PAY_AMT6'].map((f, i) => [f, i < 5 ? 1 : 1000]));

const record = (): AuditRecord => {
  const t = Date.now();
  return { id: newPredictionId(t), requestId: 'bench', tsMs: t, eventTsMs: t, model: 'credit-default', modelVersion: '1.0.0', features: FEATURES, probability: 0.3, decision: 1, band: 'moderate', threshold: 0.2, latencyMs: 1, traceId: '0'.repeat(32), groups: { SEX: '1' }, bundleHash: 'f'.repeat(64) };
};

/** Rows committed per second by `clients` appenders of `batch` rows each, for SECONDS. */
async function measure(url: string, chained: boolean, clients: number, batch: number): Promise<number> {
  const pool = await openPostgres({ url, poolSize: 10 });
  const audit = new PgAuditLog(pool, undefined, { replica: 'bench', chained });
  const until = Date.now() + SECONDS * 1000;
  let rows = 0;
  const started = process.hrtime.bigint();
  await Promise.all(Array.from({ length: clients }, async () => {
    while (Date.now() < until) {
      await audit.append(Array.from({ length: batch }, record));
      rows += batch;
    }
  }));
  const seconds = Number(process.hrtime.bigint() - started) / 1e9;
  await audit.close();
  await pool.end();
  return rows / seconds;
}

/** Microseconds to hash one row (its canonical bytes), median of 5 rounds of 20,000. */
function hashMicros(): number {
  const rows = Array.from({ length: 20_000 }, (_x, i) => [i + 1, ...toAuditRow(record())] as unknown as ChainedRow);
  const rounds: number[] = [];
  for (let r = 0; r < 5; r++) {
    const t = process.hrtime.bigint();
    for (const row of rows) rowHash(row);
    rounds.push(Number(process.hrtime.bigint() - t) / 1e3 / rows.length);
  }
  return median(rounds);
}

const cluster = await startPostgres({ fsync: true });
try {
  const scenarios = [
    { name: 'single rows, 16 concurrent', clients: 16, batch: 1 },
    { name: 'batches of 100, 4 concurrent', clients: 4, batch: 100 },
  ];
  const results = [];
  for (const s of scenarios) {
    const plain: number[] = [];
    const chained: number[] = [];
    for (let run = 0; run < RUNS; run++) {
      for (const c of [false, true]) {
        const url = await cluster.createDatabase(`b${results.length}_${run}_${c ? 'c' : 'p'}`);
        const rate = await measure(url, c, s.clients, s.batch);
        (c ? chained : plain).push(rate);
        log(`${s.name}, ${c ? 'chained' : 'not chained'}, run ${run + 1}: ${rate.toFixed(0)} rows/s`);
      }
    }
    results.push({ scenario: s.name, not_chained_rows_per_s: Math.round(median(plain)), chained_rows_per_s: Math.round(median(chained)), ratio: Number((median(chained) / median(plain)).toFixed(3)), runs: { plain: plain.map(Math.round), chained: chained.map(Math.round) } });
  }
  const out = { date: new Date().toISOString(), seconds: SECONDS, runs: RUNS, hash_us_per_row: Number(hashMicros().toFixed(2)), load_average: (await import('node:os')).loadavg().map((l) => Number(l.toFixed(1))), results };
  process.stdout.write(`${JSON.stringify(out, null, 2)}\n`);
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'pg-chain.json'), `${JSON.stringify(out, null, 2)}\n`);
} finally {
  await cluster.close();
}
