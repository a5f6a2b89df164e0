// The drift evaluation process: reads a window from the audit log (its own read-only
// SQLite connection) and evaluates it, from the rows when the window holds at most
// VIGIA_EXACT_WINDOW_ROWS of them, otherwise from its hourly aggregates, which this process
// folds from the audit log and stores (a second connection that writes only those tables). It runs as a child process at a lower scheduling
// priority (nice 10), so that on a small machine neither the read nor the statistics of a
// large window take CPU from the event loop that serves /predict. It talks over the IPC
// channel: one `init` with the baselines, then one request per evaluation.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
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
import { ATTRIBUTION_SAMPLE_ROWS, attributionReport, evenSample, meanAbsoluteAttribution, shares, type AttributionReport } from '../explain/attribution-drift.js';
import { loadExplainer, readSampleRows, type ModelExplainer } from '../explain/model-explainer.js';
import type { WindowRows } from '../store/window.js';

const send = (reply: EvaluationReply) => process.send!(reply);
let data: EvaluationInit | undefined;
let db: Database.Database | undefined;
/** The one writable connection of this process: it stores the window's hourly aggregates, nothing else. */
let aggregatesDb: Database.Database | undefined;
const caches = new Map<string, WindowCache>();
const buckets = new Map<string, SqliteWindowBuckets>();
let cohorts: CohortReader | undefined;
/** Per model version: its explainer and the attribution shares of its reference sample. */
const attributions = new Map<string, { explainer: ModelExplainer; names: string[]; reference: { shares: Float64Array; rows: number } }>();

/** Loads the explainers of the tree models and explains (a sample of) their reference rows, once. */
async function prepareAttributions(init: EvaluationInit): Promise<void> {
  for (const [key, ctx] of Object.entries(init.models)) {
    if (ctx.attribution === undefined) continue;
    const { dir, manifest } = ctx.attribution;
    if (manifest.model === undefined) continue;
    const names = manifest.features.map((f) => f.name);
    const explainer = await loadExplainer(dir, manifest, new Uint8Array(await readFile(join(dir, manifest.model.file))));
    if (!explainer.available) continue;
    const sample = await readSampleRows(dir, manifest);
    const rows = pick(sample.rows, names.length, evenSample(sample.count, ATTRIBUTION_SAMPLE_ROWS));
    attributions.set(key, { explainer, names, reference: { shares: shares(meanAbsoluteAttribution(explainer, rows.rows, rows.count)), rows: rows.count } });
  }
}

/** The rows at `indexes` of row-major float32 `rows`. */
function pick(rows: Float32Array, width: number, indexes: Int32Array): { rows: Float32Array; count: number } {
  const out = new Float32Array(indexes.length * width);
  indexes.forEach((r, i) => out.set(rows.subarray(r * width, (r + 1) * width), i * width));
  return { rows: out, count: indexes.length };
}

/** Attribution drift of the window: an even sample of at most ATTRIBUTION_SAMPLE_ROWS rows explained. */
function attributionOf(key: string, window: WindowRows, minWindow: number): AttributionReport | undefined {
  const a = attributions.get(key);
  if (a === undefined) return undefined;
  const indexes = evenSample(window.n, ATTRIBUTION_SAMPLE_ROWS);
  const width = a.names.length;
  const rows = new Float32Array(indexes.length * width);
  a.names.forEach((name, j) => {
    const column = window.columns.get(name)!;
    indexes.forEach((r, i) => (rows[i * width + j] = column[r]!));
  });
  const windowShares = shares(meanAbsoluteAttribution(a.explainer, rows, indexes.length));
  return attributionReport(a.names, a.reference, { shares: windowShares, rows: window.n, explained: indexes.length }, minWindow);
}

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
    let attributionWindow: WindowRows | undefined;
    if (exact) {
      let cache = caches.get(req.key);
      if (cache === undefined) {
        cache = new WindowCache(db, baseline.model, baseline.modelVersion, baseline.features.map((f) => f.name));
        caches.set(req.key, cache);
      }
      const window = cache.refresh(req.fromMs);
      drift = buildReport(ctx, window, { fromMs: req.fromMs, toMs: req.toMs }, new Date(req.nowMs), diagnose);
      scores = window.scores;
      attributionWindow = window;
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
    // Attribution drift explains a sample of the window's rows: on the exact path only, where
    // the rows are held (the hourly aggregates keep no rows; see docs/explanations.md).
    const attribution = attributionWindow === undefined ? undefined : attributionOf(req.key, attributionWindow, ctx.thresholds.minWindow);
    let fairness: FairnessReport | undefined;
    let fairnessError: string | undefined;
    try {
      fairness = fairnessOf(ctx, req.fromMs, req.toMs, req.nowMs);
    } catch (err) {
      fairnessError = (err as Error).message;
    }
    const report = {
      ...buildModelReport(drift, performance, { drift: ctx.thresholds, performance: ctx.performance?.thresholds ?? null }, performanceError, attribution),
      ...(fairness === undefined ? {} : { fairness }),
      ...(fairnessError === undefined ? {} : { fairness_error: fairnessError }),
    };
    send({ kind: 'report', id: req.id, report, seconds: seconds(), peakRssBytes: process.resourceUsage().maxRSS * 1024, path: exact ? 'rows' : 'aggregates' });
  } catch (err) {
    send({ kind: 'failed', id: req.id, error: (err as Error).message, seconds: seconds() });
  }
}

process.on('message', (msg: { kind: 'init'; data: EvaluationInit } | ({ kind: 'evaluate' } & EvaluationRequest)) => {
  if (msg.kind === 'init') {
    const init = msg.data;
    prepareAttributions(init).then(
      () => {
        data = init;
        db = new Database(init.dbPath, { readonly: true, fileMustExist: true });
        db.pragma('busy_timeout = 5000');
        aggregatesDb = new Database(init.dbPath, { fileMustExist: true });
        aggregatesDb.pragma('busy_timeout = 5000');
        send({ kind: 'ready' });
      },
    ).catch((err: unknown) => send({ kind: 'failed', id: -1, error: (err as Error).message, seconds: 0 }));
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
