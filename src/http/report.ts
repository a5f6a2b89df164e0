import express, { type Router } from 'express';
import { HttpError, quote } from '../errors.js';
import { modelKey, type DriftMonitor } from '../drift/monitor.js';
import type { ModelRegistry } from '../model/registry.js';
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
 * `GET /v1/models/{model}/report`: the drift report of the model's current window. The
 * last evaluation is answered; `?refresh=true` (or no evaluation yet) evaluates now, on the
 * evaluation thread.
 */
export function reportRoutes(deps: { registry: ModelRegistry; monitor: DriftMonitor; metrics: Metrics }): Router {
  const router = express.Router();
  router.get('/v1/models/:model/report', async (req, res) => {
    const name = req.params['model'];
    const model = deps.registry.get(name);
    if (model === undefined) {
      throw new HttpError(404, 'unknown_model', `no model named ${quote(name)}; loaded: ${deps.registry.list().map((m) => m.manifest.name).join(', ')}`, 'model');
    }
    const key = modelKey(model.manifest.name, model.manifest.version);
    const refresh = req.query['refresh'] === 'true' || req.query['refresh'] === '1';
    let report = refresh ? undefined : deps.monitor.lastReport(key);
    if (report === undefined) {
      try {
        report = await deps.monitor.evaluate(key);
      } catch (err) {
        throw new HttpError(503, 'evaluation_failed', (err as Error).message);
      }
    }
    const operational = { ...report.operational, since_start: await errorRatios(deps.metrics) };
    res.json({ ...report, operational });
  });
  return router;
}
