// `npm run bench`: throughput and latency of /predict on the demo model, one server
// process on loopback, load from autocannon in this process. Each scenario runs
// BENCH_REPS times (default 5) and is reported as the median; results go to stdout and
// bench/results/predict.json. Figures are not asserted anywhere: these machines are noisy.
// BENCH_BASELINE=<checkout of another commit, with node_modules> runs every scenario's reps
// on that checkout's server too, right after this one's (A B, A B, ...), so a before/after
// comparison shares the host's slow and quiet spells; its medians and the ratios of this
// checkout's to them go under `baseline`.
import { spawn } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { demoRows } from '../test/helpers/demo-rows.js';
import type { FixedRateResult } from './fixed-rate.js';
import { median, startServer, stopServer } from './service-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const REPS = Number(process.env['BENCH_REPS'] ?? 5);
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const BASELINE = process.env['BENCH_BASELINE'];

/**
 * A local OTLP/HTTP sink in its own process that accepts span exports, so the tracing
 * cost includes serializing and sending spans, while the sink's own work stays out of the
 * load generator's process.
 */
const SINK = `let n = 0; const s = require('node:http').createServer((q, r) => { q.resume(); q.on('end', () => { n++; r.writeHead(200, { 'content-type': 'application/json' }).end('{}'); }); }); s.listen(0, '127.0.0.1', () => console.log('listening on http://127.0.0.1:' + s.address().port)); process.on('SIGTERM', () => { console.log('exports ' + n); process.exit(0); });`;

async function startOtlpSink(): Promise<{ url: string; stop: () => Promise<number> }> {
  const proc = spawn(process.execPath, ['-e', SINK], { stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  const url = await new Promise<string>((res) => {
    proc.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      const m = /listening on (\S+)/.exec(out);
      if (m) res(m[1]!);
    });
  });
  return {
    url,
    stop: async () => {
      const done = new Promise((r) => proc.once('exit', r));
      proc.kill('SIGTERM');
      await done;
      return Number(/exports (\d+)/.exec(out)?.[1] ?? 0);
    },
  };
}

const rows = demoRows(200);
const singleBodies = rows.map((r) => JSON.stringify({ features: r }));
const batchBody = JSON.stringify({ instances: rows.slice(0, 100) });

interface Run { rps: number; p50: number; p90: number; p99: number; errors: number; non2xx: number }

async function load(url: string, opts: { body: 'single' | 'batch'; connections: number; rate?: number; seconds: number }): Promise<Run> {
  let i = 0;
  const result = await autocannon({
    url: `${url}/predict`,
    connections: opts.connections,
    duration: opts.seconds,
    ...(opts.rate === undefined ? {} : { overallRate: opts.rate }),
    requests: [{
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      setupRequest: (req) => ({ ...req, body: opts.body === 'batch' ? batchBody : singleBodies[i++ % singleBodies.length]! }),
    }],
  });
  return { rps: result.requests.average, p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, errors: result.errors, non2xx: result.non2xx };
}


interface Scenario { name: string; what: string; server: { args: string[]; env: Record<string, string>; bare?: boolean }; load: Omit<Parameters<typeof load>[1], 'seconds'>; rowsPerRequest: number }

/** The same load at a fixed rate: bench/fixed-rate.ts in a fresh process (open loop, latency from the due time). */
async function loadFixed(url: string, rate: number, seconds: number): Promise<Run> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'fixed-rate-cli.ts'), `${url}/predict`, String(rate), String(seconds)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  const code = await new Promise<number | null>((r) => proc.on('exit', r));
  if (code !== 0) throw new Error(`fixed-rate generator exited ${code}`);
  const r = JSON.parse(out) as FixedRateResult;
  return { rps: r.ok / seconds, p50: r.p50, p90: r.p90, p99: r.p99, errors: r.errors, non2xx: 0 };
}


async function main(): Promise<void> {
  const sink = await startOtlpSink();
  const traced = (sampler: string, arg: string) => ({
    args: [],
    env: { OTEL_TRACES_EXPORTER: 'otlp', OTEL_EXPORTER_OTLP_PROTOCOL: 'http/protobuf', OTEL_EXPORTER_OTLP_ENDPOINT: sink.url, OTEL_TRACES_SAMPLER: sampler, OTEL_TRACES_SAMPLER_ARG: arg, OTEL_METRICS_EXPORTER: 'none', OTEL_LOGS_EXPORTER: 'none' },
  });
  const base = { args: [], env: {} };
  const saturate = { body: 'single' as const, connections: 32 };
  const scenarios: Scenario[] = [
    { name: 'single_saturated', what: 'single-row requests, 32 connections, audit log on (synchronous=FULL), tracing off', server: base, load: saturate, rowsPerRequest: 1 },
    { name: 'single_saturated_no_audit', what: 'the same with the audit log switched off', server: { args: ['--no-audit'], env: {} }, load: saturate, rowsPerRequest: 1 },
    { name: 'single_saturated_sync_normal', what: 'the same with VIGIA_DB_SYNCHRONOUS=NORMAL', server: { args: [], env: { VIGIA_DB_SYNCHRONOUS: 'NORMAL' } }, load: saturate, rowsPerRequest: 1 },
    { name: 'single_saturated_traced_all', what: 'the same with tracing on, every request sampled, exported over OTLP/HTTP', server: traced('always_on', '1'), load: saturate, rowsPerRequest: 1 },
    { name: 'single_saturated_traced_10pct', what: 'the same with tracing on, 10 % of requests sampled (parentbased_traceidratio 0.1, the recommended setting)', server: traced('parentbased_traceidratio', '0.1'), load: saturate, rowsPerRequest: 1 },
    { name: 'single_1000rps', what: 'single-row requests at a fixed 1,000 req/s (open loop, bench/fixed-rate.ts), audit log on', server: base, load: { body: 'single', connections: 0, rate: 1000 }, rowsPerRequest: 1 },
    { name: 'single_1000rps_no_audit', what: 'the same fixed 1,000 req/s with the audit log switched off: what the wait for the commit adds to the tail', server: { args: ['--no-audit'], env: {} }, load: { body: 'single', connections: 0, rate: 1000 }, rowsPerRequest: 1 },
    { name: 'single_1000rps_sync_normal', what: 'the same fixed 1,000 req/s with VIGIA_DB_SYNCHRONOUS=NORMAL (no fsync at each commit)', server: { args: [], env: { VIGIA_DB_SYNCHRONOUS: 'NORMAL' } }, load: { body: 'single', connections: 0, rate: 1000 }, rowsPerRequest: 1 },
    { name: 'floor_bare_node_1000rps', what: 'a bare node:http server answering {} at the same fixed 1,000 req/s: the floor of this machine and generator', server: { args: ['--bare'], env: {} }, load: { body: 'single', connections: 0, rate: 1000 }, rowsPerRequest: 1 },
    { name: 'bare_node_saturated', what: 'the bare node:http server under the saturating single-row load: the ceiling of this machine and generator', server: { args: ['--bare'], env: {} }, load: saturate, rowsPerRequest: 1 },
    { name: 'batch100_saturated', what: 'batches of 100 rows, 8 connections', server: base, load: { body: 'batch', connections: 8 }, rowsPerRequest: 100 },
  ];
  const only = process.argv.slice(2);
  const results: Record<string, unknown> = {};
  console.log(`bench: ${REPS} reps × ${SECONDS} s per scenario on ${cpus().length} cores, node ${process.version}`);
  // Reps are interleaved (A B C, A B C, ...) so that a slow spell of this shared host
  // falls on every scenario alike instead of on one; ratios compare medians.
  const chosen = scenarios.filter((s) => only.length === 0 || only.includes(s.name));
  const servers: { label: string; start: typeof startServer; stop: typeof stopServer }[] = [{ label: '', start: startServer, stop: stopServer }];
  if (BASELINE !== undefined) {
    const other = (await import(join(resolve(BASELINE), 'bench', 'service-process.ts'))) as typeof import('./service-process.js');
    servers.push({ label: ' (baseline)', start: other.startServer, stop: other.stopServer });
  }
  const runsOf = new Map<string, Run[][]>(chosen.map((sc) => [sc.name, servers.map(() => [])]));
  for (let rep = 0; rep < REPS; rep++) {
    for (const sc of chosen) {
      for (const [k, s] of servers.entries()) {
        const server = await s.start(sc.name, sc.server.args, sc.server.env);
        try {
          const measure = (seconds: number) => (sc.load.rate === undefined ? load(server.url, { ...sc.load, seconds }) : loadFixed(server.url, sc.load.rate, seconds));
          await measure(2); // warm-up
          const run = await measure(SECONDS);
          runsOf.get(sc.name)![k]!.push(run);
          console.log(`  rep ${rep + 1}/${REPS} ${sc.name}${s.label}: ${run.rps.toFixed(0)} req/s, p50 ${run.p50.toFixed(2)} ms, p99 ${run.p99.toFixed(2)} ms, errors ${run.errors}, non-2xx ${run.non2xx}`);
        } finally {
          await s.stop(server);
        }
      }
    }
  }
  const summarize = (sc: Scenario, runs: Run[]) => {
    const rps = median(runs.map((r) => r.rps));
    return {
      requests_per_s: Math.round(rps),
      rows_per_s: Math.round(rps * sc.rowsPerRequest),
      p50_ms: Number(median(runs.map((r) => r.p50)).toFixed(2)),
      p90_ms: Number(median(runs.map((r) => r.p90)).toFixed(2)),
      p99_ms: Number(median(runs.map((r) => r.p99)).toFixed(2)),
      errors: runs.reduce((n, r) => n + r.errors + r.non2xx, 0),
      runs,
    };
  };
  for (const sc of chosen) {
    const [mine, theirs] = runsOf.get(sc.name)!;
    const own = summarize(sc, mine!);
    const baseline = theirs === undefined ? undefined : summarize(sc, theirs);
    results[sc.name] = {
      what: sc.what,
      ...own,
      ...(baseline === undefined ? {} : {
        baseline: { ...baseline, throughput_ratio: Number((own.requests_per_s / baseline.requests_per_s).toFixed(3)), p99_ratio: Number((own.p99_ms / baseline.p99_ms).toFixed(3)) },
      }),
    };
  }
  const r = results as Record<string, { requests_per_s: number }>;
  const ratio = (a: string, b: string) => (r[a] && r[b] ? Number((r[a].requests_per_s / r[b].requests_per_s).toFixed(3)) : undefined);
  const p = results as Record<string, { p99_ms: number }>;
  const p99Ratio = (a: string, b: string) => (p[a] && p[b] ? Number((p[a].p99_ms / p[b].p99_ms).toFixed(3)) : undefined);
  const summary = {
    date: new Date().toISOString(),
    machine: { cores: cpus().length, cpu: cpus()[0]?.model, node: process.version },
    reps: REPS,
    seconds: SECONDS,
    ...(BASELINE === undefined ? {} : { baseline: BASELINE }),
    scenarios: results,
    ratios: {
      throughput_audit_on_vs_off: ratio('single_saturated', 'single_saturated_no_audit'),
      throughput_sync_full_vs_normal: ratio('single_saturated', 'single_saturated_sync_normal'),
      throughput_traced_all_vs_off: ratio('single_saturated_traced_all', 'single_saturated'),
      throughput_traced_10pct_vs_off: ratio('single_saturated_traced_10pct', 'single_saturated'),
      throughput_single_saturated_vs_bare_node: ratio('single_saturated', 'bare_node_saturated'),
      p99_1000rps_vs_floor: p99Ratio('single_1000rps', 'floor_bare_node_1000rps'),
    },
    otlp_export_requests: await sink.stop(),
  };
  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'predict.json'), `${JSON.stringify(summary, null, 2)}\n`);
  console.log('\nscenario                         req/s    rows/s   p50 ms  p99 ms');
  for (const [name, v] of Object.entries(results) as [string, { requests_per_s: number; rows_per_s: number; p50_ms: number; p99_ms: number }][]) {
    console.log(`${name.padEnd(32)} ${String(v.requests_per_s).padStart(6)} ${String(v.rows_per_s).padStart(9)} ${String(v.p50_ms).padStart(8)} ${String(v.p99_ms).padStart(7)}`);
  }
  console.log('ratios', summary.ratios);
  console.log('written to bench/results/predict.json');
}

await main();
