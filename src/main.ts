import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createApp } from './app.js';
import { VERSION } from './version.js';
import type { Config } from './config.js';
import { loadModels, type ModelRegistry, type RegistryHooks } from './model/registry.js';
import { ShadowScorer } from './predict/shadow.js';
import { publishVersions } from './telemetry/version-metrics.js';
import { PredictionService } from './predict/service.js';
import { SqliteAuditLog, type AuditLog } from './store/audit-log.js';
import { openDatabase } from './store/database.js';
import type { Logger } from './telemetry/logger.js';
import { auditCommitRecorder, collectProcessMetrics, createMetrics } from './telemetry/metrics.js';
import { startTracing } from './telemetry/tracing.js';
import { DriftMonitor, modelKey } from './drift/monitor.js';
import type { ModelContextWithBusiness } from './report/model-context.js';
import { buildModelContextOffThread } from './report/model-context-thread.js';
import { publishModelReport, publishThresholds } from './telemetry/performance-metrics.js';

export interface RunningService {
  readonly url: string;
  readonly port: number;
  readonly registry: ModelRegistry;
  /** Stops accepting, drains in-flight requests, flushes the log, closes everything. */
  close(): Promise<void>;
}


/** Replacements for the benchmark's comparison runs (e.g. the audit log switched off). */
export interface ServiceOverrides {
  readonly audit?: AuditLog;
}

/**
 * The composition root: config → tracing → metrics → models → database → audit log →
 * baselines → drift monitor → app → listen. `close()` undoes it in reverse order.
 */
export async function startService(config: Config, logger: Logger, overrides: ServiceOverrides = {}): Promise<RunningService> {
  const tracing = startTracing({ exporter: config.tracesExporter, serviceName: 'vigia', serviceVersion: VERSION });
  const metricsRegistry = new Registry();
  const metrics = createMetrics(metricsRegistry);
  collectProcessMetrics(metricsRegistry);

  // Each version's baseline is built as it loads (at start, or live on an admin load) and
  // handed to the monitor once it runs; a version whose baseline fails is a failed version.
  const contexts: ModelContextWithBusiness[] = [];
  let monitor: DriftMonitor | undefined;
  const contextOptions = () => ({
    quantiles: config.binQuantiles, topK: config.topK, now: new Date(), minWindow: config.minWindow, ksMinStatistic: config.ksMinStatistic,
    ...(config.labelDelayMs === undefined ? {} : { labelDelayMs: config.labelDelayMs }),
  });
  const hooks: RegistryHooks = {
    prepare: async (m) => {
      // On a worker thread: a live load must not stall the requests being served.
      const c = await buildModelContextOffThread(m.dir, contextOptions());
      publishThresholds(metrics, { model: c.baseline.model, version: c.baseline.modelVersion }, { drift: c.thresholds, performance: c.performance.thresholds, business: c.business });
      if (monitor === undefined) contexts.push(c);
      else {
        monitor.add(c);
        void monitor.evaluate(modelKey(c.baseline.model, c.baseline.modelVersion)).catch(() => undefined);
      }
    },
    changed: (r) => publishVersions(metrics, r),
    loadFailed: (_r, model, version, reason) => {
      metrics.modelLoadFailures.inc();
      logger.error('model version failed to load; the others keep serving', { model, version, reason });
    },
  };
  let registry: ModelRegistry;
  try {
    registry = await loadModels(config.modelsDir, config.defaultModel, hooks);
  } catch (err) {
    metrics.modelLoadFailures.inc();
    await tracing.shutdown();
    throw err;
  }
  let db;
  try {
    db = openDatabase({ path: config.dbPath, synchronous: config.dbSynchronous });
  } catch (err) {
    await registry.close();
    await tracing.shutdown();
    throw err;
  }
  let audit: AuditLog;
  try {
    audit = overrides.audit ?? (await SqliteAuditLog.open({ path: config.dbPath, synchronous: config.dbSynchronous, onCommit: auditCommitRecorder(metrics) }));
  } catch (err) {
    db.close();
    await registry.close();
    await tracing.shutdown();
    throw err;
  }
  publishVersions(metrics, registry);

  try {
    monitor = await DriftMonitor.start({
      dbPath: config.dbPath,
      models: contexts,
      windowMs: config.windowMs,
      intervalMs: config.evalIntervalMs,
      onEvaluated: (key, outcome) => {
        if ('report' in outcome) {
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
  } catch (err) {
    await audit.close();
    db.close();
    await registry.close();
    await tracing.shutdown();
    throw err;
  }
  void monitor.evaluateAll();

  let draining = false;
  const service = new PredictionService({ audit, metrics, tracer: tracing.tracer });
  const shadow = new ShadowScorer({ audit, metrics, logger, release: (v) => registry.release(v) });
  const app = createApp({
    registry,
    service,
    shadow,
    adminToken: config.adminToken,
    metrics,
    metricsRegistry,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    maxBatch: config.maxBatch,
    eventTime: { accept: config.acceptEventTime, maxAgeMs: config.maxEventAgeMs },
    monitor,
    ...(audit instanceof SqliteAuditLog ? { labels: audit } : {}),
    readiness: {
      models: () => (registry.defaultReady ? undefined : `the default model ${registry.defaultModel} has no ready version`),
      database: () => (db.open ? (db.prepare('SELECT 1').pluck().get() === 1 ? undefined : 'database check failed') : 'database closed'),
      audit_log: () => (audit instanceof SqliteAuditLog ? audit.problem : undefined),
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
      await shadow.settled();
      await monitor!.close();
      await audit.close();
      db.close();
      await registry.close();
      await tracing.shutdown();
    })();
    return closing;
  };

  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, registry, close };
}
