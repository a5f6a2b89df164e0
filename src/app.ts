import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import { errorHandler, notFound } from './http/errors.js';
import { healthRoutes, type ReadinessCheck } from './http/health.js';
import { instrumentRequests } from './http/instrument.js';
import { metricsRoutes } from './http/metrics.js';
import { modelRoutes } from './http/models.js';
import { predictRoutes, type EventTimePolicy } from './http/predict.js';
import { reportRoutes } from './http/report.js';
import { statusRoutes } from './http/status.js';
import { labelRoutes } from './http/labels.js';
import type { LabelStore } from './store/audit-log.js';
import type { DriftMonitor } from './drift/monitor.js';
import type { ModelRegistry } from './model/registry.js';
import type { PredictionService } from './predict/service.js';
import type { ShadowScorer } from './predict/shadow.js';
import { adminRoutes } from './http/admin.js';
import { inferenceProtocolRoutes } from './http/inference-protocol.js';
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
  /** Client-supplied event times on predict requests (off unless given). */
  readonly eventTime?: EventTimePolicy;
  /** Serves `GET /v1/models/{model}/report` when given. */
  readonly monitor?: DriftMonitor;
  /** Serves `POST /v1/labels` when given. */
  readonly labels?: LabelStore;
  /** Scores copies of requests with a model's shadow version, after the answer. */
  readonly shadow?: ShadowScorer;
  /** The admin API's bearer token; undefined keeps the admin API closed (403). */
  readonly adminToken?: string | undefined;
}

/** The HTTP application as a node:http request listener (what `createServer` and supertest take). */
export type App = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Builds the HTTP application; never listens. The predict routes are served first on
 * node:http (the hot path); everything else is Express: models, labels, report, status page, health, metrics, 404,
 * and the one error handler.
 */
export function createApp(deps: AppDeps): App {
  const predict = predictRoutes(deps);
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(instrumentRequests(deps.metrics));
  app.use(modelRoutes(deps.registry));
  app.use(adminRoutes({ registry: deps.registry, metrics: deps.metrics, logger: deps.logger, token: deps.adminToken, ...(deps.shadow === undefined ? {} : { shadow: deps.shadow }) }));
  app.use(inferenceProtocolRoutes({ ...deps, adminToken: deps.adminToken }));
  if (deps.labels !== undefined) app.use(labelRoutes({ store: deps.labels, metrics: deps.metrics, bodyLimitBytes: Math.max(deps.bodyLimitBytes, 8 * 1024 * 1024) }));
  if (deps.monitor !== undefined) {
    app.use(reportRoutes({ registry: deps.registry, monitor: deps.monitor, metrics: deps.metrics }));
    app.use(statusRoutes({ registry: deps.registry, monitor: deps.monitor, metrics: deps.metrics }));
  }
  app.use(healthRoutes(deps.readiness));
  app.use(metricsRoutes(deps.metricsRegistry));
  app.use(notFound);
  app.use(errorHandler(deps.metrics, deps.logger));
  return (req, res) => {
    if (!predict(req, res)) app(req, res);
  };
}
