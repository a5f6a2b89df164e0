import express, { type Router } from 'express';
import { HttpError, quote } from '../errors.js';
import { modelKey } from '../drift/monitor.js';
import type { ModelRegistry } from '../model/registry.js';
import type { ModelReport } from '../report/model-report.js';
import type { ServedReport } from '../report/limits.js';
import type { Metrics } from '../telemetry/metrics.js';

const PREDICT_ROUTES = new Set(['/predict', '/v1/models/:model/predict']);

/** 4xx and 5xx shares of the predict requests since the process started. */
async function errorRatios(metrics: Metrics): Promise<{ requests: number; ratio_4xx: number | null; ratio_5xx: number | null }> {
  const byClass: Record<string, number> = {};
  for (const v of (await metrics.httpRequests.get()).values) {
    if (!PREDICT_ROUTES.has(String(v.labels['route']))) continue;
    const c = String(v.labels['status_class']);
    byClass[c] = (byClass[c] ?? 0) + v.value;
  }
  const total = Object.values(byClass).reduce((a, b) => a + b, 0);
  return { requests: total, ratio_4xx: total === 0 ? null : (byClass['4xx'] ?? 0) / total, ratio_5xx: total === 0 ? null : (byClass['5xx'] ?? 0) / total };
}

/**
 * Where reports come from: the process's own drift monitor (one process on SQLite), or the
 * fleet's stored reports (`FleetEvaluator`, on PostgreSQL).
 */
export interface ReportSource {
  /** How often the reports are evaluated, ms (0: on demand only); the status page reloads as often. */
  readonly intervalMs: number;
  lastReport(key: string): ModelReport | undefined | Promise<ModelReport | undefined>;
  evaluate(key: string): Promise<ModelReport>;
}

export interface ReportDeps {
  readonly registry: ModelRegistry;
  readonly monitor: ReportSource;
  readonly metrics: Metrics;
}

/**
 * The report of a model as the service serves it: the last evaluation (or a new one when
 * `refresh` is set or none was made yet, on the evaluation process), with the error ratios
 * since start. Throws 404 for an unknown model, 503 when the evaluation fails.
 */
export async function servedReport(deps: ReportDeps, name: string | undefined, refresh: boolean): Promise<ServedReport> {
  const model = name === undefined ? undefined : deps.registry.get(name);
  if (model === undefined) {
    throw new HttpError(404, 'unknown_model', `no model named ${quote(name)}; loaded: ${deps.registry.list().map((m) => m.manifest.name).join(', ')}`, 'model');
  }
  const key = modelKey(model.manifest.name, model.manifest.version);
  let report: ModelReport | undefined;
  try {
    report = refresh ? undefined : await deps.monitor.lastReport(key);
  } catch (err) {
    throw new HttpError(503, 'report_store_unavailable', `the stored report could not be read: ${(err as Error).message}`);
  }
  if (report === undefined) {
    try {
      report = await deps.monitor.evaluate(key);
    } catch (err) {
      const e = err as Error;
      throw new HttpError(503, e.name === 'NoFleetReportError' ? 'no_fleet_report' : 'evaluation_failed', e.message);
    }
  }
  return { ...report, operational: { ...report.operational, since_start: await errorRatios(deps.metrics) } };
}

/** `?refresh=true` (or 1): evaluate now instead of answering the last evaluation. */
export const wantsRefresh = (q: unknown): boolean => q === 'true' || q === '1';

/**
 * `GET /v1/models/{model}/report`: the drift and performance report of the model's current
 * window. The last evaluation is answered; `?refresh=true` (or no evaluation yet) evaluates
 * now, on the evaluation process.
 */
export function reportRoutes(deps: ReportDeps): Router {
  const router = express.Router();
  router.get('/v1/models/:model/report', async (req, res) => {
    res.json(await servedReport(deps, req.params['model'], wantsRefresh(req.query['refresh'])));
  });
  return router;
}
