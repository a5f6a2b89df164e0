import express, { type Router } from 'express';
import type { Registry } from 'prom-client';
import type { Metrics } from '../telemetry/metrics.js';

/**
 * `GET /metrics`: the Prometheus exposition of the injected registry, then the
 * OpenTelemetry HTTP server metrics in the same text format: one scrape for both.
 */
export function metricsRoutes(registry: Registry, otel: Metrics['otel']): Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    const [ours, theirs] = await Promise.all([registry.metrics(), otel.exposition()]);
    res.type(registry.contentType).send(`${ours.trimEnd()}\n${theirs}`);
  });
  return router;
}
