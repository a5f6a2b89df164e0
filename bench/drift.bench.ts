// `npm run bench:drift`: the drift engine on a window of 1,000,000 logged predictions of
// the demo model (23 features): a full evaluation (cold, right after start, and warm), its
// peak memory, and the p99 of /predict while evaluations of that window run back to back
// against the same service without them. Results: stdout and bench/results/drift.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DriftMonitor, modelKey } from '../src/drift/monitor.js';
import { buildModelBaseline } from '../src/drift/reference.js';
import { DEFAULT_DRIFT_THRESHOLDS } from '../src/drift/severity.js';
import { newPredictionId } from '../src/predict/prediction-id.js';
import { loadModels } from '../src/model/registry.js';
import { openDatabase } from '../src/store/database.js';
import { demoRows } from '../test/helpers/demo-rows.js';
import type { FixedRateResult } from './fixed-rate.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROWS = Number(process.env['BENCH_DRIFT_ROWS'] ?? 1_000_000);
const dir = mkdtempSync(join(tmpdir(), 'vigia-drift-bench-'));
const dbPath = join(dir, 'vigia.db');
const log = (msg: string) => process.stderr.write(`${msg}\n`);

async function fillWindow(): Promise<void> {
  const registry = await loadModels(join(ROOT, 'models'), undefined);
  const model = registry.get('credit-default')!;
  const names = model.manifest.features.map((f) => f.name);
  const rows = demoRows(5000);
  const db = openDatabase({ path: dbPath, synchronous: 'NORMAL' });
  const insert = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const start = Date.now() - 6 * 86_400_000;
  const batch = 10_000;
  const x = new Float32Array(batch * names.length);
  const t0 = performance.now();
  for (let done = 0; done < ROWS; done += batch) {
    const n = Math.min(batch, ROWS - done);
    const chosen = Array.from({ length: n }, (_, i) => rows[((done + i) * 7919) % rows.length]!);
    chosen.forEach((r, i) => names.forEach((f, j) => { x[i * names.length + j] = r[f]!; }));
    const scores = await model.scorer!.score(x, n);
    db.transaction(() => {
      for (let i = 0; i < n; i++) {
        const ts = start + Math.floor(((done + i) / ROWS) * 5.9 * 86_400_000);
        const p = scores[i]!;
        insert.run(newPredictionId(ts), 'bench', ts, 'credit-default', '1.0.0', JSON.stringify(chosen[i]), p, p >= 0.2 ? 1 : 0, p >= 0.5 ? 'critical' : p >= 0.2 ? 'moderate' : 'low', 0.2, 1, '0'.repeat(32), ts);
      }
    })();
    if ((done / batch) % 20 === 0) log(`  window: ${done + n} / ${ROWS} rows written (${((performance.now() - t0) / 1000).toFixed(1)} s)`);
  }
  db.close();
  await registry.close();
}

async function evaluationTimes(): Promise<{ cold_s: number; warm_s: number[]; worker_reported_s: number[]; evaluation_process_peak_rss_mb: number; n: number }> {
  const registry = await loadModels(join(ROOT, 'models'), undefined);
  const m = registry.get('credit-default')!;
  const ctx = { baseline: await buildModelBaseline(m, { quantiles: 10, topK: 20, now: new Date() }), bands: m.manifest.bands, thresholds: DEFAULT_DRIFT_THRESHOLDS };
  const seconds: number[] = [];
  let peakRss = 0;
  const monitor = await DriftMonitor.start({
    db: { engine: 'sqlite', path: dbPath }, models: [ctx], windowMs: 7 * 86_400_000, intervalMs: 0,
    onEvaluated: (_k, o) => {
      seconds.push(o.seconds);
      if ('peakRssBytes' in o) peakRss = Math.max(peakRss, o.peakRssBytes);
    },
  });
  const key = modelKey('credit-default', '1.0.0');
  const times: number[] = [];
  let n = 0;
  for (let i = 0; i < 4; i++) {
    const t0 = performance.now();
    const report = await monitor.evaluate(key);
    times.push((performance.now() - t0) / 1000);
    n = report.n;
    log(`  evaluation ${i + 1}: ${times[i]!.toFixed(2)} s for ${report.n} rows, status ${report.summary.status}`);
  }
  await monitor.close();
  await registry.close();
  return { cold_s: times[0]!, warm_s: times.slice(1), worker_reported_s: seconds, evaluation_process_peak_rss_mb: Math.round(peakRss / 2 ** 20), n };
}

function startServer(env: Record<string, string>): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'server.ts')], {
    cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PORT: '0', HOST: '127.0.0.1', VIGIA_DB: dbPath, VIGIA_EVAL_INTERVAL: '0s', ...env }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); const m = /listening on (\S+)/.exec(out); if (m) res({ proc, url: m[1]! }); });
    proc.on('exit', (code) => rej(new Error(`server exited ${code}`)));
  });
}

function fixedRate(url: string, rate: number, seconds: number): Promise<FixedRateResult> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'fixed-rate-cli.ts'), `${url}/predict`, String(rate), String(seconds)], { cwd: ROOT, stdio: ['ignore', 'pipe', 'inherit'] });
  let out = '';
  proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); });
  return new Promise((res, rej) => proc.on('exit', (code) => (code === 0 ? res(JSON.parse(out) as FixedRateResult) : rej(new Error(`generator exited ${code}`)))));
}

const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };

async function predictLatencyDuringEvaluation(): Promise<Record<string, unknown>> {
  const server = await startServer({});
  const RATE = 500;
  const SECONDS = 8;
  const out: { quiet: FixedRateResult[]; evaluating: FixedRateResult[]; paced: FixedRateResult[]; evaluations: number[]; pacedEvaluations: number } = { quiet: [], evaluating: [], paced: [], evaluations: [], pacedEvaluations: 0 };
  // The service evaluates the window once at start (the cold read of 1M rows): wait for it.
  await (await fetch(`${server.url}/v1/models/credit-default/report`)).json();
  await fixedRate(server.url, RATE, 2); // warm-up
  for (let rep = 0; rep < 3; rep++) {
    out.quiet.push(await fixedRate(server.url, RATE, SECONDS));
    let stop = false;
    const evaluating = (async () => {
      while (!stop) {
        const r = await fetch(`${server.url}/v1/models/credit-default/report?refresh=true`);
        const body = (await r.json()) as { n: number };
        out.evaluations.push(body.n);
      }
    })();
    out.evaluating.push(await fixedRate(server.url, RATE, SECONDS));
    stop = true;
    await evaluating;
    // Back to back, a warm evaluation (about 10 ms) keeps the evaluation process busy all the
    // time; the service's own cadence is one a minute. Once a second, each one folding the
    // second's new rows, is between the two.
    stop = false;
    const paced = (async () => {
      while (!stop) {
        await (await fetch(`${server.url}/v1/models/credit-default/report?refresh=true`)).json();
        out.pacedEvaluations++;
        await new Promise((r) => setTimeout(r, 1000));
      }
    })();
    out.paced.push(await fixedRate(server.url, RATE, SECONDS));
    stop = true;
    await paced;
    log(`  rep ${rep + 1}: /predict p99 ${out.quiet[rep]!.p99.toFixed(2)} ms quiet, ${out.evaluating[rep]!.p99.toFixed(2)} ms during evaluations back to back, ${out.paced[rep]!.p99.toFixed(2)} ms with one a second`);
  }
  server.proc.kill('SIGTERM');
  await new Promise((r) => server.proc.once('exit', r));
  const quietP99 = median(out.quiet.map((r) => r.p99));
  const evalP99 = median(out.evaluating.map((r) => r.p99));
  return {
    rate: RATE,
    p50_quiet_ms: median(out.quiet.map((r) => r.p50)), p99_quiet_ms: quietP99,
    p50_evaluating_ms: median(out.evaluating.map((r) => r.p50)), p99_evaluating_ms: evalP99,
    p99_ratio: Number((evalP99 / quietP99).toFixed(3)),
    evaluations_during_load: out.evaluations.length,
    p99_one_evaluation_a_second_ms: median(out.paced.map((r) => r.p99)),
    p99_ratio_one_evaluation_a_second: Number((median(out.paced.map((r) => r.p99)) / quietP99).toFixed(3)),
    evaluations_one_a_second: out.pacedEvaluations,
  };
}

log(`drift bench: ${ROWS} predictions in the window, ${cpus().length} cores`);
const t0 = performance.now();
await fillWindow();
const fillSeconds = (performance.now() - t0) / 1000;
const evaluation = await evaluationTimes();
const latency = await predictLatencyDuringEvaluation();
const result = { date: new Date().toISOString(), rows: ROWS, features: 23, fill_seconds: Number(fillSeconds.toFixed(1)), evaluation, predict_during_evaluation: latency };
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'drift.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
rmSync(dir, { recursive: true, force: true });
