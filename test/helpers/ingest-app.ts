import { trace } from '@opentelemetry/api';
import pg from 'pg';
import { Registry } from 'prom-client';
import { createApp, type App } from '../../src/app.js';
import { Admission } from '../../src/ingest/admission.js';
import { loadModels } from '../../src/model/registry.js';
import { PredictionService } from '../../src/predict/service.js';
import type { ObservationStore } from '../../src/store/audit-log.js';
import { PgAuditLog } from '../../src/store/pg-audit-log.js';
import { PgObservationStore } from '../../src/store/pg-observations.js';
import { openPostgres } from '../../src/store/postgres.js';
import { silentLogger } from '../../src/telemetry/logger.js';
import { auditCommitRecorder, createMetrics } from '../../src/telemetry/metrics.js';
import { buildTestApp, DEMO_MODELS } from './app.js';
import { postgresMissing, startPostgres, type PgCluster } from './postgres.js';

/** The ingest routes on one engine, with an engine-neutral way to read what they stored. */
export interface IngestApp {
  readonly app: App;
  readonly store: ObservationStore;
  readonly admission: Admission;
  /** Rows of a query written with `$1, $2, …` placeholders (in order); integers come back as numbers on both engines. */
  query<T = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<T[]>;
  /** The PostgreSQL database (a second replica opens the same), undefined on SQLite. */
  readonly url: string | undefined;
  close(): Promise<void>;
}

export interface IngestAppOptions {
  readonly modelsDir?: string;
  readonly ingestQueueRows?: number;
  /** PostgreSQL: another replica on this app's database instead of a new database. */
  readonly replicaOf?: IngestApp;
}

/** An engine the ingest behaviour tests run on. */
export interface IngestEngine {
  readonly name: 'SQLite' | 'PostgreSQL';
  /** Why this engine's tests cannot run here (PostgreSQL not installed outside CI). */
  readonly skip: string | undefined;
  open(opts?: IngestAppOptions): Promise<IngestApp>;
  /** Stops what the engine started for the suite (the PostgreSQL cluster). */
  shutdown(): Promise<void>;
}

const sqlite: IngestEngine = {
  name: 'SQLite',
  skip: undefined,
  async open(opts = {}) {
    const t = await buildTestApp({ ...(opts.modelsDir === undefined ? {} : { modelsDir: opts.modelsDir }), ...(opts.ingestQueueRows === undefined ? {} : { ingestQueueRows: opts.ingestQueueRows }) });
    return {
      app: t.app, store: t.audit, admission: t.admission, url: undefined, close: () => t.close(),
      query: async <T>(sql: string, params: readonly unknown[] = []) => t.db.prepare(sql.replace(/\$\d+/g, '?')).all(...params) as T[],
    };
  },
  shutdown: async () => {},
};

/** bigint (int8) as a JavaScript number, as better-sqlite3 answers integers: the tests compare values across engines. */
const numericInt8: pg.CustomTypesConfig = {
  getTypeParser: ((oid: number, format?: 'text' | 'binary') => (oid === 20 ? Number : pg.types.getTypeParser(oid, format))) as pg.CustomTypesConfig['getTypeParser'],
};

/** A fleet replica's ingest: the PostgreSQL audit log, label store and observation store on a pool, as `vigia serve` wires them. */
function postgresEngine(): IngestEngine {
  const skip = postgresMissing();
  let cluster: Promise<PgCluster> | undefined;
  let n = 0;
  return {
    name: 'PostgreSQL',
    skip,
    async open(opts = {}) {
      cluster ??= startPostgres();
      const url = opts.replicaOf?.url ?? (await (await cluster).createDatabase(`ingest${n++}`));
      const metricsRegistry = new Registry();
      const metrics = createMetrics(metricsRegistry);
      const registry = await loadModels(opts.modelsDir ?? DEMO_MODELS, undefined);
      const pool = await openPostgres({ url, poolSize: 6 });
      const reader = new pg.Pool({ connectionString: url, max: 2, types: numericInt8 });
      const audit = new PgAuditLog(pool, auditCommitRecorder(metrics));
      const store = new PgObservationStore(pool);
      const admission = new Admission(opts.ingestQueueRows ?? 20_000, (rows) => metrics.ingestQueueRows.set(rows));
      const service = new PredictionService({ audit, metrics, tracer: trace.getTracer('test') });
      const app = createApp({
        registry, service, metrics, metricsRegistry, logger: silentLogger, readiness: {}, bodyLimitBytes: 1024 * 1024, maxBatch: 1000,
        labels: audit, ingest: { store, admission, maxEventAgeMs: 400 * 86_400_000 },
      });
      return {
        app, store, admission, url,
        query: async <T>(sql: string, params: readonly unknown[] = []) => (await reader.query(sql, [...params])).rows as T[],
        close: async () => {
          await store.close();
          await audit.close();
          await pool.end();
          await reader.end();
          await registry.close();
        },
      };
    },
    shutdown: async () => {
      await (await cluster)?.close();
    },
  };
}

/** The engines the ingest behaviour runs on: SQLite (the embedded default) and PostgreSQL (a fleet). */
export const ingestEngines = (): IngestEngine[] => [sqlite, postgresEngine()];
