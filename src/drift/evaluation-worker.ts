// The drift evaluation process: reads a window from the audit log (its own read-only
// SQLite connection) and evaluates it, from the rows when the window holds at most
// VIGIA_EXACT_WINDOW_ROWS of them, otherwise from its hourly aggregates, which this process
// folds from the audit log and stores (a second connection that writes only those tables). It runs as a child process at a lower scheduling
// priority (nice 10), so that on a small machine neither the read nor the statistics of a
// large window take CPU from the event loop that serves /predict. It talks over the IPC
// channel: one `init` with the baselines, then one request per evaluation.
import Database from 'better-sqlite3';
import { buildPerformanceReport, cohortRange, type PerformanceContext, type PerformanceReport } from '../performance/report.js';
import { buildModelReport } from '../report/model-report.js';
import { CohortReader } from '../store/cohort.js';
import { FairnessCountReader } from '../store/fairness-counts.js';
import { buildFairnessReport, countGroups, type FairnessReport } from '../fairness/report.js';
import type { ModelContext } from '../report/model-report.js';
import { WindowCache } from '../store/window.js';
import { SqliteWindowBuckets } from '../store/window-buckets.js';
import { aggregateCount, windowAggregateLayout } from './window-aggregate.js';
import { diagnose } from './diagnosis.js';
import type { EvaluationInit, EvaluationReply, EvaluationRequest } from './evaluation-protocol.js';
import { buildAggregateReport, buildReport, type DriftReport } from './report.js';

const send = (reply: EvaluationReply) => process.send!(reply);
let data: EvaluationInit | undefined;
let db: Database.Database | undefined;
/** The one writable connection of this process: it stores the window's hourly aggregates, nothing else. */
let aggregatesDb: Database.Database | undefined;
const caches = new Map<string, WindowCache>();
const buckets = new Map<string, SqliteWindowBuckets>();
let cohorts: CohortReader | undefined;
let fairnessCounts: FairnessCountReader | undefined;

/** Fairness by group: selection over the window, TPR/FPR over the matured cohort (the performance section's range). */
function fairnessOf(ctx: ModelContext, fromMs: number, toMs: number, nowMs: number): FairnessReport | undefined {
  if (ctx.fairness === undefined) return undefined;
  const { model, modelVersion } = ctx.baseline;
  fairnessCounts ??= new FairnessCountReader(db!);
  const window = fairnessCounts.windowCounts(model, modelVersion, fromMs, toMs);
  const range = ctx.performance === undefined ? undefined : cohortRange(ctx.performance, nowMs);
  const cohort = range === undefined ? [] : fairnessCounts.cohortCounts(model, modelVersion, range.fromMs, range.toMs);
  return buildFairnessReport(ctx.fairness.spec, countGroups(ctx.fairness.spec, window, cohort), ctx.fairness.thresholds);
}

/** The performance section: realized on the matured cohort, estimated on the window's scores. */
function performanceOf(ctx: PerformanceContext, model: string, version: string, scores: Float64Array, nowMs: number): PerformanceReport {
  const range = cohortRange(ctx, nowMs);
  cohorts ??= new CohortReader(db!);
  const cohort = cohorts.read(model, version, range.fromMs, range.toMs);
  return buildPerformanceReport(ctx, { ...range, ...cohort }, scores);
}

function evaluate(req: EvaluationRequest): void {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    if (data === undefined || db === undefined) throw new Error('evaluation process not initialised');
    const ctx = data.models[req.key];
    if (ctx === undefined) throw new Error(`no baseline for ${req.key}`);
    const { baseline } = ctx;
    let source = buckets.get(req.key);
    if (source === undefined) {
      source = new SqliteWindowBuckets(db, windowAggregateLayout(baseline, ctx.bands), aggregatesDb);
      buckets.set(req.key, source);
    }
    const aggregated = source.refresh(req.fromMs);
    const exact = aggregateCount(aggregated.aggregate) <= data.exactWindowRows;
    let drift: DriftReport;
    let scores: Float64Array;
    if (exact) {
      let cache = caches.get(req.key);
      if (cache === undefined) {
        cache = new WindowCache(db, baseline.model, baseline.modelVersion, baseline.features.map((f) => f.name));
        caches.set(req.key, cache);
      }
      const window = cache.refresh(req.fromMs);
      drift = buildReport(ctx, window, { fromMs: req.fromMs, toMs: req.toMs }, new Date(req.nowMs), diagnose);
      scores = window.scores;
    } else {
      // Too many rows to hold: the rows' columns go, the hourly aggregates answer.
      caches.delete(req.key);
      drift = buildAggregateReport(ctx, { layout: source.layout, ...aggregated }, { fromMs: aggregated.fromMs, toMs: req.toMs }, new Date(req.nowMs));
      scores = new Float64Array(0);
    }
    let performance: PerformanceReport | null = null;
    let performanceError: string | undefined;
    if (ctx.performance !== undefined) {
      try {
        performance = performanceOf(ctx.performance, baseline.model, baseline.modelVersion, scores, req.nowMs);
      } catch (err) {
        performanceError = (err as Error).message;
      }
    }
    let fairness: FairnessReport | undefined;
    let fairnessError: string | undefined;
    try {
      fairness = fairnessOf(ctx, req.fromMs, req.toMs, req.nowMs);
    } catch (err) {
      fairnessError = (err as Error).message;
    }
    const report = {
      ...buildModelReport(drift, performance, { drift: ctx.thresholds, performance: ctx.performance?.thresholds ?? null }, performanceError),
      ...(fairness === undefined ? {} : { fairness }),
      ...(fairnessError === undefined ? {} : { fairness_error: fairnessError }),
    };
    send({ kind: 'report', id: req.id, report, seconds: seconds(), peakRssBytes: process.resourceUsage().maxRSS * 1024, path: exact ? 'rows' : 'aggregates' });
  } catch (err) {
    send({ kind: 'failed', id: req.id, error: (err as Error).message, seconds: seconds() });
  }
}

process.on('message', (msg: { kind: 'init'; data: EvaluationInit } | { kind: 'add'; key: string; context: EvaluationInit['models'][string] } | ({ kind: 'evaluate' } & EvaluationRequest)) => {
  if (msg.kind === 'add') {
    // A version loaded live: its baseline joins; a window cached under the same key (a reload) starts over.
    if (data !== undefined) data = { ...data, models: { ...data.models, [msg.key]: msg.context } };
    caches.delete(msg.key);
    return;
  }
  if (msg.kind === 'init') {
    try {
      data = msg.data;
      db = new Database(data.dbPath, { readonly: true, fileMustExist: true });
      db.pragma('busy_timeout = 5000');
      aggregatesDb = new Database(data.dbPath, { fileMustExist: true });
      aggregatesDb.pragma('busy_timeout = 5000');
      send({ kind: 'ready' });
    } catch (err) {
      send({ kind: 'failed', id: -1, error: (err as Error).message, seconds: 0 });
    }
    return;
  }
  evaluate(msg);
});
// The parent closes the channel (or dies): finish.
process.on('disconnect', () => {
  db?.close();
  aggregatesDb?.close();
  process.exit(0);
});
