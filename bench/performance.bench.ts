// `npm run bench:performance`: late labels and performance. (1) The ingest rate of
// POST /v1/labels in batches of 1,000 against the real service. (2) The time to compute the
// realized and the estimated metrics on a matured cohort of 1,000,000 labelled predictions:
// as pure functions, and inside the evaluation process (cohort read included), against the
// same evaluation without the performance section. (3) The matured cohort read from its
// rows (before) against its hourly aggregates (after), on SQLite and PostgreSQL: the first
// evaluation (aggregates folded from the rows), a restart (stored aggregates loaded) and a
// warm one (nothing new to fold). BENCH_ONLY_COHORT=1 skips (1). Results: stdout and
// bench/results/performance.json.
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { DriftMonitor, modelKey } from '../src/drift/monitor.js';
import { loadModels } from '../src/model/registry.js';
import { estimatePerformance } from '../src/performance/estimate.js';
import { cohortAggregateLayout, realizedOfAggregate } from '../src/performance/cohort-aggregate.js';
import { cohortRange } from '../src/performance/report.js';
import { realizedPerformance } from '../src/performance/realized.js';
import { CohortReader } from '../src/store/cohort.js';
import { SqliteCohortBuckets } from '../src/store/cohort-buckets.js';
import { PgCohortBuckets } from '../src/store/pg-cohort-buckets.js';
import { readPgCohort } from '../src/store/pg-window.js';
import { connectionConfig, ensurePartitions, openPostgres } from '../src/store/postgres.js';
import { startPostgres } from '../test/helpers/postgres.js';
import pg from 'pg';
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
  // `fairness: false` leaves out fairness by group: what its cohort counts cost (a GROUP BY over
  // the cohort's labels joined to their predictions from the rows; the hours' counts from the
  // aggregates).
  const timed = async (withPerformance: boolean, exactCohortLabels?: number, fairness = true) => {
    const { performance: perf, fairness: groups, ...drift } = ctx;
    const model = { ...drift, ...(withPerformance ? { performance: perf } : {}), ...(fairness && groups !== undefined ? { fairness: groups } : {}) };
    const monitor = await DriftMonitor.start({ db: { engine: 'sqlite', path: dbPath }, models: [model], windowMs: 7 * DAY, intervalMs: 0, ...(exactCohortLabels === undefined ? {} : { exactCohortLabels }) });
    const times: number[] = [];
    let labelled = 0;
    for (let i = 0; i < 4; i++) {
      const t = performance.now();
      const r = await monitor.evaluate(modelKey('credit-default', '1.0.0'));
      times.push((performance.now() - t) / 1000);
      labelled = r.performance?.cohort.labelled ?? 0;
    }
    await monitor.close();
    return { median_s: median(times.slice(1)), first_s: times[0]!, labelled };
  };
  const withRows = await timed(true, 100_000_000);
  const withPerf = await timed(true);
  const without = await timed(false);
  const rowsNoFairness = await timed(true, 100_000_000, false);
  const aggregatesNoFairness = await timed(true, undefined, false);
  const withoutNoFairness = await timed(false, undefined, false);
  log(`  evaluation process: ${withRows.median_s.toFixed(3)} s with performance from the rows (${withRows.labelled} labelled), ${withPerf.median_s.toFixed(3)} s from the hourly aggregates, ${without.median_s.toFixed(3)} s without`);
  log(`  the same without fairness by group: ${rowsNoFairness.median_s.toFixed(3)} s from the rows, ${aggregatesNoFairness.median_s.toFixed(3)} s from the aggregates, ${withoutNoFairness.median_s.toFixed(3)} s without performance`);
  const aggregates = await cohortPaths(ctx.performance, { engine: 'sqlite', path: dbPath });
  await registry.close();
  return {
    cohort_rows: COHORT,
    pure_realized_s: Number(median(realizedS).toFixed(3)),
    pure_estimated_s: Number(median(estimatedS).toFixed(3)),
    evaluation_with_performance_rows_s: Number(withRows.median_s.toFixed(3)),
    evaluation_with_performance_s: Number(withPerf.median_s.toFixed(3)),
    evaluation_without_performance_s: Number(without.median_s.toFixed(3)),
    performance_section_rows_s: Number((withRows.median_s - without.median_s).toFixed(3)),
    performance_section_s: Number((withPerf.median_s - without.median_s).toFixed(3)),
    without_fairness: {
      evaluation_with_performance_rows_s: Number(rowsNoFairness.median_s.toFixed(3)),
      evaluation_with_performance_s: Number(aggregatesNoFairness.median_s.toFixed(3)),
      evaluation_without_performance_s: Number(withoutNoFairness.median_s.toFixed(3)),
      first_with_performance_rows_s: Number(rowsNoFairness.first_s.toFixed(3)),
      first_with_performance_s: Number(aggregatesNoFairness.first_s.toFixed(3)),
    },
    labelled_in_cohort: withPerf.labelled,
    sqlite: aggregates,
  };
}

type Db = { engine: 'sqlite'; path: string } | { engine: 'postgres'; url: string };

/**
 * The cohort's read and realized metrics, before (every labelled row read and sorted) and
 * after (the hourly aggregates): first (folded from the rows, stored), restart (loaded from
 * the stored hours), warm (nothing new). Medians of 3 where repeated.
 */
async function cohortPaths(perf: Parameters<typeof cohortRange>[0] & { threshold: number; costs: { falseNegative: number; falsePositive: number } }, db: Db): Promise<Record<string, unknown>> {
  const range = cohortRange(perf, Date.now());
  const layout = cohortAggregateLayout(perf.threshold);
  const secs = (t: number) => Number(((performance.now() - t) / 1000).toFixed(3));
  const sqlite = db.engine === 'sqlite' ? openDatabase({ path: db.path, synchronous: 'NORMAL' }) : undefined;
  const clients: pg.Client[] = [];
  const client = async () => {
    const c = new pg.Client(connectionConfig((db as { url: string }).url));
    await c.connect();
    clients.push(c);
    return c;
  };
  const rowsS: number[] = [];
  let labelled = 0;
  for (let i = 0; i < 3; i++) {
    const t = performance.now();
    const rows = sqlite !== undefined ? new CohortReader(sqlite).read('credit-default', '1.0.0', range.fromMs, range.toMs) : await readPgCohort(await client(), 'credit-default', '1.0.0', range.fromMs, range.toMs);
    realizedPerformance(rows.labels, rows.probabilities, perf.threshold, perf.costs);
    rowsS.push(secs(t));
    labelled = rows.labels.length;
  }
  const buckets = async () => (sqlite !== undefined ? new SqliteCohortBuckets(sqlite, 'credit-default', '1.0.0', layout, sqlite) : new PgCohortBuckets(await client(), 'credit-default', '1.0.0', layout));
  const evaluate = async (b: SqliteCohortBuckets | PgCohortBuckets) => {
    const c = await b.refresh(range.fromMs, range.toMs);
    return { c, r: realizedOfAggregate(layout, c.aggregate, perf.costs) };
  };
  // The first evaluation folds from the rows: nothing stored yet (the evaluation-process runs above stored them on SQLite).
  if (sqlite !== undefined) sqlite.exec('DELETE FROM cohort_buckets; DELETE FROM cohort_cursors;');
  let t = performance.now();
  const first = await buckets();
  const folded = await evaluate(first);
  const firstS = secs(t);
  t = performance.now();
  const restarted = await buckets();
  await evaluate(restarted);
  const restartS = secs(t);
  const warmS: number[] = [];
  for (let i = 0; i < 3; i++) {
    t = performance.now();
    await evaluate(restarted);
    warmS.push(secs(t));
  }
  const exact = sqlite !== undefined ? new CohortReader(sqlite).read('credit-default', '1.0.0', range.fromMs, range.toMs) : await readPgCohort(await client(), 'credit-default', '1.0.0', range.fromMs, range.toMs);
  const exactAuc = realizedPerformance(exact.labels, exact.probabilities, perf.threshold, perf.costs).auc;
  const storedHours = sqlite !== undefined
    ? (sqlite.prepare('SELECT count(*) AS n, sum(length(data)) AS bytes FROM cohort_buckets').get() as { n: number; bytes: number })
    : (await (await client()).query<{ n: number; bytes: number }>('SELECT count(*)::int AS n, sum(length(data))::float8 AS bytes FROM cohort_buckets')).rows[0]!;
  sqlite?.close();
  for (const c of clients) await c.end();
  const result = {
    labelled,
    hours: storedHours.n,
    stored_mb: Number((storedHours.bytes / 1e6).toFixed(1)),
    rows_read_and_metrics_s: median(rowsS),
    aggregates_first_s: firstS,
    aggregates_restart_s: restartS,
    aggregates_warm_s: median(warmS),
    warm_speedup: Number((median(rowsS) / median(warmS)).toFixed(1)),
    auc_rows: exactAuc,
    auc_aggregates: folded.r.auc,
    auc_error_bound: folded.r.errors.auc,
    auc_difference: Math.abs(exactAuc - folded.r.auc),
    origin_first: first.origin,
    origin_restart: restarted.origin,
  };
  log(`  ${db.engine} cohort of ${labelled} labels: rows ${result.rows_read_and_metrics_s} s; aggregates first ${firstS} s, restart ${restartS} s, warm ${result.aggregates_warm_s} s (${result.hours} hours, ${result.stored_mb} MB stored); AUC ${exactAuc.toFixed(6)} rows, ${folded.r.auc.toFixed(6)} bins, bound ${folded.r.errors.auc.toExponential(2)}`);
  return result;
}

/** The same cohort on PostgreSQL, written by the server (generate_series), then cohortPaths. */
async function postgresCohort(perf: Parameters<typeof cohortPaths>[0]): Promise<Record<string, unknown>> {
  const cluster = await startPostgres();
  try {
    const pool = await openPostgres({ url: cluster.url, poolSize: 2 });
    const start = Date.now() - 59 * DAY;
    const c = await pool.connect();
    await ensurePartitions(c, Array.from({ length: 30 }, (_, d) => start + d * DAY));
    c.release();
    const t0 = performance.now();
    // Probability ~ U², label ~ Bernoulli(p), event times spread over 28 days as on SQLite.
    await pool.query(`INSERT INTO predictions (id, request_id, ts_ms, event_ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id)
      SELECT 'p' || i, 'bench', e, e, 'credit-default', '1.0.0', '{}', p, (p >= 0.2)::int, 'low', 0.2, 1, '0'
      FROM (SELECT i, $1::bigint + (i::bigint * 28 * ${DAY}) / $2 AS e, round((random() ^ 2)::numeric, 6)::float8 AS p FROM generate_series(0, $2 - 1) i) s`, [start, COHORT]);
    await pool.query(`INSERT INTO labels (prediction_id, label, label_ts_ms, received_ts_ms, model, model_version, event_ts_ms, probability)
      SELECT id, (random() < probability)::int, event_ts_ms, event_ts_ms, model, model_version, event_ts_ms, probability FROM predictions`);
    await pool.query('VACUUM ANALYZE predictions, labels');
    await pool.end();
    log(`  postgres: ${COHORT} labelled predictions written in ${((performance.now() - t0) / 1000).toFixed(1)} s`);
    return await cohortPaths(perf, { engine: 'postgres', url: cluster.url });
  } finally {
    await cluster.close();
  }
}

log(`performance bench: ${COHORT} labelled predictions in the cohort, ${cpus().length} cores`);
const resultsPath = join(ROOT, 'bench', 'results', 'performance.json');
// BENCH_ONLY_COHORT=1 keeps the label ingest figures of the last full run.
const labels = process.env['BENCH_ONLY_COHORT'] === '1'
  ? ((JSON.parse(readFileSync(resultsPath, 'utf8')) as { labels?: unknown }).labels ?? null)
  : await labelIngest();
const cohort = await cohortMetrics();
const pgRegistry = await loadModels(join(ROOT, 'models'), undefined);
const pgCtx = await buildModelContext(pgRegistry.get('credit-default')!, { quantiles: 10, topK: 20, now: new Date() });
await pgRegistry.close();
const postgres = await postgresCohort(pgCtx.performance);
const result = { date: new Date().toISOString(), labels, cohort: { ...cohort, postgres } };
mkdirSync(join(ROOT, 'bench', 'results'), { recursive: true });
writeFileSync(resultsPath, `${JSON.stringify(result, null, 2)}\n`);
console.log(JSON.stringify(result, null, 2));
rmSync(dir, { recursive: true, force: true });
