import type { IncomingMessage, ServerResponse } from 'node:http';
import express from 'express';
import type { Registry } from 'prom-client';
import { docsRoutes } from './http/docs.js';
import { bearerAuth, type AuthTokens } from './http/auth.js';
import { errorHandler, notFound } from './http/errors.js';
import { healthRoutes, type ReadinessCheck } from './http/health.js';
import { instrumentRequests } from './http/instrument.js';
import { metricsRoutes } from './http/metrics.js';
import { modelRoutes } from './http/models.js';
import { predictRoutes, type EventTimePolicy } from './http/predict.js';
import { reportRoutes } from './http/report.js';
import { statusRoutes } from './http/status.js';
import { labelRoutes } from './http/labels.js';
import { predictionRoutes } from './http/predictions.js';
import type { PredictionLookup } from './store/prediction-lookup.js';
import { cloudEventRoutes } from './http/cloudevents.js';
import { observationRoutes } from './http/observations.js';
import type { Admission } from './ingest/admission.js';
import type { LabelStore, ObservationStore } from './store/audit-log.js';
import type { ReportSource } from './http/report.js';
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
  /** Serves `GET /v1/models/{model}/report` and the status page when given (the drift monitor, or the fleet's stored reports). */
  readonly monitor?: ReportSource;
  /** Serves `POST /v1/labels` when given. */
  readonly labels?: LabelStore;
  /** Serves `GET /v1/predictions/{id}` when given. */
  readonly predictions?: PredictionLookup;
  /** Scores copies of requests with a model's shadow version, after the answer. */
  readonly shadow?: ShadowScorer;
  /** Serves the Markdown files of this folder (the project's docs/) as HTML at `/docs/<name>` when given. */
  readonly docsDir?: string;
  /** Serves the ingest of predictions made elsewhere (observations, KServe CloudEvents) when given. */
  readonly ingest?: IngestDeps;
  /** Bearer tokens the write routes require, each optional (VIGIA_PREDICT_TOKEN, VIGIA_LABELS_TOKEN). */
  readonly tokens?: AuthTokens;
}

export interface IngestDeps {
  readonly store: ObservationStore;
  /** The bounded queue in front of the writer (VIGIA_INGEST_QUEUE_ROWS). */
  readonly admission: Admission;
  /** Oldest accepted `event_time` of an observation, ms before now (VIGIA_MAX_EVENT_AGE). */
  readonly maxEventAgeMs: number;
}

/** The HTTP application as a node:http request listener (what `createServer` and supertest take). */
export type App = (req: IncomingMessage, res: ServerResponse) => void;

/**
 * Builds the HTTP application; never listens. The predict routes are served first on
 * node:http (the hot path); everything else is Express: models, labels, ingest, report, status page, docs, health, metrics, 404,
 * and the one error handler.
 */
export function createApp(deps: AppDeps): App {
  const predictToken = deps.tokens?.predict;
  const labelsToken = deps.tokens?.labels;
  const predict = predictRoutes({ ...deps, ...(predictToken === undefined ? {} : { auth: bearerAuth(predictToken, 'VIGIA_PREDICT_TOKEN') }) });
  const app = express();
  app.disable('x-powered-by');
  app.set('etag', false);
  app.use(instrumentRequests(deps.metrics));
  // No answer is to be sniffed into another type (an error echoing input as HTML, say).
  app.use((_req, res, next) => {
    res.setHeader('X-Content-Type-Options', 'nosniff');
    next();
  });
  app.use(modelRoutes(deps.registry));
  // The admin API is closed (403) unless VIGIA_ADMIN_TOKEN is set, unlike the optional predict and labels tokens.
  app.use(adminRoutes({ registry: deps.registry, metrics: deps.metrics, logger: deps.logger, token: deps.tokens?.admin, ...(deps.shadow === undefined ? {} : { shadow: deps.shadow }) }));
  app.use(inferenceProtocolRoutes({ ...deps, adminToken: deps.tokens?.admin, ...(predictToken === undefined ? {} : { auth: bearerAuth(predictToken, 'VIGIA_PREDICT_TOKEN') }) }));
  if (deps.labels !== undefined) {
    app.use(labelRoutes({
      store: deps.labels, metrics: deps.metrics, bodyLimitBytes: Math.max(deps.bodyLimitBytes, 8 * 1024 * 1024),
      ...(labelsToken === undefined ? {} : { auth: bearerAuth(labelsToken, 'VIGIA_LABELS_TOKEN') }),
    }));
  }
  if (deps.predictions !== undefined) app.use(predictionRoutes(deps.predictions));
  if (deps.ingest !== undefined) {
    const ingest = { registry: deps.registry, metrics: deps.metrics, bodyLimitBytes: Math.max(deps.bodyLimitBytes, 8 * 1024 * 1024), ...deps.ingest };
    app.use(observationRoutes({ ...ingest, maxBatch: deps.maxBatch }));
    app.use(cloudEventRoutes(ingest));
  }
  if (deps.monitor !== undefined) {
    app.use(reportRoutes({ registry: deps.registry, monitor: deps.monitor, metrics: deps.metrics }));
    app.use(statusRoutes({ registry: deps.registry, monitor: deps.monitor, metrics: deps.metrics }));
  }
  if (deps.docsDir !== undefined) app.use(docsRoutes(deps.docsDir));
  app.use(healthRoutes(deps.readiness));
  app.use(metricsRoutes(deps.metricsRegistry, deps.metrics.otel));
  app.use(notFound);
  app.use(errorHandler(deps.metrics, deps.logger));
  return (req, res) => {
    if (!predict(req, res)) app(req, res);
  };
}
