// `npm run bench:ingest`: the ingest of predictions made elsewhere, one server process on
// loopback (audit log on, synchronous=FULL on SQLite; on PostgreSQL a throwaway local
// cluster with fsync on, synchronous_commit on, a fresh database per server), load from
// autocannon in this process, on each engine of BENCH_INGEST_ENGINES (default
// "sqlite,postgres"), interleaved in one run:
// observations in batches of 1 and of 1,000 rows, KServe CloudEvent pairs (request and
// response halves, v2 bodies), and /predict single rows as the baseline of the same run.
// Every request carries fresh ids, so nothing is a duplicate. Each scenario runs BENCH_REPS
// times (default 3), interleaved, and is reported as the median; p99 is the latency of the
// acknowledgement (the 200 after the commit). Results go to stdout and
// bench/results/ingest.json. Figures are not asserted anywhere: these machines are noisy.
import { cpSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { demoRows } from '../test/helpers/demo-rows.js';
import { startPostgres, type PgCluster } from '../test/helpers/postgres.js';
import { startServer, stopServer, type ServiceProcess } from './service-process.js';
import { kserveHeaders, v2Request, v2Response } from '../test/helpers/kserve.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPS = Number(process.env['BENCH_REPS'] ?? 3);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 6);
const OBSERVED = 'credit-default-observed';
const ENGINES = (process.env['BENCH_INGEST_ENGINES'] ?? 'sqlite,postgres').split(',') as ('sqlite' | 'postgres')[];
let cluster: PgCluster | undefined;
let databases = 0;

/** The service on a models folder holding the demo model and its monitor-only twin; the folder goes with the server. */
async function startIngestServer(engine: 'sqlite' | 'postgres'): Promise<ServiceProcess> {
  const models = mkdtempSync(join(tmpdir(), 'vigia-bench-ingest-models-'));
  cpSync(join(ROOT, 'models', 'credit-default'), join(models, 'credit-default'), { recursive: true });
  cpSync(join(ROOT, 'test', 'fixtures', 'monitor-only', OBSERVED), join(models, OBSERVED), { recursive: true });
  const db: Record<string, string> = engine === 'postgres' ? { VIGIA_DB: await cluster!.createDatabase(`ingest${databases++}`) } : {};
  const server = await startServer('ingest', [], { VIGIA_MODELS_DIR: models, VIGIA_DEFAULT_MODEL: 'credit-default', ...db });
  return { ...server, proc: server.proc.once('exit', () => rmSync(models, { recursive: true, force: true })) };
}

const rows = demoRows(1000);
const json = { 'content-type': 'application/json' };
let seq = 0;
const observations = (n: number) => JSON.stringify({ observations: Array.from({ length: n }, (_, j) => ({ features: rows[(seq + j) % rows.length], probability: ((seq + j) % 97) / 97, prediction_id: `bench-${seq++}` })) });

type Request = { path: string; headers: Record<string, string>; body: string };
interface Scenario { name: string; what: string; connections: number; rowsPerRequest: number; requestsPerUnit: number; unit: string; next: () => Request }

const scenarios: Scenario[] = [
  { name: 'predict_single', what: 'baseline: /predict single rows scored by Vigia, 16 connections', connections: 16, rowsPerRequest: 1, requestsPerUnit: 1, unit: 'rows', next: () => ({ path: '/predict', headers: json, body: JSON.stringify({ features: rows[seq++ % rows.length] }) }) },
  { name: 'observations_batch1', what: 'POST .../observations, 1 row per request, 16 connections', connections: 16, rowsPerRequest: 1, requestsPerUnit: 1, unit: 'rows', next: () => ({ path: `/v1/models/${OBSERVED}/observations`, headers: json, body: observations(1) }) },
  { name: 'observations_batch1000', what: 'POST .../observations, 1,000 rows per request, 4 connections', connections: 4, rowsPerRequest: 1000, requestsPerUnit: 1, unit: 'rows', next: () => ({ path: `/v1/models/${OBSERVED}/observations`, headers: json, body: observations(1000) }) },
  {
    name: 'cloudevents_pairs', what: 'KServe v2 CloudEvents of one row, request then response halves, 16 connections', connections: 16, rowsPerRequest: 0.5, requestsPerUnit: 2, unit: 'pairs',
    next: () => {
      const k = seq++;
      const id = `pair-${k >> 1}`;
      const row = rows[(k >> 1) % rows.length]!;
      return k % 2 === 0
        ? { path: `/v1/models/${OBSERVED}/cloudevents`, headers: kserveHeaders('request', id), body: JSON.stringify(v2Request([row])) }
        : { path: `/v1/models/${OBSERVED}/cloudevents`, headers: kserveHeaders('response', id), body: JSON.stringify(v2Response([((k >> 1) % 97) / 97])) };
    },
  },
];

interface Run { rps: number; p50: number; p99: number; errors: number; non2xx: number }

async function load(url: string, sc: Scenario, seconds: number): Promise<Run> {
  const result = await autocannon({
    url,
    connections: sc.connections,
    duration: seconds,
    requests: [{ method: 'POST', setupRequest: (req) => ({ ...req, ...sc.next() }) }],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};

type Result = { what: string; requests_per_s: number; per_s: number; unit: string; p50_ms: number; p99_ms: number; errors: number; runs: Run[] };

async function main(): Promise<void> {
  const only = process.argv.slice(2);
  const chosen = scenarios.filter((s) => only.length === 0 || only.includes(s.name));
  const runsOf = new Map<string, Run[]>(ENGINES.flatMap((e) => chosen.map((sc) => [`${e}:${sc.name}`, []] as [string, Run[]])));
  console.log(`bench: ${REPS} reps × ${SECONDS} s per scenario on ${cpus().length} cores, node ${process.version}, engines ${ENGINES.join(', ')}`);
  if (ENGINES.includes('postgres')) cluster = await startPostgres({ fsync: true });
  try {
    for (let rep = 0; rep < REPS; rep++) {
      for (const sc of chosen) {
        for (const engine of ENGINES) {
          const server = await startIngestServer(engine);
          try {
            await load(server.url, sc, 1); // warm-up
            const run = await load(server.url, sc, SECONDS);
            runsOf.get(`${engine}:${sc.name}`)!.push(run);
            console.log(`  rep ${rep + 1}/${REPS} ${engine} ${sc.name}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, errors ${run.errors}, non-2xx ${run.non2xx}`);
          } finally {
            await stopServer(server);
          }
        }
      }
    }
  } finally {
    await cluster?.close();
  }
  const byEngine: Record<string, Record<string, Result>> = {};
  for (const engine of ENGINES) {
    const results: Record<string, Result> = (byEngine[engine] = {});
    for (const sc of chosen) {
      const runs = runsOf.get(`${engine}:${sc.name}`)!;
      const rps = median(runs.map((r) => r.rps));
      results[sc.name] = {
        what: sc.what,
        requests_per_s: Math.round(rps),
        per_s: Math.round(sc.unit === 'pairs' ? rps / sc.requestsPerUnit : rps * sc.rowsPerRequest),
        unit: sc.unit,
        p50_ms: Number(median(runs.map((r) => r.p50)).toFixed(2)),
        p99_ms: Number(median(runs.map((r) => r.p99)).toFixed(2)),
        errors: runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
        runs,
      };
    }
  }
  const results = byEngine[ENGINES[0]!]!;
  const ratio = (a: string, b: string) => (results[a] && results[b] ? Number((results[a].per_s / results[b].per_s).toFixed(3)) : undefined);
  const summary = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version, note: 'shared with other work: indicative figures' },
    reps: REPS,
    seconds: SECONDS,
    engines: byEngine,
    ratios: {
      [`${ENGINES[0]}_rows_observations_batch1_vs_predict_single`]: ratio('observations_batch1', 'predict_single'),
      [`${ENGINES[0]}_rows_observations_batch1000_vs_batch1`]: ratio('observations_batch1000', 'observations_batch1'),
      ...(byEngine['sqlite'] && byEngine['postgres']
        ? { postgres_vs_sqlite: Object.fromEntries(chosen.map((sc) => [sc.name, Number((byEngine['postgres']![sc.name]!.per_s / byEngine['sqlite']![sc.name]!.per_s).toFixed(3))])) }
        : {}),
    },
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'ingest.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log('\nengine   scenario                  req/s      per s   p50 ms  p99 ms');
  for (const [engine, rs] of Object.entries(byEngine)) {
    for (const [name, v] of Object.entries(rs)) {
      console.log(`${engine.padEnd(8)} ${name.padEnd(24)} ${String(v.requests_per_s).padStart(6)} ${String(v.per_s).padStart(8)} ${v.unit.padEnd(5)} ${String(v.p50_ms).padStart(7)} ${String(v.p99_ms).padStart(7)}`);
    }
  }
  console.log('ratios', summary.ratios);
  console.log('written to bench/results/ingest.json');
}

await main();
