import express, { type Router } from 'express';
import { HttpError } from '../errors.js';
import { DEFAULT_PERFORMANCE_THRESHOLDS } from '../performance/thresholds.js';
import type { ReportLimits } from '../report/limits.js';
import { readReport } from '../report/reading.js';
import { renderStatusPage, STATUS_PAGE_CSP } from '../report/status-page.js';
import { servedReport, wantsRefresh, type ReportDeps } from './report.js';

/**
 * How often an open status page reloads itself: as often as the monitor evaluates
 * (VIGIA_EVAL_INTERVAL), so a new verdict shows within one interval, between 5 s and 60 s;
 * 30 s when evaluations are on demand only.
 */
export function refreshSeconds(evalIntervalMs: number): number {
  return evalIntervalMs <= 0 ? 30 : Math.min(60, Math.max(5, Math.round(evalIntervalMs / 1000)));
}

/**
 * `GET /` and `GET /status`: the status page of a model (`?model=`, default the default
 * model), rendered from the same report as `GET /v1/models/{model}/report`: the last
 * evaluation, or a new one with `?refresh=true`. The page is built on the event loop from
 * the report in memory (no statistic is computed here).
 */
export function statusRoutes(deps: ReportDeps): Router {
  const router = express.Router();
  router.get(['/', '/status'], async (req, res) => {
    const asked = req.query['model'];
    if (asked !== undefined && typeof asked !== 'string') throw new HttpError(400, 'invalid_query', 'give ?model= once, as a model name', 'model');
    const name = asked ?? deps.registry.defaultModel;
    const report = await servedReport(deps, name, wantsRefresh(req.query['refresh']));
    const model = deps.registry.get(report.model)!;
    // The thresholds the report's verdicts were judged against (service settings included).
    const limits: ReportLimits = {
      drift: report.thresholds!.drift,
      performance: report.thresholds!.performance ?? DEFAULT_PERFORMANCE_THRESHOLDS,
      decisionThreshold: model.manifest.threshold,
      bands: model.manifest.bands,
    };
    const html = renderStatusPage(readReport(report, limits), {
      models: deps.registry.list().map((m) => ({ name: m.manifest.name, selected: m.manifest.name === report.model })),
      refreshSeconds: refreshSeconds(deps.monitor.intervalMs),
      versions: deps.registry.statuses().filter((s) => s.model === report.model),
    });
    res.set({ 'cache-control': 'no-store', 'content-security-policy': STATUS_PAGE_CSP, 'x-frame-options': 'DENY' });
    res.type('html').send(html);
  });
  return router;
}
