// `npm run bench:profile`: where a saturated single-row /predict spends its CPU. Starts
// bench/server.ts under V8's CPU profiler (--cpu-prof), saturates it with autocannon from
// this process (BENCH_SECONDS, default 10; 32 connections), stops it, and attributes every
// sample of the main thread to one part of the request path: the deepest frame on the stack
// that belongs to one of Vigia's modules (or a package it calls) decides. Shares of CPU are
// far steadier than absolute rates on a noisy machine, which is why this reports shares and
// CPU microseconds per request. Results go to stdout and bench/results/profile.json.
// BENCH_BATCH=100 profiles batches of that many rows instead (8 connections, as
// bench:predict's batch scenario), reports µs per row too, and writes
// bench/results/profile-batch100.json.
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { demoRows } from '../test/helpers/demo-rows.js';
import { startServer, stopServer } from './service-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 10);
const BATCH = Number(process.env['BENCH_BATCH'] ?? 1);

/** Parts of the request path, matched against a frame's "script-URL function-name", most specific first. */
const PARTS: readonly (readonly [part: string, match: RegExp])[] = [
  ['inference (onnxruntime)', /onnxruntime-node|\/src\/model\/onnx-scorer\.ts/],
  ['reasons (TreeSHAP of decision-1 rows)', /\/src\/explain\//],
  ['body read and JSON parse', /\/src\/http\/json-body\.ts|\.ts (readJsonBody|checkUtf8)$/],
  ['validation of the features', /\/src\/model\/input\.ts|\.ts readPredictBody$/],
  ['audit-log hand-off (to the writer thread)', /\/src\/store\//],
  ['metrics (prom-client, OTel)', /prom-client|@opentelemetry\/(sdk-metrics|exporter-prometheus)|\/src\/telemetry\/(metrics|reference-bins|http-metrics)[^/]*\.ts/],
  ['tracing', /@opentelemetry|\/src\/telemetry\/tracing\.ts/],
  ['decision, bands, prediction service', /\/src\/predict\/|\/src\/model\//],
  ['routing and response (predict route, app)', /\/src\/http\/|\/src\/app\.ts|express/],
];

interface ProfileNode { id: number; callFrame: { functionName: string; url: string }; children?: number[] }
interface CpuProfile { nodes: ProfileNode[]; samples: number[]; timeDeltas: number[] }

/**
 * The index of the first sample of the load: the first whose stack passes through the
 * predict route. Start-up (loading the bundle, its parity check, the baseline) comes before
 * it and is not a request's cost.
 */
function firstRequestSample(profile: CpuProfile): number {
  const parent = new Map<number, number>();
  const byId = new Map(profile.nodes.map((n) => [n.id, n]));
  for (const n of profile.nodes) for (const c of n.children ?? []) parent.set(c, n.id);
  const onRoute = (id: number | undefined): boolean => {
    for (let at = id; at !== undefined; at = parent.get(at)) if (byId.get(at)!.callFrame.url.endsWith('/src/http/predict.ts')) return true;
    return false;
  };
  const i = profile.samples.findIndex((id) => onRoute(id));
  return i === -1 ? 0 : i;
}

/** Microseconds per part of the main thread's profile, and per deciding frame within each part. */
function attribute(profile: CpuProfile, frames?: Map<string, number>): Map<string, number> {
  const parent = new Map<number, number>();
  const byId = new Map<number, ProfileNode>();
  for (const n of profile.nodes) {
    byId.set(n.id, n);
    for (const c of n.children ?? []) parent.set(c, n.id);
  }
  const partOf = new Map<number, string>();
  const decidedBy = new Map<number, string>();
  const classify = (id: number): string => {
    const known = partOf.get(id);
    if (known !== undefined) return known;
    const { functionName, url } = byId.get(id)!.callFrame;
    decidedBy.set(id, `${functionName || '(anonymous)'} ${url.replace(/^.*\/(src|node_modules)\//, '$1/')}`);
    let part: string | undefined;
    if (functionName === '(idle)') part = 'idle';
    else if (functionName === '(garbage collector)') part = 'garbage collection';
    else if (functionName === '(program)') part = 'V8 and native, unattributed';
    else part = PARTS.find(([, m]) => m.test(`${url} ${functionName}`))?.[0];
    if (part === undefined) {
      const up = parent.get(id);
      part = up === undefined ? 'node:http, sockets, event loop' : classify(up);
      if (part === 'V8 and native, unattributed' || part === 'idle') part = 'node:http, sockets, event loop';
      else if (up !== undefined) decidedBy.set(id, decidedBy.get(up)!);
    }
    partOf.set(id, part);
    return part;
  };
  const out = new Map<string, number>();
  const from = firstRequestSample(profile);
  profile.samples.forEach((id, i) => {
    if (i < from) return;
    const part = classify(id);
    out.set(part, (out.get(part) ?? 0) + (profile.timeDeltas[i] ?? 0));
    const frame = `${part} | ${decidedBy.get(id) ?? ''}`;
    frames?.set(frame, (frames.get(frame) ?? 0) + (profile.timeDeltas[i] ?? 0));
  });
  return out;
}

const rows = demoRows(200);
const bodies = BATCH === 1 ? rows.map((r) => JSON.stringify({ features: r })) : [JSON.stringify({ instances: rows.slice(0, BATCH) })];
const profDir = mkdtempSync(join(tmpdir(), 'vigia-prof-'));
const server = await startServer('profile', [], { VIGIA_EVAL_INTERVAL: '0s' }, ['--cpu-prof', `--cpu-prof-dir=${profDir}`]);
const { url } = server;
let i = 0;
const result = await autocannon({
  url: `${url}/predict`,
  connections: BATCH === 1 ? 32 : 8,
  duration: SECONDS,
  requests: [{ method: 'POST', headers: { 'content-type': 'application/json' }, setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length]! }) }],
});
// A clean exit writes the profiles.
await stopServer(server);

const files = readdirSync(profDir).filter((f) => f.endsWith('.cpuprofile')).map((f) => ({ f, size: readFileSync(join(profDir, f)).length }));
// The main thread's profile is the largest (the writer thread mostly waits).
files.sort((a, b) => b.size - a.size);
const main = JSON.parse(readFileSync(join(profDir, files[0]!.f), 'utf8')) as CpuProfile;
const frames = new Map<string, number>();
const parts = attribute(main, frames);
const requests = result.requests.total;
const busy = [...parts].filter(([p]) => p !== 'idle').reduce((s, [, us]) => s + us, 0);
const topFrames = [...frames].sort((a, b) => b[1] - a[1]).slice(0, 25).map(([frame, us]) => ({ frame, us_per_request: us / (result.requests.total || 1) }));
const table = [...parts].filter(([p]) => p !== 'idle').sort((a, b) => b[1] - a[1]).map(([part, us]) => ({ part, share: us / busy, us_per_request: us / requests, ...(BATCH === 1 ? {} : { us_per_row: us / requests / BATCH }) }));
const threads = files.slice(1).map(({ f }) => {
  const p = JSON.parse(readFileSync(join(profDir, f), 'utf8')) as CpuProfile;
  const a = attribute(p);
  const total = [...a.values()].reduce((s, v) => s + v, 0);
  return { profile: f, busy_share_of_run: (total - (a.get('idle') ?? 0)) / total, us_per_request: (total - (a.get('idle') ?? 0)) / requests };
});
rmSync(profDir, { recursive: true, force: true });

const summary = {
  date: new Date().toISOString(),
  seconds: SECONDS,
  requests,
  rows_per_request: BATCH,
  rps: result.requests.average,
  non2xx: result.non2xx,
  main_thread: { busy_us_per_request: busy / requests, parts: table },
  other_threads: threads,
  top_frames: topFrames,
};
console.log(`${requests} requests of ${BATCH} row(s), ${Math.round(result.requests.average)} req/s, ${result.non2xx} non-2xx; main thread ${(busy / requests).toFixed(1)} µs CPU per request, ${(busy / requests / BATCH).toFixed(1)} per row`);
for (const r of table) console.log(`${(r.share * 100).toFixed(1).padStart(5)} %  ${r.us_per_request.toFixed(1).padStart(7)} µs  ${r.part}`);
console.log('top deciding frames (part | function file):');
for (const f of topFrames) console.log(`${f.us_per_request.toFixed(1).padStart(7)} µs  ${f.frame}`);
for (const t of threads) console.log(`other thread ${t.profile}: busy ${(t.busy_share_of_run * 100).toFixed(1)} % of the run, ${t.us_per_request.toFixed(1)} µs per request`);
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', BATCH === 1 ? 'profile.json' : `profile-batch${BATCH}.json`), `${JSON.stringify(summary, null, 2)}\n`);
