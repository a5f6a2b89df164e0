// The drift evaluation process: reads a window from the audit log (its own read-only
// SQLite connection, or its own PostgreSQL connection) and evaluates it. It runs as a child process at a lower scheduling
// priority (nice 10), so that on a small machine neither the read nor the statistics of a
// large window take CPU from the event loop that serves /predict. It talks over the IPC
// channel: one `init` with the baselines, then one request per evaluation.
import Database from 'better-sqlite3';
import pg from 'pg';
import { buildPerformanceReport, cohortRange, type PerformanceContext, type PerformanceReport } from '../performance/report.js';
import { buildModelReport } from '../report/model-report.js';
import { CohortReader, type CohortRows } from '../store/cohort.js';
import { PgWindowCache, readPgCohort } from '../store/pg-window.js';
import { connectionConfig } from '../store/postgres.js';
import { WindowCache, type WindowRows } from '../store/window.js';
import { diagnose } from './diagnosis.js';
import type { EvaluationInit, EvaluationReply, EvaluationRequest } from './evaluation-protocol.js';
import { buildReport } from './report.js';

const send = (reply: EvaluationReply) => process.send!(reply);
let data: EvaluationInit | undefined;

/** What the evaluation reads from the audit log, on either engine. */
interface EvaluationSource {
  /** The window of a model version (kept between evaluations, refreshed incrementally). */
  window(key: string, model: string, version: string, features: readonly string[], fromMs: number): WindowRows | Promise<WindowRows>;
  cohort(model: string, version: string, fromMs: number, toMs: number): CohortRows | Promise<CohortRows>;
  close(): Promise<void>;
}

function sqliteSource(path: string): EvaluationSource {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  db.pragma('busy_timeout = 5000');
  const caches = new Map<string, WindowCache>();
  const cohorts = new CohortReader(db);
  return {
    window: (key, model, version, features, fromMs) => {
      let cache = caches.get(key);
      if (cache === undefined) caches.set(key, (cache = new WindowCache(db, model, version, features)));
      return cache.refresh(fromMs);
    },
    cohort: (model, version, fromMs, toMs) => cohorts.read(model, version, fromMs, toMs),
    close: async () => {
      db.close();
    },
  };
}

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
  return {
    window: async (key, model, version, features, fromMs) => {
      const c = await connected();
      let cache = caches.get(key);
      if (cache === undefined) caches.set(key, (cache = new PgWindowCache(c, model, version, features)));
      return cache.refresh(fromMs);
    },
    cohort: async (model, version, fromMs, toMs) => readPgCohort(await connected(), model, version, fromMs, toMs),
    close: async () => {
      await (await connection?.catch(() => undefined))?.end();
    },
  };
}

let source: EvaluationSource | undefined;

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
    const window = await source.window(req.key, baseline.model, baseline.modelVersion, baseline.features.map((f) => f.name), req.fromMs);
    const drift = buildReport(ctx, window, { fromMs: req.fromMs, toMs: req.toMs }, new Date(req.nowMs), diagnose);
    let performance: PerformanceReport | null = null;
    let performanceError: string | undefined;
    if (ctx.performance !== undefined) {
      try {
        performance = await performanceOf(ctx.performance, baseline.model, baseline.modelVersion, window.scores, req.nowMs);
      } catch (err) {
        performanceError = (err as Error).message;
      }
    }
    const report = buildModelReport(drift, performance, { drift: ctx.thresholds, performance: ctx.performance?.thresholds ?? null }, performanceError);
    send({ kind: 'report', id: req.id, report, seconds: seconds(), peakRssBytes: process.resourceUsage().maxRSS * 1024 });
  } catch (err) {
    send({ kind: 'failed', id: req.id, error: (err as Error).message, seconds: seconds() });
  }
}

// Evaluations run one after the other: they share one connection (and a PostgreSQL read is
// a transaction that must not interleave with another).
let queue: Promise<void> = Promise.resolve();

process.on('message', (msg: { kind: 'init'; data: EvaluationInit } | ({ kind: 'evaluate' } & EvaluationRequest)) => {
  if (msg.kind === 'init') {
    queue = (async () => {
      try {
        data = msg.data;
        source = data.db.engine === 'sqlite' ? sqliteSource(data.db.path) : await postgresSource(data.db.url);
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
