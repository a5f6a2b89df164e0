import express, { type Express } from 'express';
import type { Registry } from 'prom-client';
import { errorHandler, notFound } from './http/errors.js';
import { healthRoutes, type ReadinessCheck } from './http/health.js';
import { instrumentRequests } from './http/instrument.js';
import { metricsRoutes } from './http/metrics.js';
import { modelRoutes } from './http/models.js';
import { predictRoutes } from './http/predict.js';
import type { ModelRegistry } from './model/registry.js';
import type { PredictionService } from './predict/service.js';
import type { Logger } from './telemetry/logger.js';
import type { Metrics } from './telemetry/metrics.js';

export interface AppDeps {
  readonly registry: ModelRegistry;
  readonly service: PredictionService;
  readonly metrics: Metrics;
  readonly metricsRegistry: Registry;
  readonly logger: Logger;
  readonly readiness: Readonly<Record<string, ReadinessCheck>>;
  readonly bodyLimitBytes: number;
  readonly maxBatch: number;
}

/** Builds the HTTP application: routes and the one error handler. Never listens. */
export function createApp(deps: AppDeps): Express {
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(instrumentRequests(deps.metrics));
  app.use(predictRoutes(deps));
  app.use(modelRoutes(deps.registry));
  app.use(healthRoutes(deps.readiness));
  app.use(metricsRoutes(deps.metricsRegistry));
  app.use(notFound);
  app.use(errorHandler(deps.metrics, deps.logger));
  return app;
}
