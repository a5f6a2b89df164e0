import { existsSync, statfsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { dirname } from 'node:path';
import type { AddressInfo } from 'node:net';
import { Registry } from 'prom-client';
import { createApp } from './app.js';
import { PROJECT_ROOT, type Config } from './config.js';
import { VERSION } from './version.js';
import { loadModels, type ModelRegistry, type RegistryHooks } from './model/registry.js';
import { ShadowScorer } from './predict/shadow.js';
import { publishVersions } from './telemetry/version-metrics.js';
import { PredictionService } from './predict/service.js';
import type { AuditLog } from './store/audit-log.js';
import { openStore, type Store } from './store/open-store.js';
import { urlWithPassword } from './store/postgres.js';
import { RetentionScheduler } from './store/retention-scheduler.js';
import { FleetEvaluator } from './fleet/fleet-evaluator.js';
import type { ReportSource } from './http/report.js';
import type { Logger } from './telemetry/logger.js';
import { auditCommitRecorder, checkpointRecorder, collectProcessMetrics, createMetrics } from './telemetry/metrics.js';
import { startTracing } from './telemetry/tracing.js';
import { DriftMonitor, modelKey } from './drift/monitor.js';
import { ReferenceBinCounts } from './telemetry/reference-bins.js';
import type { ModelContextWithBusiness } from './report/model-context.js';
import { buildModelContextOffThread } from './report/model-context-thread.js';
import { publishFairnessThresholds, publishModelReport, publishThresholds } from './telemetry/performance-metrics.js';
import { Admission } from './ingest/admission.js';
import { PairExpiry } from './ingest/pair-expiry.js';

const DOCS_DIR = `${PROJECT_ROOT}/docs`;

export interface RunningService {
  readonly url: string;
  readonly port: number;
  readonly registry: ModelRegistry;
  /** Where the audit log is (a file, or the PostgreSQL URL without its password). */
  readonly store: string;
  /** Stops accepting, drains in-flight requests, flushes the log, closes everything. */
  close(): Promise<void>;
}

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
  const closers = new CloseStack();
  try {
    return await compose(config, logger, overrides, closers);
  } catch (err) {
    // A start-up failure (a bad bundle, a port in use) leaves nothing running behind it: the
    // evaluation process and the writer thread would otherwise keep the process alive.
    await closers.unwind((closeErr) => logger.error('closing after a failed start', { error: (closeErr as Error).message }));
    throw err;
  }
}

/**
 * Resources opened so far, each with its awaited close, unwound in reverse order (last opened,
 * first closed) on a failed start or at shutdown. A close that fails is reported and the
 * unwinding goes on.
 */
class CloseStack {
  private readonly closers: (() => unknown)[] = [];

  push(close: () => unknown): void {
    this.closers.push(close);
  }

  async unwind(onError: (err: unknown) => void): Promise<void> {
    for (let close = this.closers.pop(); close !== undefined; close = this.closers.pop()) {
      try {
        await close();
      } catch (err) {
        onError(err);
      }
    }
  }
}

async function compose(config: Config, logger: Logger, overrides: ServiceOverrides, closers: CloseStack): Promise<RunningService> {
  const tracing = startTracing({ exporter: config.tracesExporter, serviceName: 'vigia', serviceVersion: VERSION });
  closers.push(() => tracing.shutdown());
  const metricsRegistry = new Registry();
  const metrics = createMetrics(metricsRegistry);
  closers.push(() => metrics.otel.close());
  collectProcessMetrics(metricsRegistry);

  // Each version's baseline is built as it loads (at start, or live on an admin load) and
  // handed to the monitor once it runs; a version whose baseline fails is a failed version.
  // Each ready version, live-loaded ones included, has its own reference bins (model@version).
  const contexts: ModelContextWithBusiness[] = [];
  const referenceBins = new Map<string, ReferenceBinCounts>();
  let monitor: DriftMonitor | undefined;
  const contextOptions = () => ({
    quantiles: config.binQuantiles, topK: config.topK, now: new Date(), minWindow: config.minWindow, ksMinStatistic: config.ksMinStatistic, pValueCorrection: config.pValueCorrection,
    ...(config.labelDelayMs === undefined ? {} : { labelDelayMs: config.labelDelayMs }),
  });
  const hooks: RegistryHooks = {
    prepare: async (m) => {
      // On a worker thread: a live load must not stall the requests being served.
      const c = await buildModelContextOffThread(m.dir, contextOptions());
      const labels = { model: c.baseline.model, version: c.baseline.modelVersion };
      referenceBins.set(modelKey(c.baseline.model, c.baseline.modelVersion), new ReferenceBinCounts(metrics, c.baseline));
      publishThresholds(metrics, labels, { drift: c.thresholds, performance: c.performance.thresholds, business: c.business });
      if (c.fairness !== undefined) publishFairnessThresholds(metrics, labels, c.fairness.thresholds, c.fairness.spec.minGroupSize);
      if (monitor === undefined) contexts.push(c);
      else {
        monitor.add(c);
        // In a fleet the elected evaluator's next round evaluates it (and stores the report every replica serves).
        if (config.db.engine === 'sqlite') void monitor.evaluate(modelKey(c.baseline.model, c.baseline.modelVersion)).catch(() => undefined);
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
    throw err;
  }
  closers.push(() => registry.close());
  let db = config.db;
  if (db.engine === 'postgres') db = { engine: 'postgres', url: urlWithPassword(db.url, config.dbPasswordFile) };
  const store: Store = await openStore({
    db, synchronous: config.dbSynchronous, poolSize: config.dbPoolSize, replica: config.replicaId, onCommit: auditCommitRecorder(metrics),
    onWritable: (writable, problem) => {
      metrics.auditLogWritable.set(writable ? 1 : 0);
      if (writable) logger.info('the audit log takes writes again');
      else logger.error('an audit-log commit failed: predictions answer 503 until a write succeeds', { problem });
    },
    onCheckpoint: checkpointRecorder(metrics, logger),
    onIdleError: (err) => logger.warn('an idle PostgreSQL connection failed', { error: err.message }),
    ...(overrides.audit === undefined ? {} : { audit: overrides.audit }),
  });
  // The audit log, the label store and (PostgreSQL) the pool, closed after everything that uses them.
  closers.push(() => store.close());
  const { audit } = store;
  metrics.auditLogWritable.set(1);
  publishVersions(metrics, registry);

  const pool = store.pool;
  monitor = await DriftMonitor.start({
    db,
    models: contexts,
    windowMs: config.windowMs,
    // In a fleet the evaluator's timer runs only on the elected replica (FleetEvaluator).
    intervalMs: pool === undefined ? config.evalIntervalMs : 0,
    // Either engine judges a window above this many rows from its hourly aggregates.
    exactWindowRows: config.exactWindowRows,
    // And a matured cohort above this many labels from its hourly aggregates.
    exactCohortLabels: config.exactCohortLabels,
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
  const started = monitor;
  closers.push(() => started.close());
  metrics.fleetEvaluator.set(pool === undefined ? 1 : 0);
  metrics.fleetEvaluatorTerm.set(0);
  let fleet: FleetEvaluator | undefined;
  if (pool !== undefined && db.engine === 'postgres') {
    // The leader election and the stored reports; closed before the monitor and the pool they use.
    const elected = FleetEvaluator.start({
      monitor: started, pool, url: db.url, replica: config.replicaId, intervalMs: config.evalIntervalMs, pollMs: config.leaderPollMs,
      onStored: (_key, stored) => publishModelReport(metrics, stored.report, stored.seconds),
      onLeaderChange: (change) => {
        metrics.fleetEvaluator.set(change.leader ? 1 : 0);
        metrics.fleetEvaluatorTerm.set(change.leader ? change.term : 0);
        if (change.leader) logger.info('this replica is now the fleet evaluator', { replica: config.replicaId, term: change.term });
        else logger.warn('this replica stopped being the fleet evaluator', { replica: config.replicaId, reason: change.reason });
      },
      onFailure: (key, error) => logger.warn('fleet evaluation failed', { model: key, error }),
    });
    closers.push(() => elected.close());
    fleet = elected;
  }
  const reports: ReportSource = fleet ?? started;
  if (fleet === undefined) void started.evaluateAll();

  // Retention (archive then remove old rows) on either engine, on its own thread: on SQLite in
  // small steps, on PostgreSQL by monthly partition, one replica of the fleet at a time (an
  // advisory lock). The free-space sampling of the database's filesystem is SQLite-only: on
  // PostgreSQL the database server owns its storage (the size budget still bounds the tables).
  const retention = await RetentionScheduler.start({
    db, archiveDir: config.archiveDir, retentionMs: config.retentionMs, intervalMs: config.retentionIntervalMs, sizeBudgetBytes: config.dbSizeBudgetBytes,
    replica: config.replicaId,
    onArchived: (rows) => metrics.auditArchivedRows.inc(rows),
    onFailed: (error) => {
      metrics.auditRetentionFailures.inc();
      logger.warn('audit-log retention failed', { error });
    },
  });
  closers.push(() => retention.close());
  let diskFree = Number.POSITIVE_INFINITY;
  if (db.engine === 'sqlite') {
    const dbPath = db.path;
    // Free space of the database's filesystem: sampled off the request path, read by /readyz and /metrics.
    metrics.auditDiskMinFreeBytes.set(config.diskMinFreeBytes);
    const sampleDisk = () => {
      try {
        const s = statfsSync(dirname(dbPath));
        diskFree = s.bavail * s.bsize;
        metrics.auditDiskFreeBytes.set(diskFree);
      } catch {
        // Unknown: the readiness check says nothing it cannot know.
      }
    };
    sampleDisk();
    const diskTimer = setInterval(sampleDisk, 5000);
    diskTimer.unref();
    closers.push(() => clearInterval(diskTimer));
  }

  const admission = new Admission(config.ingestQueueRows, (rows) => metrics.ingestQueueRows.set(rows));
  // On PostgreSQL every replica sweeps: each half is marked, and counted, by one sweep of the fleet.
  const expiry = new PairExpiry({
    store: store.observations,
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
  });
  closers.push(() => expiry.close());
  void expiry.sweep();

  let draining = false;
  const service = new PredictionService({ audit, metrics, tracer: tracing.tracer, referenceBins });
  const shadow = new ShadowScorer({ audit, metrics, logger, release: (v) => registry.release(v) });
  // Pushed last, unwound first: shadow scorings still running write to the audit log.
  closers.push(() => shadow.settled());
  const app = createApp({
    registry,
    service,
    shadow,
    metrics,
    metricsRegistry,
    logger,
    bodyLimitBytes: config.bodyLimitBytes,
    maxBatch: config.maxBatch,
    eventTime: { accept: config.acceptEventTime, maxAgeMs: config.maxEventAgeMs },
    monitor: reports,
    labels: store.labels,
    ingest: { store: store.observations, admission, maxEventAgeMs: config.maxEventAgeMs },
    ...(store.predictions === undefined ? {} : { predictions: store.predictions }),
    // The runbooks that alerts link to (docs/alerts.md...), served by the service itself.
    ...(existsSync(DOCS_DIR) ? { docsDir: DOCS_DIR } : {}),
    tokens: { predict: config.predictToken, labels: config.labelsToken, admin: config.adminToken },
    readiness: {
      models: () => (registry.defaultReady ? undefined : `the default model ${registry.defaultModel} has no ready version`),
      ...store.checks,
      disk: () => (diskFree < config.diskMinFreeBytes ? `only ${Math.round(diskFree / 2 ** 20)} MB free on the database's filesystem (VIGIA_DISK_MIN_FREE ${Math.round(config.diskMinFreeBytes / 2 ** 20)} MB)` : undefined),
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
      let failure: unknown;
      await closers.unwind((err) => {
        failure ??= err;
        logger.error('closing failed', { error: (err as Error).message });
      });
      if (failure !== undefined) throw failure;
    })();
    return closing;
  };

  return { url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`, port, registry, store: store.describe, close };
}
