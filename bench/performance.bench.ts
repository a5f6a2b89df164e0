// `npm run bench:performance`: late labels and performance. (1) The ingest rate of
// POST /v1/labels in batches of 1,000 against the real service. (2) The time to compute the
// realized and the estimated metrics on a matured cohort of 1,000,000 labelled predictions:
// as pure functions, and inside the evaluation process (cohort read included), against the
// same evaluation without the performance section. Results: stdout and
// bench/results/performance.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DriftMonitor, modelKey } from '../src/drift/monitor.js';
import { loadModels } from '../src/model/registry.js';
import { estimatePerformance } from '../src/performance/estimate.js';
import { realizedPerformance } from '../src/performance/realized.js';
import { newPredictionId } from '../src/predict/prediction-id.js';
import { buildModelContext } from '../src/report/model-context.js';
import { openDatabase } from '../src/store/database.js';

const ROOT = resolve(import.meta.dirname, '..');
const COHORT = Number(process.env['BENCH_COHORT_ROWS'] ?? 1_000_000);
const LABEL_BATCH = 1000;
const LABEL_BATCHES = 60;
const DAY = 86_400_000;
const dir = mkdtempSync(join(tmpdir(), 'vigia-performance-bench-'));
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const lcg = (seed: number) => () => ((seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0) / 2 ** 32);

/** Writes `n` predictions of the demo model (probability ~ Beta-like, label ~ Bernoulli(p)) and, if asked, their labels. */
function fill(dbPath: string, n: number, eventTs: (i: number) => number, withLabels: boolean): string[] {
  const db = openDatabase({ path: dbPath, synchronous: 'NORMAL' });
  const insert = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms)
    VALUES (?, 'bench', ?, 'credit-default', '1.0.0', '{}', ?, ?, ?, 0.2, 1, '0', ?)`);
  const label = db.prepare(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability) VALUES (?, ?, ?, ?, 'credit-default', '1.0.0', ?, ?)`);
  const rand = lcg(11);
  const ids: string[] = [];
  for (let done = 0; done < n; done += 50_000) {
    db.transaction(() => {
      for (let i = done; i < Math.min(n, done + 50_000); i++) {
        const ts = eventTs(i);
        const p = Math.round(rand() ** 2 * 1e6) / 1e6;
        const id = newPredictionId(ts);
        ids.push(id);
        insert.run(id, ts, p, p >= 0.2 ? 1 : 0, p >= 0.5 ? 'critical' : p >= 0.2 ? 'moderate' : 'low', ts);
        if (withLabels) label.run(id, rand() < p ? 1 : 0, ts + 30 * DAY, ts + 30 * DAY, ts, p);
      }
    })();
  }
  db.close();
  return ids;
}

function startServer(dbPath: string): Promise<{ proc: ChildProcess; url: string }> {
  const proc = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'server.ts')], {
    cwd: ROOT, env: { PATH: process.env['PATH'] ?? '', HOME: process.env['HOME'] ?? '', PORT: '0', HOST: '127.0.0.1', VIGIA_DB: dbPath, VIGIA_EVAL_INTERVAL: '0s' }, stdio: ['ignore', 'pipe', 'inherit'],
  });
  return new Promise((res, rej) => {
    let out = '';
    proc.stdout!.on('data', (d: Buffer) => { out += d.toString(); const m = /listening on (\S+)/.exec(out); if (m) res({ proc, url: m[1]! }); });
    proc.on('exit', (code) => rej(new Error(`server exited ${code}`)));
  });
}

async function labelIngest(): Promise<Record<string, unknown>> {
  const dbPath = join(dir, 'labels.db');
  const reps = 3;
  const ids = fill(dbPath, LABEL_BATCH * LABEL_BATCHES * reps * 2, (i) => Date.now() - DAY + i, false);
  const server = await startServer(dbPath);
  const post = async (batch: string[]) => {
    const res = await fetch(`${server.url}/v1/labels`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ labels: batch.map((id, i) => ({ prediction_id: id, label: i % 5 === 0 ? 1 : 0 })) }) });
    const body = (await res.json()) as { accepted: number };
    if (body.accepted !== batch.length) throw new Error(`accepted ${body.accepted} of ${batch.length}`);
  };
  let next = 0;
  const take = () => { const b = ids.slice(next, next + LABEL_BATCH); next += LABEL_BATCH; return b; };
  const sequential: number[] = [];
  const concurrent: number[] = [];
  for (let rep = 0; rep < reps; rep++) {
    let t0 = performance.now();
    for (let b = 0; b < LABEL_BATCHES; b++) await post(take());
    sequential.push((LABEL_BATCHES * LABEL_BATCH) / ((performance.now() - t0) / 1000));
    t0 = performance.now();
    const batches = Array.from({ length: LABEL_BATCHES }, take);
    await Promise.all(Array.from({ length: 4 }, async (_, w) => { for (let b = w; b < batches.length; b += 4) await post(batches[b]!); }));
    concurrent.push((LABEL_BATCHES * LABEL_BATCH) / ((performance.now() - t0) / 1000));
    log(`  labels rep ${rep + 1}: ${sequential[rep]!.toFixed(0)} labels/s one client, ${concurrent[rep]!.toFixed(0)} labels/s four clients`);
  }
  server.proc.kill('SIGTERM');
  await new Promise((r) => server.proc.once('exit', r));
  return { batch: LABEL_BATCH, batches_per_rep: LABEL_BATCHES, reps, labels_per_s_one_client: Math.round(median(sequential)), labels_per_s_four_clients: Math.round(median(concurrent)) };
}

async function cohortMetrics(): Promise<Record<string, unknown>> {
  const registry = await loadModels(join(ROOT, 'models'), undefined);
  const m = registry.get('credit-default')!;
  const ctx = await buildModelContext(m, { quantiles: 10, topK: 20, now: new Date() });
  const start = Date.now() - 59 * DAY;
  const dbPath = join(dir, 'cohort.db');
  const t0 = performance.now();
  fill(dbPath, COHORT, (i) => start + Math.floor((i / COHORT) * 28 * DAY), true);
  log(`  cohort: ${COHORT} labelled predictions written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);

  // Pure functions on arrays already in memory.
  const rand = lcg(5);
  const p = Float64Array.from({ length: COHORT }, () => rand() ** 2);
  const y = Float64Array.from(p, (x) => (rand() < x ? 1 : 0));
  const realizedS: number[] = [];
  const estimatedS: number[] = [];
  for (let i = 0; i < 5; i++) {
    let t = performance.now();
    realizedPerformance(y, p, 0.2, ctx.performance.costs);
    realizedS.push((performance.now() - t) / 1000);
    t = performance.now();
    estimatePerformance(p, ctx.performance.calibrator!, 0.2, ctx.performance.costs);
    estimatedS.push((performance.now() - t) / 1000);
  }
  log(`  pure: realized ${median(realizedS).toFixed(3)} s, estimated ${median(estimatedS).toFixed(3)} s on ${COHORT} rows`);

  // In the evaluation process: the same evaluation with and without the performance section.
  const timed = async (withPerformance: boolean) => {
    const { performance: perf, ...drift } = ctx;
    const monitor = await DriftMonitor.start({ db: { engine: 'sqlite', path: dbPath }, models: [withPerformance ? { ...drift, performance: perf } : drift], windowMs: 7 * DAY, intervalMs: 0 });
    const times: number[] = [];
    let labelled = 0;
    for (let i = 0; i < 4; i++) {
      const t = performance.now();
      const r = await monitor.evaluate(modelKey('credit-default', '1.0.0'));
      times.push((performance.now() - t) / 1000);
      labelled = r.performance?.cohort.labelled ?? 0;
    }
    await monitor.close();
    return { median_s: median(times.slice(1)), labelled };
  };
  const withPerf = await timed(true);
  const without = await timed(false);
  log(`  evaluation process: ${withPerf.median_s.toFixed(3)} s with performance (${withPerf.labelled} labelled), ${without.median_s.toFixed(3)} s without`);
  await registry.close();
  return {
    cohort_rows: COHORT,
    pure_realized_s: Number(median(realizedS).toFixed(3)),
    pure_estimated_s: Number(median(estimatedS).toFixed(3)),
    evaluation_with_performance_s: Number(withPerf.median_s.toFixed(3)),
    evaluation_without_performance_s: Number(without.median_s.toFixed(3)),
    performance_section_s: Number((withPerf.median_s - without.median_s).toFixed(3)),
    labelled_in_cohort: withPerf.labelled,
  };
}

log(`performance bench: ${COHORT} labelled predictions in the cohort, ${cpus().length} cores`);
const labels = await labelIngest();
const cohort = await cohortMetrics();
const result = { date: new Date().toISOString(), labels, cohort };
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(join(ROOT, 'bench', 'results', 'performance.json'), `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
rmSync(dir, { recursive: true, force: true });
