// `npm run bench:rollout`: what a rollout costs the service. On the demo model, one server
// process (bench/server.ts) on loopback, open-loop load from bench/fixed-rate-cli.ts in its
// own process:
//   - /predict p50/p99 at a fixed rate without any rollout, then while a version is loaded,
//     promoted, rolled back and unloaded over and over (the swap);
//   - throughput with a shadow version scoring a copy of every request, against without
//     (closed loop, 16 requests in flight, autocannon in this process);
//   - resident memory per extra loaded version, and the time to load the demo model (session,
//     parity check and baseline).
// Figures go to stdout and bench/results/rollout.json; nothing is asserted (shared machines).
import { spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import autocannon from 'autocannon';
import { demoRows } from '../test/helpers/demo-rows.js';
import type { FixedRateResult } from './fixed-rate.js';
import { startServer, stopServer } from './service-process.js';

const ROOT = resolve(import.meta.dirname, '..');
const SECONDS = Number(process.env['BENCH_SECONDS'] ?? 8);
const RATE = Number(process.env['BENCH_RATE'] ?? 50);
const TOKEN = 'bench-admin-token-0123456789';
const EXTRA_VERSIONS = 4;

/** A models folder with credit-default 1.0.0 loaded at start and 1.0.1… staged beside it for live loads. */
function modelsFolder(dir: string): { models: string; stage: () => void } {
  const models = join(dir, 'models');
  const demo = join(ROOT, 'models', 'credit-default');
  mkdirSync(join(models, 'credit-default'), { recursive: true });
  cpSync(demo, join(models, 'credit-default', '1.0.0'), { recursive: true });
  const staged: string[] = [];
  for (let i = 1; i <= EXTRA_VERSIONS + 1; i++) {
    const v = `1.0.${i}`;
    const hidden = join(models, 'credit-default', `.${v}`);
    cpSync(demo, hidden, { recursive: true });
    const manifest = JSON.parse(readFileSync(join(hidden, 'vigia.json'), 'utf8'));
    manifest.version = v;
    writeFileSync(join(hidden, 'vigia.json'), JSON.stringify(manifest));
    staged.push(v);
  }
  return { models, stage: () => { for (const v of staged) renameSync(join(models, 'credit-default', `.${v}`), join(models, 'credit-default', v)); } };
}

async function admin(url: string, path: string, body: object = {}): Promise<Record<string, unknown>> {
  const r = await fetch(`${url}/v1/admin/models/credit-default${path}`, { method: 'POST', headers: { authorization: `Bearer ${TOKEN}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const answer = (await r.json()) as Record<string, unknown>;
  if (!r.ok) throw new Error(`${path}: ${r.status} ${JSON.stringify(answer)}`);
  return answer;
}

function fixedRate(url: string): Promise<FixedRateResult> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'fixed-rate-cli.ts'), `${url}/predict`, String(RATE), String(SECONDS)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((res, rej) => proc.on('exit', (code) => (code === 0 ? res(JSON.parse(out.trim().split('\n').at(-1)!)) : rej(new Error(`fixed-rate exited ${code}`)))));
}

async function throughput(url: string): Promise<number> {
  const bodies = demoRows(100).map((r) => JSON.stringify({ features: r }));
  let i = 0;
  const result = await autocannon({
    url: `${url}/predict`, method: 'POST', connections: 16, duration: SECONDS, headers: { 'content-type': 'application/json' },
    requests: [{ setupRequest: (req) => ({ ...req, body: bodies[i++ % bodies.length]! }) }],
  });
  return result.requests.average;
}

async function rssBytes(url: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  return Number(/^process_resident_memory_bytes (\S+)$/m.exec(text)![1]);
}

const dir = mkdtempSync(join(tmpdir(), 'vigia-bench-rollout-'));
const { models, stage } = modelsFolder(dir);
const server = await startServer('rollout', [], { VIGIA_DB_SYNCHRONOUS: 'NORMAL', VIGIA_MODELS_DIR: models, VIGIA_ADMIN_TOKEN: TOKEN, VIGIA_EVAL_INTERVAL: '0s' });
stage();
const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
try {
  process.stdout.write(`vigia rollout bench: ${RATE} req/s for ${SECONDS} s per scenario (shared machine: indicative figures)\n`);
  const steady = await fixedRate(server.url);
  process.stdout.write(`no rollout:   p50 ${steady.p50.toFixed(2)} ms  p99 ${steady.p99.toFixed(2)} ms  errors ${steady.errors}\n`);

  // The swap: load, promote, roll back, unload 1.0.1 in a loop while the load runs.
  const loadSeconds: number[] = [];
  let swapping = true;
  let cycles = 0;
  const swaps = (async () => {
    while (swapping) {
      loadSeconds.push((await admin(server.url, '/versions/1.0.1/load')).load_seconds as number);
      await admin(server.url, '/versions/1.0.1/promote');
      await admin(server.url, '/rollback');
      await admin(server.url, '/versions/1.0.1/unload');
      cycles++;
    }
  })();
  const during = await fixedRate(server.url);
  swapping = false;
  await swaps;
  process.stdout.write(`during swaps: p50 ${during.p50.toFixed(2)} ms  p99 ${during.p99.toFixed(2)} ms  errors ${during.errors}  (${cycles} load/promote/rollback/unload cycles)\n`);
  process.stdout.write(`load time of the demo model (session, parity, baseline): median ${median(loadSeconds).toFixed(3)} s over ${loadSeconds.length}\n`);

  const plain = await throughput(server.url);
  await admin(server.url, '/versions/1.0.1/load');
  await admin(server.url, '/shadow', { version: '1.0.1' });
  const shadowed = await throughput(server.url);
  await admin(server.url, '/shadow', { version: null });
  process.stdout.write(`throughput: ${plain.toFixed(0)} req/s without shadow, ${shadowed.toFixed(0)} req/s with shadow (ratio ${(shadowed / plain).toFixed(2)})\n`);

  const before = await rssBytes(server.url);
  for (let i = 2; i <= EXTRA_VERSIONS + 1; i++) await admin(server.url, `/versions/1.0.${i}/load`);
  const afterLoad = await rssBytes(server.url);
  const perVersion = (afterLoad - before) / EXTRA_VERSIONS;
  process.stdout.write(`resident memory per extra loaded version: ${(perVersion / 1048576).toFixed(1)} MB (${EXTRA_VERSIONS} versions, RSS ${(before / 1048576).toFixed(0)} → ${(afterLoad / 1048576).toFixed(0)} MB)\n`);

  mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
  writeFileSync(join(ROOT, 'bench', 'results', 'rollout.json'), `${JSON.stringify({
    date: new Date().toISOString(), rate: RATE, seconds: SECONDS,
    steady: { p50_ms: steady.p50, p99_ms: steady.p99, errors: steady.errors },
    during_swaps: { p50_ms: during.p50, p99_ms: during.p99, errors: during.errors, cycles },
    load_seconds_median: median(loadSeconds),
    throughput_rps: { without_shadow: plain, with_shadow: shadowed },
    resident_bytes_per_version: perVersion,
  }, null, 2)}\n`);
} finally {
  await stopServer(server);
  rmSync(dir, { recursive: true, force: true });
}
