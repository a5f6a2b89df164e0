// The drift evaluation process: reads a window from the audit log and evaluates it. On
// SQLite (its own read-only connection) from the rows when the window holds at most
// VIGIA_EXACT_WINDOW_ROWS of them, otherwise from its hourly aggregates, which this process
// folds from the audit log and stores (a second connection that writes only those tables).
// On PostgreSQL (its own connection) always from the rows, read commit-safely by xid8: the
// hourly aggregates are SQLite-only for now (future work on PostgreSQL). Fairness by group is
// counted on either engine with the same GROUP BYs.
// It runs as a child process at a lower scheduling priority (nice 10), so that on a small
// machine neither the read nor the statistics of a large window take CPU from the event loop
// that serves /predict. It talks over the IPC channel: one `init` with the baselines, then
// one request per evaluation.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildPerformanceReport, cohortRange, type PerformanceContext, type PerformanceReport } from '../performance/report.js';
import { buildModelReport } from '../report/model-report.js';
import type { ModelContext } from '../report/model-report.js';
import { CohortReader, type CohortRows } from '../store/cohort.js';
import { FairnessCountReader } from '../store/fairness-counts.js';
import { buildFairnessReport, countGroups, type CohortGroupCount, type FairnessReport, type WindowGroupCount } from '../fairness/report.js';
import { PgFairnessCountReader } from '../store/pg-fairness-counts.js';
import { PgWindowCache, readPgCohort } from '../store/pg-window.js';
import { connectionConfig } from '../store/postgres.js';
import { WindowCache, type WindowRows } from '../store/window.js';
import { ATTRIBUTION_SAMPLE_ROWS, attributionReport, evenSample, meanAbsoluteAttribution, shares, type AttributionReport } from '../explain/attribution-drift.js';
import { loadExplainer, readSampleRows, type ModelExplainer } from '../explain/model-explainer.js';
import { SqliteWindowBuckets } from '../store/window-buckets.js';
import { aggregateCount, windowAggregateLayout } from './window-aggregate.js';
import { diagnose } from './diagnosis.js';
import type { EvaluationInit, EvaluationReply, EvaluationRequest } from './evaluation-protocol.js';
import { buildAggregateReport, buildReport, type DriftReport } from './report.js';

const send = (reply: EvaluationReply) => process.send!(reply);
let data: EvaluationInit | undefined;

/** A window's drift section, the scores the performance estimate reads, and which path judged it. */
interface WindowDrift {
  readonly drift: DriftReport;
  readonly scores: Float64Array;
  readonly path: 'rows' | 'aggregates';
  /** The window's rows, on the rows path (attribution drift explains a sample of them); the aggregates keep none. */
  readonly window?: WindowRows;
}

/** What the evaluation reads from the audit log, on either engine. */
interface EvaluationSource {
  /** The drift of a model version's window (kept between evaluations, refreshed incrementally). */
  drift(key: string, ctx: ModelContext, req: EvaluationRequest): WindowDrift | Promise<WindowDrift>;
  cohort(model: string, version: string, fromMs: number, toMs: number): CohortRows | Promise<CohortRows>;
  /** Fairness by group: selection over the window, TPR/FPR over the matured cohort; undefined when the engine does not count groups. */
  fairness(ctx: ModelContext, fromMs: number, toMs: number, nowMs: number): FairnessReport | undefined | Promise<FairnessReport | undefined>;
  /** Drops what is kept for a model version (its window starts over at the next evaluation). */
  forget(key: string): void;
  close(): Promise<void>;
}

function sqliteSource(path: string, exactWindowRows: number): EvaluationSource {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  /** The one writable connection of this process: it stores the window's hourly aggregates, nothing else. */
  const aggregatesDb = new Database(path, { fileMustExist: true });
  aggregatesDb.pragma('busy_timeout = 5000');
  const caches = new Map<string, WindowCache>();
  const buckets = new Map<string, SqliteWindowBuckets>();
  const cohorts = new CohortReader(db);
  const fairnessCounts = new FairnessCountReader(db);
  return {
    drift: (key, ctx, req) => {
      const { baseline } = ctx;
      let source = buckets.get(key);
      if (source === undefined) {
        source = new SqliteWindowBuckets(db, windowAggregateLayout(baseline, ctx.bands), aggregatesDb);
        buckets.set(key, source);
      }
      const aggregated = source.refresh(req.fromMs);
      if (aggregateCount(aggregated.aggregate) <= exactWindowRows) {
        let cache = caches.get(key);
        if (cache === undefined) {
          cache = new WindowCache(db, baseline.model, baseline.modelVersion, baseline.features.map((f) => f.name));
          caches.set(key, cache);
        }
        const window = cache.refresh(req.fromMs);
        return { drift: buildReport(ctx, window, { fromMs: req.fromMs, toMs: req.toMs }, new Date(req.nowMs), diagnose), scores: window.scores, path: 'rows', window };
      }
      // Too many rows to hold: the rows' columns go, the hourly aggregates answer.
      caches.delete(key);
      return {
        drift: buildAggregateReport(ctx, { layout: source.layout, ...aggregated }, { fromMs: aggregated.fromMs, toMs: req.toMs }, new Date(req.nowMs)),
        scores: new Float64Array(0),
        path: 'aggregates',
      };
    },
    cohort: (model, version, fromMs, toMs) => cohorts.read(model, version, fromMs, toMs),
    fairness: (ctx, fromMs, toMs, nowMs) => fairnessOf(ctx, fairnessCounts, fromMs, toMs, nowMs),
    forget: (key) => {
      caches.delete(key);
      buckets.delete(key);
    },
    close: async () => {
      db.close();
      aggregatesDb.close();
    },
  };
}

/** What both engines' fairness count readers answer (synchronously on SQLite, asynchronously on PostgreSQL). */
interface FairnessCounts {
  windowCounts(model: string, version: string, fromMs: number, toMs: number): WindowGroupCount[] | Promise<WindowGroupCount[]>;
  cohortCounts(model: string, version: string, fromMs: number, toMs: number): CohortGroupCount[] | Promise<CohortGroupCount[]>;
}

/** Fairness by group of a model version: selection over the window, TPR/FPR over the matured cohort. */
function fairnessOf(ctx: ModelContext, counts: FairnessCounts, fromMs: number, toMs: number, nowMs: number): FairnessReport | undefined | Promise<FairnessReport | undefined> {
  const { fairness } = ctx;
  if (fairness === undefined) return undefined;
  const { model, modelVersion } = ctx.baseline;
  const range = ctx.performance === undefined ? undefined : cohortRange(ctx.performance, nowMs);
  const window = counts.windowCounts(model, modelVersion, fromMs, toMs);
  const cohort = range === undefined ? [] : counts.cohortCounts(model, modelVersion, range.fromMs, range.toMs);
  const build = (w: WindowGroupCount[], c: CohortGroupCount[]) => buildFairnessReport(fairness.spec, countGroups(fairness.spec, w, c), fairness.thresholds);
  return Array.isArray(window) && Array.isArray(cohort) ? build(window, cohort) : Promise.all([window, cohort]).then(([w, c]) => build(w, c));
}

/** PostgreSQL: the exact window only (no hourly aggregates there yet). */
async function postgresSource(url: string): Promise<EvaluationSource> {
  const caches = new Map<string, PgWindowCache>();
  // A lost connection fails the evaluations that use it; the next one reconnects (and
  // rebuilds the windows, whose cursors belonged to the old connection's reads).
  let connection: Promise<pg.Client> | undefined;
  const connected = (): Promise<pg.Client> => {
    connection ??= (async () => {
      const c = new pg.Client(connectionConfig(url));
      c.on('error', () => {
        connection = undefined;
        caches.clear();
      });
      await c.connect();
      return c;
    })().catch((err: unknown) => {
      connection = undefined;
      throw err;
    });
    return connection;
  };
  await connected();
  const fairnessCounts = new PgFairnessCountReader(connected);
  return {
    drift: async (key, ctx, req) => {
      const { baseline } = ctx;
      const c = await connected();
      let cache = caches.get(key);
      if (cache === undefined) caches.set(key, (cache = new PgWindowCache(c, baseline.model, baseline.modelVersion, baseline.features.map((f) => f.name))));
      const window = await cache.refresh(req.fromMs);
      return { drift: buildReport(ctx, window, { fromMs: req.fromMs, toMs: req.toMs }, new Date(req.nowMs), diagnose), scores: window.scores, path: 'rows', window };
    },
    cohort: async (model, version, fromMs, toMs) => readPgCohort(await connected(), model, version, fromMs, toMs),
    fairness: (ctx, fromMs, toMs, nowMs) => fairnessOf(ctx, fairnessCounts, fromMs, toMs, nowMs),
    forget: (key) => caches.delete(key),
    close: async () => {
      await (await connection?.catch(() => undefined))?.end();
    },
  };
}

let source: EvaluationSource | undefined;

/** Per model version: its explainer and the attribution shares of its reference sample. */
const attributions = new Map<string, { explainer: ModelExplainer; names: string[]; reference: { shares: Float64Array; rows: number } }>();

/** Loads the explainers of the tree models and explains (a sample of) their reference rows, once. */
async function prepareAttributions(init: EvaluationInit): Promise<void> {
  for (const [key, ctx] of Object.entries(init.models)) await prepareAttribution(key, ctx);
}

/** One model version's explainer and the attribution shares of its reference sample. */
async function prepareAttribution(key: string, ctx: EvaluationInit['models'][string]): Promise<void> {
  if (ctx.attribution === undefined) return;
  const { dir, manifest } = ctx.attribution;
  if (manifest.model === undefined) return;
  const names = manifest.features.map((f) => f.name);
  const explainer = await loadExplainer(dir, manifest, new Uint8Array(await readFile(join(dir, manifest.model.file))));
  if (!explainer.available) return;
  const sample = await readSampleRows(dir, manifest);
  const rows = pick(sample.rows, names.length, evenSample(sample.count, ATTRIBUTION_SAMPLE_ROWS));
  attributions.set(key, { explainer, names, reference: { shares: shares(meanAbsoluteAttribution(explainer, rows.rows, rows.count)), rows: rows.count } });
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


/** The performance section: realized on the matured cohort, estimated on the window's scores. */
async function performanceOf(ctx: PerformanceContext, model: string, version: string, scores: Float64Array, nowMs: number): Promise<PerformanceReport> {
  const range = cohortRange(ctx, nowMs);
  const cohort = await source!.cohort(model, version, range.fromMs, range.toMs);
  return buildPerformanceReport(ctx, { ...range, ...cohort }, scores);
}

async function evaluate(req: EvaluationRequest): Promise<void> {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    if (data === undefined || source === undefined) throw new Error('evaluation process not initialised');
    const ctx = data.models[req.key];
    if (ctx === undefined) throw new Error(`no baseline for ${req.key}`);
    const { baseline } = ctx;
    const { drift, scores, path, window } = await source.drift(req.key, ctx, req);
    let performance: PerformanceReport | null = null;
    let performanceError: string | undefined;
    if (ctx.performance !== undefined) {
      try {
        performance = await performanceOf(ctx.performance, baseline.model, baseline.modelVersion, scores, req.nowMs);
      } catch (err) {
        performanceError = (err as Error).message;
      }
    }
    let fairness: FairnessReport | undefined;
    let fairnessError: string | undefined;
    try {
      fairness = await source.fairness(ctx, req.fromMs, req.toMs, req.nowMs);
    } catch (err) {
      fairnessError = (err as Error).message;
    }
    // Attribution drift explains a sample of the window's rows: on the rows path only (the
    // hourly aggregates keep no rows; see docs/explanations.md).
    const attribution = window === undefined ? undefined : attributionOf(req.key, window, ctx.thresholds.minWindow);
    const report = {
      ...buildModelReport(drift, performance, { drift: ctx.thresholds, performance: ctx.performance?.thresholds ?? null }, performanceError, attribution),
      ...(fairness === undefined ? {} : { fairness }),
      ...(fairnessError === undefined ? {} : { fairness_error: fairnessError }),
    };
    send({ kind: 'report', id: req.id, report, seconds: seconds(), peakRssBytes: process.resourceUsage().maxRSS * 1024, path });
  } catch (err) {
    send({ kind: 'failed', id: req.id, error: (err as Error).message, seconds: seconds() });
  }
}

// Evaluations run one after the other: they share one connection (and a PostgreSQL read is
// a transaction that must not interleave with another). A version loaded live joins in the
// same queue, so it never races an evaluation or the initialisation.
let queue: Promise<void> = Promise.resolve();

type WorkerMessage = { kind: 'init'; data: EvaluationInit } | { kind: 'add'; key: string; context: EvaluationInit['models'][string] } | ({ kind: 'evaluate' } & EvaluationRequest);

process.on('message', (msg: WorkerMessage) => {
  if (msg.kind === 'add') {
    queue = queue.then(async () => {
      // A version loaded live: its baseline joins; a window cached under the same key (a reload) starts over.
      if (data !== undefined) data = { ...data, models: { ...data.models, [msg.key]: msg.context } };
      source?.forget(msg.key);
      attributions.delete(msg.key);
      try {
        await prepareAttribution(msg.key, msg.context);
      } catch {
        // No attribution drift for this version; its drift and performance are unaffected.
      }
    });
    return;
  }
  if (msg.kind === 'init') {
    queue = (async () => {
      try {
        data = msg.data;
        await prepareAttributions(data);
        source = data.db.engine === 'sqlite' ? sqliteSource(data.db.path, data.exactWindowRows) : await postgresSource(data.db.url);
        send({ kind: 'ready' });
      } catch (err) {
        send({ kind: 'failed', id: -1, error: (err as Error).message, seconds: 0 });
      }
    })();
    return;
  }
  queue = queue.then(() => evaluate(msg));
});
// The parent closes the channel (or dies): finish.
process.on('disconnect', () => {
  void queue.then(() => source?.close()).finally(() => process.exit(0));
});
