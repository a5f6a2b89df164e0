import express, { type Router } from 'express';
import type { Registry } from 'prom-client';

/** `GET /metrics`: the Prometheus exposition of the injected registry. */
export function metricsRoutes(registry: Registry): Router {
  const router = express.Router();
  router.get('/metrics', async (_req, res) => {
    const body = await registry.metrics();
    res.type(registry.contentType).send(body);
  });
  return router;
}
