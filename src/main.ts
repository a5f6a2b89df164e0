import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { loadModels, type ModelRegistry } from './model/registry.js';
import { PredictionService } from './predict/service.js';
import { SqliteAuditLog, type AuditLog } from './store/audit-log.js';
import { openStore, type Store } from './store/open-store.js';
import { urlWithPassword } from './store/postgres.js';
import { FleetEvaluator } from './fleet/fleet-evaluator.js';
import type { ReportSource } from './http/report.js';
import type { Logger } from './telemetry/logger.js';
import { auditCommitRecorder, collectProcessMetrics, createMetrics } from './telemetry/metrics.js';
import { startTracing } from './telemetry/tracing.js';
import { DriftMonitor } from './drift/monitor.js';
import { buildModelContext } from './report/model-context.js';
import { publishModelReport, publishThresholds } from './telemetry/performance-metrics.js';
import { Admission } from './ingest/admission.js';
import { PairExpiry } from './ingest/pair-expiry.js';

export interface RunningService {
  readonly url: string;
  readonly port: number;
  readonly registry: ModelRegistry;
  /** Where the audit log is (a file, or the PostgreSQL URL without its password). */
  readonly store: string;
  /** Stops accepting, drains in-flight requests, flushes the log, closes everything. */
  close(): Promise<void>;
}

const VERSION = '0.1.0';

/** Replacements for the benchmark's comparison runs (e.g. the audit log switched off). */
export interface ServiceOverrides {
  readonly audit?: AuditLog;
}

/**
 * The composition root: config → tracing → metrics → models → store (SQLite file, or
 * PostgreSQL for a fleet) → baselines → drift monitor (and, in a fleet, the leader election
 * and the stored reports) → app → listen. `close()` undoes it in reverse order.
 */
export async function startService(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const tracing = startTracing({ exporter: config.tracesExporter, serviceName: 'vigia', serviceVersion: VERSION });
  const metricsRegistry = new Registry();
  const metrics = createMetrics(metricsRegistry);
  collectProcessMetrics(metricsRegistry);

  let registry: ModelRegistry;
  try {
    registry = await loadModels(config.modelsDir, config.defaultModel);
  } catch (err) {
    metrics.modelLoadFailures.inc();
    await tracing.shutdown();
    throw err;
  }
  let store: Store;
  let db = config.db;
  try {
    if (db.engine === 'postgres') db = { engine: 'postgres', url: urlWithPassword(db.url, config.dbPasswordFile) };
    store = await openStore({
      db, synchronous: config.dbSynchronous, poolSize: config.dbPoolSize, onCommit: auditCommitRecorder(metrics),
      onIdleError: (err) => logger.warn('an idle PostgreSQL connection failed', { error: err.message }),
      ...(overrides.audit === undefined ? {} : { audit: overrides.audit }),
    });
  } catch (err) {
    await registry.close();
    await tracing.shutdown();
    throw err;
  }
  const { audit } = store;
  for (const m of registry.list()) {
    metrics.modelInfo.set(
      { model: m.manifest.name, version: m.manifest.version, features: String(m.manifest.features.length), threshold: String(m.manifest.threshold), default: String(m.manifest.name === registry.defaultModel) },
      1,
    );
  }

  let monitor: DriftMonitor;
  let fleet: FleetEvaluator | undefined;
  const pool = store.pool;
  try {
    const now = new Date();
    const contexts = await Promise.all(
      registry.list().map((m) =>
        buildModelContext(m, {
          quantiles: config.binQuantiles, topK: config.topK, now, minWindow: config.minWindow, ksMinStatistic: config.ksMinStatistic,
          ...(config.labelDelayMs === undefined ? {} : { labelDelayMs: config.labelDelayMs }),
        })),
    );
    for (const c of contexts) {
      publishThresholds(metrics, { model: c.baseline.model, version: c.baseline.modelVersion }, { drift: c.thresholds, performance: c.performance.thresholds, business: c.business });
    }
    monitor = await DriftMonitor.start({
      db,
      models: contexts,
      windowMs: config.windowMs,
      // In a fleet the evaluator's timer runs only on the elected replica (FleetEvaluator).
      intervalMs: pool === undefined ? config.evalIntervalMs : 0,
      onEvaluated: (key, outcome) => {
        if ('report' in outcome) {
          // In a fleet the gauges follow the stored reports instead, the same on every replica.
          if (pool !== undefined) return;
          const r = outcome.report;
          publishModelReport(metrics, r, outcome.seconds);
          if (r.performance_error !== undefined) logger.warn('performance evaluation failed', { model: key, error: r.performance_error });
        } else {
          const [model, version] = key.split('@');
          metrics.driftEvaluationFailures.inc({ model: model ?? key, version: version ?? '' });
          logger.warn('drift evaluation failed', { model: key, error: outcome.error });
        }
      },
    });
    metrics.fleetEvaluator.set(pool === undefined ? 1 : 0);
    metrics.fleetEvaluatorTerm.set(0);
    if (pool !== undefined && db.engine === 'postgres') {
      fleet = FleetEvaluator.start({
        monitor, pool, url: db.url, replica: config.replicaId, intervalMs: config.evalIntervalMs, pollMs: config.leaderPollMs,
        onStored: (_key, stored) => publishModelReport(metrics, stored.report, stored.seconds),
        onLeaderChange: (change) => {
          metrics.fleetEvaluator.set(change.leader ? 1 : 0);
          metrics.fleetEvaluatorTerm.set(change.leader ? change.term : 0);
          if (change.leader) logger.info('this replica is now the fleet evaluator', { replica: config.replicaId, term: change.term });
          else logger.warn('this replica stopped being the fleet evaluator', { replica: config.replicaId, reason: change.reason });
        },
        onFailure: (key, error) => logger.warn('fleet evaluation failed', { model: key, error }),
      });
    }
  } catch (err) {
    await store.close();
    await registry.close();
    await tracing.shutdown();
    throw err;
  }
  const reports: ReportSource = fleet ?? monitor;
  if (fleet === undefined) void monitor.evaluateAll();

  const admission = new Admission(config.ingestQueueRows, (rows) => metrics.ingestQueueRows.set(rows));
  const ingestStore = store.labels instanceof SqliteAuditLog ? store.labels : undefined;
  const expiry = ingestStore !== undefined
    ? new PairExpiry({
        store: ingestStore,
        timeoutMs: config.ingestPairTimeoutMs,
        intervalMs: Math.min(60_000, Math.max(1000, config.ingestPairTimeoutMs / 5)),
        onSwept: ({ expired, waiting }) => {
          if (expired > 0) {
            metrics.ingestUnpaired.inc(expired);
            logger.warn('KServe CloudEvent halves unpaired', { expired, timeout_ms: config.ingestPairTimeoutMs });
          }
          metrics.ingestWaitingHalves.set(waiting);
        },
        onError: (err) => logger.warn('the unpaired-halves sweep failed', { error: err.message }),
      })
    : undefined;
  void expiry?.sweep();

  let draining = false;
  const service = new PredictionService({ audit, metrics, tracer: tracing.tracer });
  const app = createApp({
    registry,
    service,
    metrics,
    metricsRegistry,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    maxBatch: config.maxBatch,
    eventTime: { accept: config.acceptEventTime, maxAgeMs: config.maxEventAgeMs },
    monitor: reports,
    labels: store.labels,
    // The ingest of predictions made elsewhere is on SQLite only for now (not yet on PostgreSQL).
    ...(ingestStore === undefined ? {} : { ingest: { store: ingestStore, admission, maxEventAgeMs: config.maxEventAgeMs } }),
    readiness: {
      models: () => (registry.list().length > 0 ? undefined : 'no model loaded'),
      ...store.checks,
      draining: () => (draining ? 'shutting down' : undefined),
    },
  });

  const server: Server = createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(config.port, config.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const host = config.host === '0.0.0.0' || config.host === '::' ? '127.0.0.1' : config.host;

  let closing: Promise<void> | undefined;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      draining = true;
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      // Keep-alive connections turn idle as their last response ends: close them as they do.
      server.closeIdleConnections();
      const sweep = setInterval(() => server.closeIdleConnections(), 50);
      const timer = setTimeout(() => server.closeAllConnections(), config.shutdownTimeoutMs);
      await closed;
      clearInterval(sweep);
      clearTimeout(timer);
      await expiry?.close();
      await fleet?.close();
      await monitor.close();
      await store.close();
      await registry.close();
      await tracing.shutdown();
    })();
    return closing;
  };

  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, registry, store: store.describe, close };
}
