import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { BasicTracerProvider, InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import type { App } from '../../src/app.js';
import { Registry } from 'prom-client';
import request from 'supertest';
import { createApp } from '../../src/app.js';
import type { AuthTokens } from '../../src/http/auth.js';
import type { EventTimePolicy } from '../../src/http/predict.js';
import { loadModels, type ModelRegistry } from '../../src/model/registry.js';
import { PredictionService } from '../../src/predict/service.js';
import { ShadowScorer } from '../../src/predict/shadow.js';
import { publishVersions } from '../../src/telemetry/version-metrics.js';
import { SqliteAuditLog } from '../../src/store/audit-log.js';
import { openDatabase, type SqliteDatabase } from '../../src/store/database.js';
import { SqlitePredictionLookup } from '../../src/store/prediction-lookup.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { DriftMonitor } from '../../src/drift/monitor.js';
import { ReferenceBinCounts } from '../../src/telemetry/reference-bins.js';
import { buildModelContext } from '../../src/report/model-context.js';
import { publishFairnessThresholds, publishModelReport, publishThresholds } from '../../src/telemetry/performance-metrics.js';
import { auditCommitRecorder, createMetrics, type Metrics } from '../../src/telemetry/metrics.js';
import { Admission } from '../../src/ingest/admission.js';

export const ROOT = resolve(import.meta.dirname, '..', '..');
export const DEMO_MODELS = join(ROOT, 'models');
export const FIXTURE_MODELS = join(ROOT, 'test', 'fixtures', 'models');
/** A models folder holding one monitor-only bundle: the demo model, served elsewhere. */
export const MONITOR_ONLY_MODELS = join(ROOT, 'test', 'fixtures', 'monitor-only');

export function tempDir(prefix = 'vigia-test-'): { dir: string; remove: () => void } {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export interface TestApp {
  readonly app: App;
  readonly db: SqliteDatabase;
  readonly registry: ModelRegistry;
  readonly metrics: Metrics;
  readonly metricsRegistry: Registry;
  readonly spans: InMemorySpanExporter;
  readonly dbPath: string;
  readonly monitor: DriftMonitor | undefined;
  readonly shadow: ShadowScorer;
  readonly audit: SqliteAuditLog;
  readonly admission: Admission;
  close(): Promise<void>;
}

/** The real app on real models and a real SQLite file in a temp folder; spans kept in memory. */
export async function buildTestApp(opts: { modelsDir?: string; defaultModel?: string; bodyLimitBytes?: number; maxBatch?: number; drift?: boolean; eventTime?: EventTimePolicy; labelDelayMs?: number; ingestQueueRows?: number; docsDir?: string; exactWindowRows?: number; tokens?: AuthTokens; adminToken?: string } = {}): Promise<TestApp> {
  const tmp = tempDir();
  const dbPath = join(tmp.dir, 'vigia.db');
  const metricsRegistry = new Registry();
  const metrics = createMetrics(metricsRegistry);
  const registry = await loadModels(opts.modelsDir ?? DEMO_MODELS, opts.defaultModel, { changed: (r) => publishVersions(metrics, r), loadFailed: () => metrics.modelLoadFailures.inc() });
  const db = openDatabase({ path: dbPath, synchronous: 'NORMAL' });
  const spans = new InMemorySpanExporter();
  const provider = new BasicTracerProvider({ spanProcessors: [new SimpleSpanProcessor(spans)] });
  const audit = await SqliteAuditLog.open({ path: dbPath, synchronous: 'NORMAL', onCommit: auditCommitRecorder(metrics) });
  const referenceBins = new Map<string, ReferenceBinCounts>();
  const service = new PredictionService({ audit, metrics, tracer: provider.getTracer('test'), referenceBins });
  const shadow = new ShadowScorer({ audit, metrics, logger: silentLogger, release: (v) => registry.release(v) });
  let monitor: DriftMonitor | undefined;
  if (opts.drift === true) {
    const contexts = await Promise.all(registry.list().map((m) => buildModelContext(m, { quantiles: 10, topK: 20, now: new Date(), ...(opts.labelDelayMs === undefined ? {} : { labelDelayMs: opts.labelDelayMs }) })));
    for (const c of contexts) referenceBins.set(`${c.baseline.model}@${c.baseline.modelVersion}`, new ReferenceBinCounts(metrics, c.baseline));
    for (const c of contexts) {
      publishThresholds(metrics, { model: c.baseline.model, version: c.baseline.modelVersion }, { drift: c.thresholds, performance: c.performance.thresholds, business: c.business });
      if (c.fairness !== undefined) publishFairnessThresholds(metrics, { model: c.baseline.model, version: c.baseline.modelVersion }, c.fairness.thresholds, c.fairness.spec.minGroupSize);
    }
    monitor = await DriftMonitor.start({
      db: { engine: 'sqlite', path: dbPath }, models: contexts, windowMs: 7 * 86_400_000, intervalMs: 0,
      ...(opts.exactWindowRows === undefined ? {} : { exactWindowRows: opts.exactWindowRows }),
      onEvaluated: (_key, outcome) => {
        if (!('report' in outcome)) return;
        publishModelReport(metrics, outcome.report, outcome.seconds);
      },
    });
  }
  const admission = new Admission(opts.ingestQueueRows ?? 20_000, (rows) => metrics.ingestQueueRows.set(rows));
  const app = createApp({
    ...(monitor === undefined ? {} : { monitor }),
    labels: audit,
    predictions: new SqlitePredictionLookup(db),
    ingest: { store: audit, admission, maxEventAgeMs: 400 * 86_400_000 },
    registry,
    service,
    shadow,
    metrics,
    metricsRegistry,
    logger: silentLogger,
    readiness: { database: () => (db.open ? undefined : 'database closed') },
    bodyLimitBytes: opts.bodyLimitBytes ?? 1024 * 1024,
    maxBatch: opts.maxBatch ?? 1000,
    ...(opts.eventTime === undefined ? {} : { eventTime: opts.eventTime }),
    ...(opts.docsDir === undefined ? {} : { docsDir: opts.docsDir }),
    ...(opts.tokens === undefined && opts.adminToken === undefined ? {} : { tokens: { ...opts.tokens, admin: opts.adminToken ?? opts.tokens?.admin } }),
  });
  return {
    app, db, registry, metrics, metricsRegistry, spans, dbPath,
    monitor, shadow, audit, admission,
    close: async () => {
      await shadow.settled();
      await monitor?.close();
      await audit.close();
      if (db.open) db.close();
      await registry.close();
      await provider.shutdown();
      tmp.remove();
    },
  };
}

/** Scores rows through `POST /predict` in batches, expecting 200 for each. */
export async function postRows(app: App, rows: readonly Record<string, number>[], batch = 100): Promise<void> {
  for (let i = 0; i < rows.length; i += batch) await request(app).post('/predict').send({ instances: rows.slice(i, i + batch) }).expect(200);
}
