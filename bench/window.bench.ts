// `npm run bench:window`: the window kept as hourly aggregates (docs/drift.md).
// 1. A full evaluation of a 1,000,000-row window of the demo model (23 features) by the
//    evaluation process: the first (the buckets folded from the audit log) and warm ones;
//    on SQLite, then warm ones with attribution drift (2,000 rows drawn from the buckets'
//    samples and explained) against without, in the same run; and the same on the rows path
//    (the 1M rows held in memory, VIGIA_EXACT_WINDOW_ROWS raised to 1M).
// 2. A full evaluation of a 7-day window at 1,000 predictions/s (604.8 million predictions):
//    168 hourly buckets built synthetically (a bucket folded from real rows of the demo
//    model, its counts scaled to 3.6 million rows), merged and evaluated in a fresh process.
// Both on SQLite and on PostgreSQL (BENCH_WINDOW_ENGINES, default "sqlite,postgres"; a
// throwaway PostgreSQL cluster with fsync on). On PostgreSQL the week's 168 buckets are
// written straight into window_buckets with their cursor, and the real evaluation process
// loads, merges and evaluates them: its time and peak memory are measured.
// Target: ≤ 2 s and ≤ 1 GB each. Results: stdout and bench/results/window.json.
import { fork } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import pg from 'pg';
import type { DatabaseTarget } from '../src/config.js';
import { DriftMonitor, modelKey } from '../src/drift/monitor.js';
import { buildModelBaseline } from '../src/drift/reference.js';
import { buildAggregateReport } from '../src/drift/report.js';
import { DEFAULT_DRIFT_THRESHOLDS } from '../src/drift/severity.js';
import { emptyAggregate, foldPrediction, windowAggregateLayout } from '../src/drift/window-aggregate.js';
import { loadModels } from '../src/model/registry.js';
import { newPredictionId } from '../src/predict/prediction-id.js';
import { openDatabase } from '../src/store/database.js';
import type { AuditRecord } from '../src/store/audit-log.js';
import { PgAuditLog } from '../src/store/pg-audit-log.js';
import { connectionConfig, openPostgres } from '../src/store/postgres.js';
import { packBucket } from '../src/store/bucket-bytes.js';
import { BUCKET_MS, mergeBuckets } from '../src/store/window-buckets.js';
import { Registry } from 'prom-client';
import { createMetrics } from '../src/telemetry/metrics.js';
import { ReferenceBinCounts } from '../src/telemetry/reference-bins.js';
import { demoRows } from '../test/helpers/demo-rows.js';
import { startPostgres, type PgCluster } from '../test/helpers/postgres.js';

const ROOT = resolve(import.meta.dirname, '..');
const ROWS = Number(process.env['BENCH_WINDOW_ROWS'] ?? 1_000_000);
const ENGINES = (process.env['BENCH_WINDOW_ENGINES'] ?? 'sqlite,postgres').split(',');
const RATE = 1000;
const HOURS = 7 * 24;
const log = (msg: string) => process.stderr.write(`${msg}\n`);
const median = (xs: number[]) => { const s = [...xs].sort((a, b) => a - b); return s[Math.floor(s.length / 2)]!; };
const rssMb = () => Math.round((process.resourceUsage().maxRSS * 1024) / 2 ** 20);

async function demo() {
  const registry = await loadModels(join(ROOT, 'models'), undefined);
  const model = registry.get('credit-default')!;
  const ctx = { baseline: await buildModelBaseline(model, { quantiles: 10, topK: 20, now: new Date() }), bands: model.manifest.bands, thresholds: DEFAULT_DRIFT_THRESHOLDS };
  return { registry, model, ctx };
}

/** Scored rows of the demo reference, resampled: the rows of the 1M window and of the synthetic bucket. */
async function scoredRows(count: number, each: (features: Record<string, number>, p: number, i: number) => void): Promise<void> {
  const { registry, model } = await demo();
  const names = model.manifest.features.map((f) => f.name);
  const rows = demoRows(5000);
  const batch = 10_000;
  const x = new Float32Array(batch * names.length);
  for (let done = 0; done < count; done += batch) {
    const n = Math.min(batch, count - done);
    const chosen = Array.from({ length: n }, (_, i) => rows[((done + i) * 7919) % rows.length]!);
    chosen.forEach((r, i) => names.forEach((f, j) => { x[i * names.length + j] = r[f]!; }));
    const scores = await model.scorer!.score(x, n);
    for (let i = 0; i < n; i++) each(chosen[i]!, scores[i]!, done + i);
    if ((done / batch) % 20 === 0) log(`  ${done + n} / ${count} rows`);
  }
  await registry.close();
}

async function millionRowWindow(dir: string) {
  const dbPath = join(dir, 'vigia.db');
  const db = openDatabase({ path: dbPath, synchronous: 'NORMAL' });
  const insert = db.prepare(`INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id, event_ts_ms) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`);
  const start = Date.now() - 6 * 86_400_000;
  log(`writing ${ROWS} rows`);
  db.exec('BEGIN');
  await scoredRows(ROWS, (features, p, i) => {
    const ts = start + Math.floor((i / ROWS) * 5.9 * 86_400_000);
    insert.run(newPredictionId(ts), 'bench', ts, 'credit-default', '1.0.0', JSON.stringify(features), p, p >= 0.2 ? 1 : 0, p >= 0.5 ? 'critical' : p >= 0.2 ? 'moderate' : 'low', 0.2, 1 + (i % 50) / 10, '0'.repeat(32), ts);
    if (i % 50_000 === 49_999) { db.exec('COMMIT'); db.exec('BEGIN'); }
  });
  db.exec('COMMIT');
  db.close();
  const evaluated = await evaluateMillion({ engine: 'sqlite', path: dbPath }, { attribution: true });
  // The check a restarted SQLite evaluation process makes of its stored buckets: the window's
  // rows counted in the audit log (O(rows): at 605 million rows, about 605 times this).
  const check = openDatabase({ path: dbPath, synchronous: 'NORMAL' });
  const counts: number[] = [];
  for (let rep = 0; rep < 3; rep++) {
    const t0 = performance.now();
    check.prepare('SELECT count(*) FROM predictions WHERE model = ? AND model_version = ? AND event_ts_ms >= ? AND seq <= ?').pluck().get('credit-default', '1.0.0', start - 86_400_000, Number.MAX_SAFE_INTEGER);
    counts.push((performance.now() - t0) / 1000);
  }
  check.close();
  return { ...evaluated, restart_check_count_s: Number(median(counts).toFixed(3)) };
}

/**
 * Evaluations of the 1M-row window by the real evaluation process: the first ever (the
 * buckets folded from the rows), then after a restart (the stored buckets). With
 * `attribution` (SQLite, whose buckets keep row samples), also the cost of attribution drift
 * on warm evaluations, against none, on the aggregates path and on the rows path.
 */
async function evaluateMillion(db: DatabaseTarget, opts: { attribution?: boolean } = {}) {
  const { registry, model, ctx } = await demo();
  let attribution: unknown;
  const run = async (label: string, evaluations: number, explain = false, exactWindowRows?: number) => {
    const reported: number[] = [];
    const monitor = await DriftMonitor.start({
      ...(exactWindowRows === undefined ? {} : { exactWindowRows }),
      db, models: [explain ? { ...ctx, attribution: { dir: model.dir, manifest: model.manifest } } : ctx], windowMs: 7 * 86_400_000, intervalMs: 0,
      onEvaluated: (_k, o) => { if ('peakRssBytes' in o) reported.push(o.peakRssBytes); },
    });
    const times: number[] = [];
    for (let i = 0; i < evaluations; i++) {
      const t0 = performance.now();
      const report = await monitor.evaluate(modelKey('credit-default', '1.0.0'));
      times.push((performance.now() - t0) / 1000);
      log(`  ${db.engine} ${label} evaluation ${i + 1}: ${times[i]!.toFixed(2)} s for ${report.n} rows, status ${report.summary.status}, KS error ${report.features.find((f) => f.feature === 'BILL_AMT1')?.ks?.statistic_error}`);
      if (explain) {
        const a = report.attribution!;
        if (exactWindowRows === undefined) attribution = { rows_explained: a.rows_explained, sampled_from: a.sampled_from, shift: a.shift, severity: a.severity, top: a.features.slice(0, 3).map((f) => f.feature) };
      }
    }
    await monitor.close();
    return { times, peakRssMb: Math.round(Math.max(...reported) / 2 ** 20) };
  };
  // The rows were written straight into the table: the first evaluation folds all of them.
  const built = await run('first ever (buckets folded from the rows)', 4);
  // A restart: the stored buckets are loaded (and, on SQLite, checked against the audit log).
  const restarted = await run('after a restart (stored buckets)', 4);
  const figures = {
    rows: ROWS,
    first_ever_s: Number(built.times[0]!.toFixed(3)),
    first_ever_peak_rss_mb: built.peakRssMb,
    first_after_restart_s: Number(restarted.times[0]!.toFixed(3)),
    warm_median_s: Number(median([...built.times.slice(1), ...restarted.times.slice(1)]).toFixed(3)),
    after_restart_peak_rss_mb: restarted.peakRssMb,
  };
  if (opts.attribution !== true) {
    await registry.close();
    return figures;
  }
  // Attribution drift against none, alternately, warm evaluations of the same window.
  const plain: number[] = [];
  const explained: number[] = [];
  for (let rep = 0; rep < 2; rep++) {
    plain.push(...(await run('without attribution drift', 4)).times.slice(1));
    explained.push(...(await run('with attribution drift', 4, true)).times.slice(1));
  }
  // The same window judged from its rows (all 1M held in memory), with attribution drift and without.
  const rowsPlain = await run('rows path, without attribution drift', 4, false, ROWS);
  const rowsExplained = await run('rows path, with attribution drift', 4, true, ROWS);
  await registry.close();
  return {
    ...figures,
    warm_without_attribution_median_s: Number(median(plain).toFixed(3)),
    warm_with_attribution_median_s: Number(median(explained).toFixed(3)),
    attribution_added_s: Number((median(explained) - median(plain)).toFixed(3)),
    rows_path_first_without_attribution_s: Number(rowsPlain.times[0]!.toFixed(3)),
    rows_path_first_with_attribution_s: Number(rowsExplained.times[0]!.toFixed(3)),
    rows_path_warm_without_attribution_median_s: Number(median(rowsPlain.times.slice(1)).toFixed(3)),
    rows_path_warm_with_attribution_median_s: Number(median(rowsExplained.times.slice(1)).toFixed(3)),
    attribution,
  };
}

/** The same 1M-row window in PostgreSQL, inserted through the audit log's unnest batches. */
async function millionRowWindowPg(cluster: PgCluster) {
  const pool = await openPostgres({ url: cluster.url, poolSize: 4 });
  const audit = new PgAuditLog(pool);
  const start = Date.now() - 6 * 86_400_000;
  log(`writing ${ROWS} rows to PostgreSQL`);
  let batch: AuditRecord[] = [];
  const pending: Promise<void>[] = [];
  await scoredRows(ROWS, (features, p, i) => {
    const ts = start + Math.floor((i / ROWS) * 5.9 * 86_400_000);
    batch.push({ id: newPredictionId(ts), requestId: 'bench', tsMs: ts, eventTsMs: ts, model: 'credit-default', modelVersion: '1.0.0', features, probability: p, decision: p >= 0.2 ? 1 : 0, band: p >= 0.5 ? 'critical' : p >= 0.2 ? 'moderate' : 'low', threshold: 0.2, latencyMs: 1 + (i % 50) / 10, traceId: '0'.repeat(32) });
    if (batch.length === 10_000) {
      pending.push(audit.append(batch));
      batch = [];
    }
  });
  if (batch.length > 0) pending.push(audit.append(batch));
  await Promise.all(pending);
  await audit.close();
  await pool.end();
  return evaluateMillion({ engine: 'postgres', url: cluster.url });
}

/** In a fresh process: 168 synthetic hourly buckets of 3.6 million predictions each, merged and evaluated. */
async function weekAtRateChild(): Promise<void> {
  const { registry, ctx } = await demo();
  await registry.close();
  const layout = windowAggregateLayout(ctx.baseline, ctx.bands);
  const SAMPLE = 36_000;
  const templates = [emptyAggregate(layout), emptyAggregate(layout)];
  const names = layout.features.map((f) => f.name);
  await scoredRows(SAMPLE, (features, p, i) => {
    // The second template drifts: LIMIT_BAL ×2 in the later half of the week.
    const t = templates[i % 2]!;
    foldPrediction(layout, t, (j) => (i % 2 === 1 && names[j] === 'LIMIT_BAL' ? features[names[j]!]! * 2 : features[names[j]!]!), p, 1 + (i % 50) / 10);
  });
  const scale = (RATE * 3600) / (SAMPLE / 2);
  const start = Math.floor(Date.now() / BUCKET_MS) - HOURS + 1;
  const buckets: [number, Float64Array][] = [];
  for (let h = 0; h < HOURS; h++) buckets.push([start + h, templates[h < HOURS / 2 ? 0 : 1]!.map((c) => c * scale)]);
  const bytes = buckets.length * layout.size * 8;
  const target = process.argv[3];
  if (target !== undefined) {
    process.send!(await weekFromStore(target.startsWith('postgres') ? { engine: 'postgres', url: target } : { engine: 'sqlite', path: target }, ctx, layout.hash, buckets));
    return;
  }
  const rssBefore = rssMb();
  const times: number[] = [];
  let n = 0;
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    const merged = mergeBuckets(layout, buckets, start * BUCKET_MS);
    const report = buildAggregateReport(ctx, { layout, ...merged }, { fromMs: start * BUCKET_MS, toMs: Date.now() }, new Date());
    times.push((performance.now() - t0) / 1000);
    n = report.n;
    if (rep === 0) log(`  week: ${report.n} predictions, status ${report.summary.status}, ${report.features.filter((f) => f.severity === 'critical').map((f) => f.feature).join(',')}`);
  }
  process.send!({
    predictions: n, buckets: buckets.length, aggregate_entries: layout.size, buckets_mb: Math.round(bytes / 2 ** 20),
    evaluation_median_s: Number(median(times).toFixed(3)), first_s: Number(times[0]!.toFixed(3)), rss_before_evaluation_mb: rssBefore, peak_rss_mb: rssMb(),
  });
}

/**
 * The week's buckets written straight into the store's window_buckets with their cursor, as
 * the evaluation process stores them, then evaluated by the real evaluation process: a first
 * evaluation in a new process (it loads the 168 buckets) and warm ones (nothing new to fold),
 * with its peak memory. On PostgreSQL the cursor is the server's current xmin. On SQLite the
 * stored `rows` column is written 0 and the cursor 0, so the restart check — which counts the
 * window's rows in the audit log, here empty — passes: that count is O(rows) and is measured
 * apart, on the 1M-row window (`restart_check_count_s`).
 */
async function weekFromStore(db: DatabaseTarget, ctx: Awaited<ReturnType<typeof demo>>['ctx'], layoutHash: string, buckets: [number, Float64Array][]) {
  const key = ['credit-default', '1.0.0', layoutHash] as const;
  const bytes = (b: Float64Array) => Buffer.from(b.buffer, b.byteOffset, b.byteLength);
  if (db.engine === 'postgres') {
    await (await openPostgres({ url: db.url, poolSize: 1 })).end(); // the schema
    const c = new pg.Client(connectionConfig(db.url));
    await c.connect();
    await c.query('BEGIN');
    for (const [hour, b] of buckets) {
      await c.query('INSERT INTO window_buckets (model, model_version, layout, bucket_start_ms, rows, data) VALUES ($1, $2, $3, $4, $5, $6)', [...key, hour * BUCKET_MS, b[0]!, packBucket(bytes(b))]);
    }
    await c.query('INSERT INTO window_cursors (model, model_version, layout, through_tx, term) VALUES ($1, $2, $3, pg_snapshot_xmin(pg_current_snapshot()), NULL)', [...key]);
    await c.query('COMMIT');
    await c.end();
  } else {
    const sqlite = openDatabase({ path: db.path, synchronous: 'NORMAL' });
    const insert = sqlite.prepare('INSERT INTO window_buckets (model, model_version, layout, bucket_start_ms, rows, data) VALUES (?, ?, ?, ?, 0, ?)');
    sqlite.transaction(() => {
      for (const [hour, b] of buckets) insert.run(...key, hour * BUCKET_MS, bytes(b));
      sqlite.prepare('INSERT INTO window_cursors (model, model_version, layout, through_seq) VALUES (?, ?, ?, 0)').run(...key);
    })();
    sqlite.close();
  }
  const reported: number[] = [];
  const monitor = await DriftMonitor.start({
    db, models: [ctx], windowMs: 7 * 86_400_000, intervalMs: 0,
    onEvaluated: (_k, o) => { if ('peakRssBytes' in o) reported.push(o.peakRssBytes); },
  });
  const times: number[] = [];
  let n = 0;
  for (let rep = 0; rep < 5; rep++) {
    const t0 = performance.now();
    const report = await monitor.evaluate(modelKey('credit-default', '1.0.0'));
    times.push((performance.now() - t0) / 1000);
    n = report.n;
    log(`  ${db.engine} week evaluation ${rep + 1}: ${times[rep]!.toFixed(2)} s, ${report.n} predictions, status ${report.summary.status}`);
  }
  await monitor.close();
  return {
    predictions: n, buckets: buckets.length, aggregate_entries: buckets[0]![1].length, buckets_mb: Math.round((buckets.length * buckets[0]![1].length * 8) / 2 ** 20),
    first_s: Number(times[0]!.toFixed(3)), warm_median_s: Number(median(times.slice(1)).toFixed(3)),
    evaluation_process_peak_rss_mb: Math.round(Math.max(...reported) / 2 ** 20),
  };
}

/** The hot-path cost of the reference-bin counters: ns per answered prediction (23 features), and of a scrape's flush. */
async function referenceBinCost() {
  const { registry, ctx } = await demo();
  await registry.close();
  const metrics = createMetrics(new Registry());
  const counts = new ReferenceBinCounts(metrics, ctx.baseline);
  const rows = demoRows(5000);
  // Against a loop that only reads the row's values (the least any counting must do), in
  // alternation, so the machine's load weighs on both alike.
  const perRow: number[] = [];
  const readOnly: number[] = [];
  let sink = 0;
  for (let rep = 0; rep < 5; rep++) {
    let t0 = process.hrtime.bigint();
    for (let i = 0; i < 200_000; i++) counts.record([rows[i % rows.length]!]);
    perRow.push(Number(process.hrtime.bigint() - t0) / 200_000);
    t0 = process.hrtime.bigint();
    for (let i = 0; i < 200_000; i++) {
      const r = rows[i % rows.length]! as Record<string, unknown>;
      for (const f of ctx.baseline.features) { const v = r[f.name]; sink += typeof v === 'number' ? v : 0; }
    }
    readOnly.push(Number(process.hrtime.bigint() - t0) / 200_000);
  }
  if (sink === 0) log('');
  const t0 = process.hrtime.bigint();
  counts.flush();
  const flushUs = Number(process.hrtime.bigint() - t0) / 1000;
  return {
    ns_per_prediction_median: Math.round(median(perRow)), ns_reading_the_row_median: Math.round(median(readOnly)),
    ratio_to_reading_the_row: Number((median(perRow) / median(readOnly)).toFixed(2)),
    flush_us: Math.round(flushUs), series: ctx.baseline.features.reduce((s, f) => s + f.bins.labels.length, 0) * 2,
  };
}

if (process.argv[2] === 'week-child') {
  await weekAtRateChild();
  process.exit(0);
}

log(`window bench: ${cpus().length} cores (shared machine: indicative figures), engines ${ENGINES.join(', ')}`);
const dir = mkdtempSync(join(tmpdir(), 'vigia-window-bench-'));
/** The week in a fresh process: merged and evaluated in it, or (`target`: a PostgreSQL URL or a SQLite path) stored and evaluated by the evaluation process. */
const weekChild = (target?: string) => new Promise<unknown>((res, rej) => {
  const child = fork(import.meta.filename, ['week-child', ...(target === undefined ? [] : [target])], { execArgv: ['--import', 'tsx'], stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  child.once('message', res);
  child.once('exit', (code) => (code === 0 ? undefined : rej(new Error(`week child exited ${code}`))));
});
const result: Record<string, unknown> = { date: new Date().toISOString(), cores: cpus().length };
if (ENGINES.includes('sqlite')) {
  result['week_at_1000_per_second'] = await weekChild();
  log(JSON.stringify(result['week_at_1000_per_second']));
  result['sqlite_week_at_1000_per_second'] = await weekChild(join(dir, 'week.db'));
  log(JSON.stringify(result['sqlite_week_at_1000_per_second']));
  result['reference_bin_counters'] = await referenceBinCost();
  log(JSON.stringify(result['reference_bin_counters']));
  result['million_row_window'] = process.env['BENCH_WINDOW_SKIP_ROWS'] === '1' ? null : await millionRowWindow(dir);
}
if (ENGINES.includes('postgres')) {
  const cluster = await startPostgres({ fsync: true });
  try {
    result['postgres_week_at_1000_per_second'] = await weekChild(await cluster.createDatabase('week'));
    log(JSON.stringify(result['postgres_week_at_1000_per_second']));
    result['postgres_million_row_window'] = process.env['BENCH_WINDOW_SKIP_ROWS'] === '1' ? null : await millionRowWindowPg(cluster);
  } finally {
    await cluster.close();
  }
}
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
const out = join(ROOT, 'bench', 'results', process.env['BENCH_WINDOW_RESULTS'] ?? 'window.json');
writeFileSync(out, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
rmSync(dir, { recursive: true, force: true });
