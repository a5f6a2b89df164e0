// The drift evaluation process: reads a window from the audit log and evaluates it, from the
// rows when the window holds at most VIGIA_EXACT_WINDOW_ROWS of them, otherwise from its
// hourly aggregates, which this process folds from the audit log and stores. On SQLite: its
// own read-only connection, and a second one that writes only the aggregates' tables. On
// PostgreSQL: one connection, every read commit-safe by transaction id (xid8); the aggregates
// are stored only while this replica is the fleet's evaluator (the request's term fences
// them). Fairness by group: a window evaluated from its SQLite aggregates is counted from
// its buckets; otherwise (rows path, PostgreSQL) by the same GROUP BYs on either engine.
// It runs as a child process at a lower scheduling priority (nice 10), so that on a small
// machine neither the read nor the statistics of a large window take CPU from the event loop
// that serves /predict. It talks over the IPC channel: one `init` with the baselines, then
// one request per evaluation.
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import Database from 'better-sqlite3';
import pg from 'pg';
import { cohortAggregateLayout } from '../performance/cohort-aggregate.js';
import { buildPerformanceReport, cohortRange, type Cohort, type PerformanceContext, type PerformanceReport } from '../performance/report.js';
import { buildModelReport } from '../report/model-report.js';
import type { ModelContext } from '../report/model-report.js';
import { CohortReader, type CohortRows } from '../store/cohort.js';
import { SqliteCohortBuckets, type AggregateCohort } from '../store/cohort-buckets.js';
import { PgCohortBuckets } from '../store/pg-cohort-buckets.js';
import { FairnessCountReader } from '../store/fairness-counts.js';
import { buildFairnessReport, countGroups, type CohortGroupCount, type FairnessReport, type WindowGroupCount } from '../fairness/report.js';
import { PgFairnessCountReader } from '../store/pg-fairness-counts.js';
import { PgWindowCache, readPgCohort } from '../store/pg-window.js';
import { connectionConfig } from '../store/postgres.js';
import { WindowCache, type WindowRows } from '../store/window.js';
import { ATTRIBUTION_SAMPLE_ROWS, attributionReport, evenSample, meanAbsoluteAttribution, meanAbsoluteAttributionByKey, shares, type AttributionReport } from '../explain/attribution-drift.js';
import { loadExplainer, readSampleRows, type ModelExplainer } from '../explain/model-explainer.js';
import { PgWindowBuckets } from '../store/pg-window-buckets.js';
import { SqliteWindowBuckets, type AggregateWindow } from '../store/window-buckets.js';
import { BucketSample, windowSample, type WindowSample } from './bucket-sample.js';
import { aggregateCount, windowAggregateLayout, type WindowAggregateLayout } from './window-aggregate.js';
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
  /** What attribution drift explains a sample of: the window's rows, or the aggregates' bucket samples. */
  readonly rows?: AttributionRows;
  /** On the aggregates path, the window's predictions by groups and decision, from its buckets (fairness reads them instead of the rows). */
  readonly groupCounts?: readonly WindowGroupCount[];
}

/** A window's rows for attribution drift: its columns (rows path) or a sample drawn from its buckets' samples (aggregates path). */
type AttributionRows =
  | { readonly kind: 'rows'; readonly window: WindowRows }
  | { readonly kind: 'hourly_samples'; readonly n: number; readonly names: readonly string[]; readonly sample: WindowSample };

/** What the evaluation reads from the audit log, on either engine. */
interface EvaluationSource {
  /** The drift of a model version's window (kept between evaluations, refreshed incrementally). */
  drift(key: string, ctx: ModelContext, req: EvaluationRequest): WindowDrift | Promise<WindowDrift>;
  /**
   * The matured cohort [fromMs, toMs) of a model version: its hourly aggregates brought up to
   * date (kept between evaluations), then its labelled rows when they are at most
   * `exactCohortLabels`, else the aggregates (see cohortOf).
   */
  cohort(key: string, ctx: ModelContext & { performance: PerformanceContext }, range: { fromMs: number; toMs: number }, term: number | undefined): CohortWithCounts | Promise<CohortWithCounts>;
  /**
   * Fairness by group: selection over the window, TPR/FPR over the matured cohort. The
   * window's counts are `counts.window` when the drift path had them (its hourly buckets),
   * the cohort's `counts.cohort` when the performance section read its aggregates; else a
   * GROUP BY over the rows.
   */
  fairness(ctx: ModelContext, fromMs: number, toMs: number, nowMs: number, counts: HeldGroupCounts): FairnessReport | undefined | Promise<FairnessReport | undefined>;
  /** Drops what is kept for a model version (its window starts over at the next evaluation). */
  forget(key: string): void;
  close(): Promise<void>;
}

/**
 * A window's drift: from its rows when its hourly aggregates count at most `exactWindowRows`
 * (the rows' columns are kept between evaluations), else from the aggregates (the columns go).
 */
async function windowDrift(
  ctx: ModelContext,
  req: EvaluationRequest,
  layout: WindowAggregateLayout,
  aggregated: AggregateWindow,
  exactWindowRows: number,
  rows: { read: () => WindowRows | Promise<WindowRows>; drop: () => void },
): Promise<WindowDrift> {
  if (aggregateCount(aggregated.aggregate) <= exactWindowRows) {
    const window = await rows.read();
    return { drift: buildReport(ctx, window, { fromMs: req.fromMs, toMs: req.toMs }, new Date(req.nowMs), diagnose), scores: window.scores, path: 'rows', rows: { kind: 'rows', window } };
  }
  // Too many rows to hold: the rows' columns go, the hourly aggregates answer, and
  // attribution drift explains an even sample drawn from the buckets' row samples (when the
  // store keeps them: SQLite's do, PostgreSQL's not yet).
  rows.drop();
  const names = layout.features.map((f) => f.name);
  return {
    drift: buildAggregateReport(ctx, { layout, ...aggregated }, { fromMs: aggregated.fromMs, toMs: req.toMs }, new Date(req.nowMs)),
    scores: new Float64Array(0),
    path: 'aggregates',
    ...(aggregated.groupCounts === undefined ? {} : { groupCounts: aggregated.groupCounts }),
    ...(aggregated.samples === undefined || !attributions.has(req.key)
      ? {}
      : { rows: { kind: 'hourly_samples', n: aggregateCount(aggregated.aggregate), names, sample: windowSample(aggregated.samples, ATTRIBUTION_SAMPLE_ROWS, names.length) } }),
  };
}

/** A matured cohort, with its labelled predictions by groups, decision and label when it was read from its hourly aggregates. */
type CohortWithCounts = Cohort & { readonly groupCounts?: readonly CohortGroupCount[] };

/** Fairness counts an evaluation already holds from its aggregates (either may be missing: then a GROUP BY reads them). */
interface HeldGroupCounts {
  readonly window?: readonly WindowGroupCount[] | undefined;
  readonly cohort?: readonly CohortGroupCount[] | undefined;
}

/**
 * A cohort from its rows when its hourly aggregates count at most `exactCohortLabels` labels
 * (the exact metrics, on the exact range), else from the aggregates (aligned to hours; the
 * rank metrics within the score bins' stated error, docs/performance.md).
 */
function cohortOf(
  aggregated: AggregateCohort,
  layout: ReturnType<typeof cohortAggregateLayout>,
  range: { fromMs: number; toMs: number },
  exactCohortLabels: number,
  rows: () => CohortRows | Promise<CohortRows>,
): CohortWithCounts | Promise<CohortWithCounts> {
  if (aggregated.labelled > exactCohortLabels) {
    return { fromMs: aggregated.fromMs, toMs: aggregated.toMs, matured: aggregated.matured, layout, aggregate: aggregated.aggregate, groupCounts: aggregated.groupCounts };
  }
  const read = rows();
  return read instanceof Promise ? read.then((r) => ({ ...range, ...r })) : { ...range, ...read };
}

function sqliteSource(path: string, exactWindowRows: number, exactCohortLabels: number): EvaluationSource {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  /** The one writable connection of this process: it stores the window's hourly aggregates, nothing else. */
  const aggregatesDb = new Database(path, { fileMustExist: true });
  aggregatesDb.pragma('busy_timeout = 5000');
  const caches = new Map<string, WindowCache>();
  const buckets = new Map<string, SqliteWindowBuckets>();
  const cohorts = new CohortReader(db);
  const cohortBuckets = new Map<string, SqliteCohortBuckets>();
  const fairnessCounts = new FairnessCountReader(db);
  return {
    drift: (key, ctx, req) => {
      const { baseline } = ctx;
      let source = buckets.get(key);
      if (source === undefined) {
        source = new SqliteWindowBuckets(db, windowAggregateLayout(baseline, ctx.bands), aggregatesDb);
        buckets.set(key, source);
      }
      return windowDrift(ctx, req, source.layout, source.refresh(req.fromMs), exactWindowRows, {
        read: () => {
          let cache = caches.get(key);
          if (cache === undefined) {
            cache = new WindowCache(db, baseline.model, baseline.modelVersion, baseline.features.map((f) => f.name));
            caches.set(key, cache);
          }
          return cache.refresh(req.fromMs);
        },
        drop: () => caches.delete(key),
      });
    },
    cohort: (key, ctx, range) => {
      const { model, modelVersion } = ctx.baseline;
      let b = cohortBuckets.get(key);
      if (b === undefined) cohortBuckets.set(key, (b = new SqliteCohortBuckets(db, model, modelVersion, cohortAggregateLayout(ctx.performance.threshold), aggregatesDb)));
      return cohortOf(b.refresh(range.fromMs, range.toMs), b.layout, range, exactCohortLabels, () => cohorts.read(model, modelVersion, range.fromMs, range.toMs));
    },
    fairness: (ctx, fromMs, toMs, nowMs, held) => fairnessOf(ctx, fairnessCounts, fromMs, toMs, nowMs, held),
    forget: (key) => {
      caches.delete(key);
      buckets.delete(key);
      cohortBuckets.delete(key);
    },
    close: async () => {
      // The aggregates changed since their last store go in now: a restart folds only what comes after.
      for (const b of buckets.values()) b.flush();
      for (const b of cohortBuckets.values()) b.flush();
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

/**
 * Fairness by group of a model version: selection over the window, TPR/FPR over the matured
 * cohort, each from the counts its hourly buckets kept when `held` has them, else a GROUP BY
 * over its rows.
 */
function fairnessOf(ctx: ModelContext, counts: FairnessCounts, fromMs: number, toMs: number, nowMs: number, held: HeldGroupCounts): FairnessReport | undefined | Promise<FairnessReport | undefined> {
  const { fairness } = ctx;
  if (fairness === undefined) return undefined;
  const { model, modelVersion } = ctx.baseline;
  const range = ctx.performance === undefined ? undefined : cohortRange(ctx.performance, nowMs);
  const window = held.window ?? counts.windowCounts(model, modelVersion, fromMs, toMs);
  const cohort = range === undefined ? [] : held.cohort ?? counts.cohortCounts(model, modelVersion, range.fromMs, range.toMs);
  const build = (w: readonly WindowGroupCount[], c: readonly CohortGroupCount[]) => buildFairnessReport(fairness.spec, countGroups(fairness.spec, w, c), fairness.thresholds);
  return Array.isArray(window) && Array.isArray(cohort) ? build(window, cohort) : Promise.all([window, cohort]).then(([w, c]) => build(w, c));
}

/** PostgreSQL: the window from its rows or its hourly aggregates, both read by xid8. */
async function postgresSource(url: string, exactWindowRows: number, exactCohortLabels: number): Promise<EvaluationSource> {
  const caches = new Map<string, PgWindowCache>();
  const buckets = new Map<string, PgWindowBuckets>();
  const cohortBuckets = new Map<string, PgCohortBuckets>();
  // A lost connection fails the evaluations that use it; the next one reconnects (and
  // rebuilds the windows, whose cursors belonged to the old connection's reads; the stored
  // buckets are loaded again).
  let connection: Promise<pg.Client> | undefined;
  const connected = (): Promise<pg.Client> => {
    connection ??= (async () => {
      const c = new pg.Client(connectionConfig(url));
      c.on('error', () => {
        connection = undefined;
        caches.clear();
        buckets.clear();
        cohortBuckets.clear();
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
      let source = buckets.get(key);
      if (source === undefined) buckets.set(key, (source = new PgWindowBuckets(c, windowAggregateLayout(baseline, ctx.bands))));
      return windowDrift(ctx, req, source.layout, await source.refresh(req.fromMs, req.term), exactWindowRows, {
        read: () => {
          let cache = caches.get(key);
          if (cache === undefined) caches.set(key, (cache = new PgWindowCache(c, baseline.model, baseline.modelVersion, baseline.features.map((f) => f.name))));
          return cache.refresh(req.fromMs);
        },
        drop: () => caches.delete(key),
      });
    },
    cohort: async (key, ctx, range, term) => {
      const { model, modelVersion } = ctx.baseline;
      const c = await connected();
      let b = cohortBuckets.get(key);
      if (b === undefined) cohortBuckets.set(key, (b = new PgCohortBuckets(c, model, modelVersion, cohortAggregateLayout(ctx.performance.threshold))));
      return cohortOf(await b.refresh(range.fromMs, range.toMs, term), b.layout, range, exactCohortLabels, () => readPgCohort(c, model, modelVersion, range.fromMs, range.toMs));
    },
    fairness: (ctx, fromMs, toMs, nowMs, held) => fairnessOf(ctx, fairnessCounts, fromMs, toMs, nowMs, held),
    forget: (key) => {
      caches.delete(key);
      buckets.delete(key);
      cohortBuckets.delete(key);
    },
    close: async () => {
      await (await connection?.catch(() => undefined))?.end();
    },
  };
}

let source: EvaluationSource | undefined;

/** Per model version: its explainer and the attribution shares of its reference sample. */
const attributions = new Map<string, {
  explainer: ModelExplainer;
  names: string[];
  reference: { shares: Float64Array; rows: number };
  /** |SHAP| of the rows drawn at the last evaluation, by key (either path on SQLite). */
  known: Map<number, Float64Array>;
}>();

/** Loads the explainers of the tree models and explains (a sample of) their reference rows, once. */
async function prepareAttributions(init: EvaluationInit): Promise<void> {
  for (const [key, ctx] of Object.entries(init.models)) {
    try {
      await prepareAttribution(key, ctx);
    } catch {
      // No attribution drift for this version (its report says none); drift and performance are unaffected.
    }
  }
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
  attributions.set(key, { explainer, names, reference: { shares: shares(meanAbsoluteAttribution(explainer, rows.rows, rows.count)), rows: rows.count }, known: new Map() });
}

/** The rows at `indexes` of row-major float32 `rows`. */
function pick(rows: Float32Array, width: number, indexes: Int32Array): { rows: Float32Array; count: number } {
  const out = new Float32Array(indexes.length * width);
  indexes.forEach((r, i) => out.set(rows.subarray(r * width, (r + 1) * width), i * width));
  return { rows: out, count: indexes.length };
}

/**
 * Attribution drift of the window: at most ATTRIBUTION_SAMPLE_ROWS rows explained, the
 * window's rows with the lowest sample keys, or an even sample drawn from the samples its
 * hourly buckets keep (each row weighing the positions it stands for). A row drawn at the
 * previous evaluation keeps its attribution (a logged row never changes).
 */
function attributionOf(key: string, source: AttributionRows, minWindow: number): AttributionReport | undefined {
  const a = attributions.get(key);
  if (a === undefined) return undefined;
  const width = a.names.length;
  if (source.kind === 'rows') {
    const { window } = source;
    const columns = a.names.map((name) => window.columns.get(name)!);
    const keys = window.keys;
    if (keys === undefined || (window.n > 0 && Number.isNaN(keys[0]!))) {
      // A window read without its ids has no keys: an even sample, explained afresh each time.
      const indexes = evenSample(window.n, ATTRIBUTION_SAMPLE_ROWS);
      const rows = new Float32Array(indexes.length * width);
      columns.forEach((column, j) => indexes.forEach((r, i) => (rows[i * width + j] = column[r]!)));
      const windowShares = shares(meanAbsoluteAttribution(a.explainer, rows, indexes.length));
      return attributionReport(a.names, a.reference, { shares: windowShares, rows: window.n, explained: indexes.length, sampledFrom: 'rows' }, minWindow);
    }
    // The window's rows with the lowest keys (all of them when fewer): a uniform sample that
    // stays put between evaluations but for the rows that came or left, so the attributions
    // of the rows drawn last time are reused as on the aggregates path.
    const pick = new BucketSample(width, ATTRIBUTION_SAMPLE_ROWS);
    for (let r = 0; r < window.n; r++) pick.offer(keys[r]!, (j) => columns[j]![r]!);
    const drawn = pick.rows();
    const mean = meanAbsoluteAttributionByKey(a.explainer, { rows: drawn.values, count: pick.size, weights: new Float64Array(pick.size).fill(1), keys: drawn.keys }, a.known);
    a.known = mean.known;
    return attributionReport(a.names, a.reference, { shares: shares(mean.mean), rows: window.n, explained: pick.size, sampledFrom: 'rows' }, minWindow);
  }
  // The buckets' samples are in the layout's feature order: put each column where the explainer reads it.
  const { sample, names } = source;
  const from = a.names.map((name) => names.indexOf(name));
  const rows = new Float32Array(sample.count * width);
  for (let i = 0; i < sample.count; i++) for (let j = 0; j < width; j++) rows[i * width + j] = from[j]! < 0 ? Number.NaN : sample.rows[i * names.length + from[j]!]!;
  // A row drawn at the last evaluation too is not explained again (its attribution cannot have changed).
  const mean = meanAbsoluteAttributionByKey(a.explainer, { rows, count: sample.count, weights: sample.weights, keys: sample.keys }, a.known);
  a.known = mean.known;
  const windowShares = shares(mean.mean);
  return attributionReport(a.names, a.reference, { shares: windowShares, rows: source.n, explained: sample.count, sampledFrom: 'hourly_samples' }, minWindow);
}


/** The performance section: realized on the matured cohort, estimated on the window's scores; with the cohort's group counts when its aggregates had them. */
async function performanceOf(key: string, ctx: ModelContext & { performance: PerformanceContext }, scores: Float64Array, req: EvaluationRequest): Promise<{ report: PerformanceReport; cohortCounts: readonly CohortGroupCount[] | undefined }> {
  const cohort = await source!.cohort(key, ctx, cohortRange(ctx.performance, req.nowMs), req.term);
  return { report: buildPerformanceReport(ctx.performance, cohort, scores), cohortCounts: cohort.groupCounts };
}

async function evaluate(req: EvaluationRequest): Promise<void> {
  const started = process.hrtime.bigint();
  const seconds = () => Number(process.hrtime.bigint() - started) / 1e9;
  try {
    if (data === undefined || source === undefined) throw new Error('evaluation process not initialised');
    const ctx = data.models[req.key];
    if (ctx === undefined) throw new Error(`no baseline for ${req.key}`);
    const { baseline } = ctx;
    const { drift, scores, path, rows, groupCounts } = await source.drift(req.key, ctx, req);
    let performance: PerformanceReport | null = null;
    let performanceError: string | undefined;
    let cohortCounts: readonly CohortGroupCount[] | undefined;
    if (ctx.performance !== undefined) {
      try {
        ({ report: performance, cohortCounts } = await performanceOf(req.key, { ...ctx, performance: ctx.performance }, scores, req));
      } catch (err) {
        performanceError = (err as Error).message;
      }
    }
    let fairness: FairnessReport | undefined;
    let fairnessError: string | undefined;
    try {
      fairness = await source.fairness(ctx, req.fromMs, req.toMs, req.nowMs, { window: groupCounts, cohort: cohortCounts });
    } catch (err) {
      fairnessError = (err as Error).message;
    }
    // Attribution drift explains a sample of the window, on either path (docs/explanations.md).
    const attribution = rows === undefined ? undefined : attributionOf(req.key, rows, ctx.thresholds.minWindow);
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
        source = data.db.engine === 'sqlite' ? sqliteSource(data.db.path, data.exactWindowRows, data.exactCohortLabels) : await postgresSource(data.db.url, data.exactWindowRows, data.exactCohortLabels);
        send({ kind: 'ready' });
      } catch (err) {
        send({ kind: 'failed', id: -1, error: (err as Error).message, seconds: 0 });
        return;
      }
      // Explaining the reference samples takes seconds on a tree model (longer on a busy
      // host): after 'ready', so the service starts without waiting for it; the first
      // evaluations, queued behind it, get their attribution section.
      await prepareAttributions(data);
    })();
    return;
  }
  queue = queue.then(() => evaluate(msg));
});
// A Ctrl-C in a terminal (or a SIGTERM sent to the service's process group) reaches this
// process too: the service decides when it ends, by closing the channel after its last
// evaluation, so the signals are left to it.
process.on('SIGINT', () => undefined);
process.on('SIGTERM', () => undefined);
// The parent closes the channel (or dies): finish.
process.on('disconnect', () => {
  void queue.then(() => source?.close()).finally(() => process.exit(0));
});
