// `npm run bench:soak`: the service under steady load for an hour, with drift and
// performance evaluations running, to show that nothing drifts but the data: resident
// memory, heap and event-loop delay flat (their slopes reported), no error, and the
// database and WAL sizes as expected (flat at the size budget when one is given).
//
// Usage: npm run bench:soak -- [--minutes 60] [--rate R] [--segment 10]
//                              [--eval-interval 60s] [--db-size-budget 300mb]
// Without --rate it measures the saturated single-row rate first (autocannon, 32
// connections, 10 s) and runs at half of it. One progress line per segment; the figures go
// to bench/results/soak.json (soak-short.json when under 60 minutes).
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { join, resolve } from 'node:path';
import { createInterface } from 'node:readline';
import autocannon from 'autocannon';
import { demoLabelledRows, demoRows } from '../test/helpers/demo-rows.js';
import type { FixedRateResult } from './fixed-rate.js';
import { median, startServer, stopServer } from './service-process.js';

const ROOT = resolve(import.meta.dirname, '..');

function option(name: string, fallback: string | undefined): string | undefined {
  const at = process.argv.indexOf(`--${name}`);
  if (at < 0) return fallback;
  const value = process.argv[at + 1];
  if (value === undefined) throw new Error(`--${name} needs a value`);
  return value;
}

const minutes = Number(option('minutes', '60'));
const segmentSeconds = Number(option('segment', '10'));
const evalInterval = option('eval-interval', '60s')!;
const budget = option('db-size-budget', undefined);
const rateOption = option('rate', undefined);
for (const [name, v] of [['minutes', minutes], ['segment', segmentSeconds]] as const) {
  if (!(v > 0)) throw new Error(`--${name} must be a positive number, got ${String(v)}`);
}

/** Saturated single-row throughput, to run the soak at half of it. */
async function saturatedRate(url: string): Promise<number> {
  const bodies = demoRows(200).map((r) => JSON.stringify({ features: r }));
  let i = 0;
  const result = await autocannon({
    url: `${url}/predict`, connections: 32, duration: 10,
    requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length]! }) }],
  });
  return result.requests.average;
}

/** The value of an unlabelled (or first-listed) sample of a metric in a Prometheus text exposition. */
function metric(text: string, name: string, labels = ''): number | undefined {
  for (const line of text.split('\n')) {
    if (!line.startsWith(name)) continue;
    const rest = line.slice(name.length);
    if (rest.startsWith(' ') || (rest.startsWith('{') && rest.includes(labels))) return Number(line.slice(line.lastIndexOf(' ') + 1));
  }
  return undefined;
}

/** Sum over every sample of a metric (all label sets). */
function metricSum(text: string, name: string): number {
  let sum = 0;
  for (const line of text.split('\n')) if (line.startsWith(`${name}{`) || line.startsWith(`${name} `)) sum += Number(line.slice(line.lastIndexOf(' ') + 1));
  return sum;
}

/** Resident set of a process's descendants (the evaluation process, the audit writer is a thread), from /proc. */
function childrenRss(pid: number): number {
  let total = 0;
  const tasks = `/proc/${pid}/task`;
  if (!existsSync(tasks)) return 0;
  for (const task of readdirSync(tasks)) {
    let children: string[] = [];
    try {
      children = readFileSync(`${tasks}/${task}/children`, 'utf8').trim().split(/\s+/).filter(Boolean);
    } catch { continue; }
    for (const child of children) {
      try {
        const status = readFileSync(`/proc/${child}/status`, 'utf8');
        total += Number(/VmRSS:\s+(\d+) kB/.exec(status)?.[1] ?? 0) * 1024;
      } catch { /* exited meanwhile */ }
      total += childrenRss(Number(child));
    }
  }
  return total;
}

const size = (path: string): number => (existsSync(path) ? statSync(path).size : 0);

/** Least-squares slope of y over x. */
function slope(xs: readonly number[], ys: readonly number[]): number {
  const n = xs.length;
  const mx = xs.reduce((a, b) => a + b, 0) / n;
  const my = ys.reduce((a, b) => a + b, 0) / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    sxy += (xs[i]! - mx) * (ys[i]! - my);
    sxx += (xs[i]! - mx) ** 2;
  }
  return sxx === 0 ? 0 : sxy / sxx;
}

interface Sample {
  readonly minute: number;
  readonly rssMb: number;
  readonly childRssMb: number;
  readonly heapUsedMb: number;
  readonly eventLoopP99Ms: number;
  readonly eventLoopMaxMs: number;
  readonly p50Ms: number;
  readonly p99Ms: number;
  readonly sent: number;
  readonly errors: number;
  readonly dbMb: number;
  readonly walMb: number;
  readonly archiveMb: number;
  readonly evaluations: number;
  readonly evaluationFailures: number;
  readonly labelsPosted: number;
}

const evaluationTimes = new Set<number>();
/** Drift evaluations seen so far: the distinct last-evaluation times scraped (one scrape per segment, shorter than the interval). */
function countEvaluation(at: number | undefined): number {
  if (at !== undefined && at > 0) evaluationTimes.add(at);
  return evaluationTimes.size;
}

const labelled = demoLabelledRows(2000);
let labelCursor = 0;

/** Scores a few rows from here and posts their labels: the performance evaluation has matured labels to read. */
async function predictAndLabel(url: string, count: number): Promise<number> {
  const picked = Array.from({ length: count }, () => labelled[labelCursor++ % labelled.length]!);
  const res = await fetch(`${url}/predict`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ instances: picked.map((r) => r.features) }) });
  if (res.status !== 200) throw new Error(`labelling batch: /predict answered ${res.status}`);
  const body = await res.json() as { predictions: { prediction_id: string }[] };
  const labels = body.predictions.map((p, i) => ({ prediction_id: p.prediction_id, label: picked[i]!.label }));
  const posted = await fetch(`${url}/v1/labels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels }) });
  if (posted.status !== 200) throw new Error(`labels: answered ${posted.status}`);
  return labels.length;
}

const env: Record<string, string> = { VIGIA_EVAL_INTERVAL: evalInterval, VIGIA_LABEL_DELAY: '0s', VIGIA_LOG_LEVEL: 'warn' };
if (budget !== undefined) Object.assign(env, { VIGIA_DB_SIZE_BUDGET: budget, VIGIA_RETENTION_INTERVAL: '1m' });
const server = await startServer('soak', [], env);
const pid = server.proc.pid!;
const db = join(server.dir, 'vigia.db');
const archive = join(server.dir, 'archive');
/**
 * Bytes of the archive folder. An archive file never changes once renamed into place, so
 * only the new names are stat'ed: an hour writes some 20,000 files, and stat'ing every one
 * at every segment cost this process a burst of CPU that grew with the folder, on the two
 * cores the service shares (a suspect in the rise of p99 through the first hour-long soaks).
 */
const archiveSizes = new Map<string, number>();
const dirSize = (dir: string): number => {
  if (!existsSync(dir)) return 0;
  const names = new Set(readdirSync(dir).filter((f) => !f.endsWith('.partial')));
  for (const f of archiveSizes.keys()) if (!names.has(f)) archiveSizes.delete(f);
  for (const f of names) if (!archiveSizes.has(f)) archiveSizes.set(f, size(join(dir, f)));
  let total = 0;
  for (const bytes of archiveSizes.values()) total += bytes;
  return total;
};

const saturated = rateOption === undefined ? await saturatedRate(server.url) : undefined;
const rate = rateOption === undefined ? Math.round(saturated! / 2) : Number(rateOption);
if (!(rate > 0)) throw new Error(`--rate must be a positive number, got ${rateOption}`);
const segments = Math.round((minutes * 60) / segmentSeconds);
process.stderr.write(`[soak] ${minutes} min at ${rate} req/s${saturated === undefined ? '' : ` (half of the saturated ${Math.round(saturated)} req/s)`}, evaluations every ${evalInterval}${budget === undefined ? '' : `, size budget ${budget}`}; database in ${server.dir}\n`);

const load = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'soak-load.ts'), `${server.url}/predict`, String(rate), String(segmentSeconds), String(segments)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
const samples: Sample[] = [];
const began = Date.now();
let labelsPosted = 0;
let labelFailures = 0;
for await (const line of createInterface({ input: load.stdout! })) {
  const seg = JSON.parse(line) as FixedRateResult & { segment: number };
  try {
    labelsPosted += await predictAndLabel(server.url, 20);
  } catch (err) {
    labelFailures++;
    process.stderr.write(`[soak] ${(err as Error).message}\n`);
  }
  const text = await (await fetch(`${server.url}/metrics`)).text();
  const s: Sample = {
    minute: (Date.now() - began) / 60_000,
    rssMb: (metric(text, 'process_resident_memory_bytes') ?? 0) / 2 ** 20,
    childRssMb: childrenRss(pid) / 2 ** 20,
    heapUsedMb: (metric(text, 'nodejs_heap_size_used_bytes') ?? 0) / 2 ** 20,
    eventLoopP99Ms: (metric(text, 'nodejs_eventloop_lag_p99_seconds') ?? 0) * 1000,
    eventLoopMaxMs: (metric(text, 'nodejs_eventloop_lag_max_seconds') ?? 0) * 1000,
    p50Ms: seg.p50,
    p99Ms: seg.p99,
    sent: seg.sent,
    errors: seg.errors,
    dbMb: size(db) / 2 ** 20,
    walMb: size(`${db}-wal`) / 2 ** 20,
    archiveMb: dirSize(archive) / 2 ** 20,
    evaluations: countEvaluation(metric(text, 'vigia_drift_last_evaluation_timestamp_seconds', 'model="credit-default"')),
    evaluationFailures: metricSum(text, 'vigia_drift_evaluation_failures_total'),
    labelsPosted,
  };
  samples.push(s);
  const mm = (m: number) => `${String(Math.floor(m)).padStart(2, '0')}:${String(Math.round((m % 1) * 60)).padStart(2, '0')}`;
  process.stderr.write(`[soak] ${mm(s.minute)} / ${mm(minutes)}  rss ${s.rssMb.toFixed(0)} MB (+${s.childRssMb.toFixed(0)} MB eval)  heap ${s.heapUsedMb.toFixed(0)} MB  loop p99 ${s.eventLoopP99Ms.toFixed(1)} ms  p50/p99 ${s.p50Ms.toFixed(1)}/${s.p99Ms.toFixed(1)} ms  errors ${s.errors}  db ${s.dbMb.toFixed(0)} MB  wal ${s.walMb.toFixed(1)} MB  archive ${s.archiveMb.toFixed(0)} MB\n`);
}
const loadCode = await new Promise<number | null>((r) => (load.exitCode === null ? load.once('exit', r) : r(load.exitCode)));
const finalMetrics = await (await fetch(`${server.url}/metrics`)).text();
await stopServer(server);
if (loadCode !== 0) throw new Error(`the load generator exited ${loadCode}`);

// Slopes after the first fifth (start-up, JIT, the window filling) per hour of soak.
const steady = samples.slice(Math.floor(samples.length / 5));
const perHour = (pick: (s: Sample) => number) => slope(steady.map((s) => s.minute / 60), steady.map(pick));
const sent = samples.reduce((a, s) => a + s.sent, 0);
const errors = samples.reduce((a, s) => a + s.errors, 0);
const result = {
  date: new Date().toISOString(),
  machine: { cores: cpus().length, cpu: cpus()[0]?.model.trim(), node: process.version },
  what: 'single-row POST /predict at a fixed rate (open loop, latency from each due time), audit log on, drift and performance evaluations on their timer, 20 labelled predictions per segment',
  minutes,
  rate_per_s: rate,
  saturated_per_s: saturated === undefined ? null : Math.round(saturated),
  eval_interval: evalInterval,
  db_size_budget: budget ?? null,
  requests: sent,
  errors,
  labels_posted: labelsPosted,
  label_failures: labelFailures,
  evaluation_failures: samples.at(-1)?.evaluationFailures ?? 0,
  drift_evaluations: evaluationTimes.size,
  performance_labelled_predictions: metric(finalMetrics, 'vigia_performance_labelled_predictions', 'model="credit-default"') ?? null,
  drift_evaluation_last_duration_s: metric(finalMetrics, 'vigia_drift_evaluation_duration_seconds', 'model="credit-default"') ?? null,
  steady_state_from_minute: steady[0]?.minute ?? null,
  medians: {
    rss_mb: median(steady.map((s) => s.rssMb)),
    child_rss_mb: median(steady.map((s) => s.childRssMb)),
    heap_used_mb: median(steady.map((s) => s.heapUsedMb)),
    event_loop_p99_ms: median(steady.map((s) => s.eventLoopP99Ms)),
    request_p99_ms: median(steady.map((s) => s.p99Ms)),
  },
  slopes_per_hour: {
    rss_mb: perHour((s) => s.rssMb),
    child_rss_mb: perHour((s) => s.childRssMb),
    heap_used_mb: perHour((s) => s.heapUsedMb),
    event_loop_p99_ms: perHour((s) => s.eventLoopP99Ms),
    request_p99_ms: perHour((s) => s.p99Ms),
    db_mb: perHour((s) => s.dbMb),
  },
  sizes_at_end: { db_mb: samples.at(-1)?.dbMb ?? 0, wal_mb: samples.at(-1)?.walMb ?? 0, wal_max_mb: Math.max(0, ...samples.map((s) => s.walMb)), archive_mb: samples.at(-1)?.archiveMb ?? 0 },
  db_bytes_per_prediction: budget === undefined && sent > 0 ? ((samples.at(-1)?.dbMb ?? 0) * 2 ** 20) / (sent + labelsPosted) : null,
  samples,
};
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const out = join(ROOT, 'bench', 'results', minutes >= 60 ? 'soak.json' : 'soak-short.json');
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
process.stdout.write(`${JSON.stringify({ ...result, samples: undefined }, null, 2)}\n`);
process.stderr.write(`[soak] written to ${out}\n`);
