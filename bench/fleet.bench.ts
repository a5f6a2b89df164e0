// `npm run bench:fleet`: one replica on PostgreSQL against the same replica on SQLite
// (single rows and batches of 100, in the same run), three replicas together on one
// PostgreSQL, and the time a fleet takes to elect a new evaluator after its leader is
// SIGKILLed. The real `vigia serve` (bin/vigia.js, built first) on loopback, PostgreSQL a
// throwaway cluster with fsync on, load from autocannon in this process. Each scenario runs
// BENCH_REPS times (default 3) for BENCH_SECONDS (default 5) and is reported as the median;
// results go to stdout and bench/results/fleet.json. Nothing is asserted: machines are noisy.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import pg from 'pg';
import { demoRows } from '../test/helpers/demo-rows.js';
import { startPostgres } from '../test/helpers/postgres.js';
import { startVigia, type VigiaProcess } from '../test/helpers/process.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 5);
const LEADER_POLL = '1s';

const rows = demoRows(200);
const singleBody = JSON.stringify({ features: rows[0] });
const batchBody = JSON.stringify({ instances: rows.slice(0, 100) });
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;

async function load(url: string, body: 'single' | 'batch'): Promise<{ rps: number; rowsPerS: number; p99: number; non2xx: number }> {
  const r = await autocannon({
    url: `${url}/predict`, method: 'POST', headers: { 'content-type': 'application/json' },
    body: body === 'single' ? singleBody : batchBody, connections: body === 'single' ? 16 : 4, duration: SECONDS,
  });
  const rps = r.requests.average;
  return { rps, rowsPerS: rps * (body === 'single' ? 1 : 100), p99: r.latency.p99, non2xx: r.non2xx };
}

async function stop(v: VigiaProcess): Promise<void> {
  if (v.proc.exitCode !== null || v.proc.signalCode !== null) return;
  v.proc.kill('SIGTERM');
  await v.exited;
}

const env = (db: string, replica: string) => ({ VIGIA_DB: db, VIGIA_REPLICA_ID: replica, VIGIA_LOG_LEVEL: 'error', VIGIA_EVAL_INTERVAL: '60s', VIGIA_LEADER_POLL: LEADER_POLL });

async function main(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), 'vigia-bench-fleet-'));
  const cluster = await startPostgres({ fsync: true });
  const results: Record<string, number[]> = {};
  const note = (k: string, v: number) => (results[k] ??= []).push(v);
  try {
    for (let rep = 0; rep < REPS; rep++) {
      process.stderr.write(`rep ${rep + 1}/${REPS}: one replica on SQLite, then on PostgreSQL\n`);
      for (const [engine, db] of [['sqlite', join(dir, `rep${rep}.db`)], ['postgres', cluster.url]] as const) {
        const v = await startVigia(env(db, `bench-${engine}`));
        await load(v.url, 'single'); // warm-up (ONNX, connections, partitions)
        for (const body of ['single', 'batch'] as const) {
          const r = await load(v.url, body);
          note(`${engine}_${body}_rps`, r.rps);
          note(`${engine}_${body}_rows_per_s`, r.rowsPerS);
          note(`${engine}_${body}_p99_ms`, r.p99);
          if (r.non2xx > 0) process.stderr.write(`  ${engine} ${body}: ${r.non2xx} answers were not 2xx\n`);
        }
        await stop(v);
      }

      process.stderr.write(`rep ${rep + 1}/${REPS}: three replicas on one PostgreSQL, single rows\n`);
      const fleet: VigiaProcess[] = [];
      for (const name of ['a', 'b', 'c']) fleet.push(await startVigia(env(cluster.url, `bench-${name}`)));
      const together = await Promise.all(fleet.map((v) => load(v.url, 'single')));
      note('fleet3_single_rps', together.reduce((s, r) => s + r.rps, 0));

      process.stderr.write(`rep ${rep + 1}/${REPS}: leader failover\n`);
      const db = new pg.Client({ connectionString: cluster.url });
      await db.connect();
      const leader = async () => (await db.query<{ term: string; replica: string }>('SELECT term, replica FROM leader_terms ORDER BY term DESC LIMIT 1')).rows[0];
      let current = await leader();
      while (current === undefined) {
        await new Promise((r) => setTimeout(r, 50));
        current = await leader();
      }
      const victim = fleet.find((_, i) => `bench-${'abc'[i]}` === current!.replica)!;
      const killedAt = Date.now();
      victim.proc.kill('SIGKILL');
      await victim.exited;
      for (;;) {
        const now = await leader();
        if (now !== undefined && now.term !== current.term) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      note('failover_ms', Date.now() - killedAt);
      await db.end();
      await Promise.all(fleet.map(stop));
    }
  } finally {
    await cluster.close();
    rmSync(dir, { recursive: true, force: true });
  }

  const summary = Object.fromEntries(Object.entries(results).map(([k, v]) => [k, Math.round(median(v) * 10) / 10]));
  const ratio = (a: string, b: string) => Math.round((summary[a]! / summary[b]!) * 100) / 100;
  const report = {
    date: new Date().toISOString(),
    note: 'medians of BENCH_REPS runs on a shared machine: indicative only; PostgreSQL is a local throwaway cluster with fsync on',
    reps: REPS, seconds: SECONDS, leader_poll: LEADER_POLL,
    medians: summary,
    ratios: {
      postgres_vs_sqlite_single: ratio('postgres_single_rps', 'sqlite_single_rps'),
      postgres_vs_sqlite_batch: ratio('postgres_batch_rps', 'sqlite_batch_rps'),
      fleet3_vs_one_postgres_single: ratio('fleet3_single_rps', 'postgres_single_rps'),
    },
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'fleet.json'), `${JSON.stringify(report, null, 2)}\n`);
  process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
}

await main();
