// The drift evaluation process: reads a window from the audit log (its own read-only
// SQLite connection) and evaluates it. It runs as a child process at a lower scheduling
// priority (nice 10), so that on a small machine neither the read nor the statistics of a
// large window take CPU from the event loop that serves /predict. It talks over the IPC
// channel: one `init` with the baselines, then one request per evaluation.
import Database from 'better-sqlite3';
import { buildPerformanceReport, cohortRange, type PerformanceContext, type PerformanceReport } from '../performance/report.js';
import { buildModelReport } from '../report/model-report.js';
import { CohortReader } from '../store/cohort.js';
import { WindowCache } from '../store/window.js';
import { diagnose } from './diagnosis.js';
import type { EvaluationInit, EvaluationReply, EvaluationRequest } from './evaluation-protocol.js';
import { buildReport } from './report.js';

const send = (reply: EvaluationReply) => process.send!(reply);
let data: EvaluationInit | undefined;
let db: Database.Database | undefined;
const caches = new Map<string, WindowCache>();
let cohorts: CohortReader | undefined;

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
    let cache = caches.get(req.key);
    if (cache === undefined) {
      cache = new WindowCache(db, baseline.model, baseline.modelVersion, baseline.features.map((f) => f.name));
      caches.set(req.key, cache);
    }
    const window = cache.refresh(req.fromMs);
    const drift = buildReport(ctx, window, { fromMs: req.fromMs, toMs: req.toMs }, new Date(req.nowMs), diagnose);
    let performance: PerformanceReport | null = null;
    let performanceError: string | undefined;
    if (ctx.performance !== undefined) {
      try {
        performance = performanceOf(ctx.performance, baseline.model, baseline.modelVersion, window.scores, req.nowMs);
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
  process.exit(0);
});
