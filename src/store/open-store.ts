import type pg from 'pg';
import type { DatabaseTarget } from '../config.js';
import { SqliteAuditLog, type AuditLog, type CommitObserver, type LabelStore, type ObservationStore } from './audit-log.js';
import { openDatabase } from './database.js';
import { SqlitePredictionLookup, type PredictionLookup } from './prediction-lookup.js';
import { PgAuditLog } from './pg-audit-log.js';
import { PgObservationStore } from './pg-observations.js';
import { openPostgres, redactUrl } from './postgres.js';
import type { CheckpointObserver } from './wal-checkpointer.js';

/** The audit log and label store of either engine, with what `/readyz` asks of them. */
export interface Store {
  readonly audit: AuditLog;
  readonly labels: LabelStore;
  /** Predictions made elsewhere (observations, KServe CloudEvents), on either engine. */
  readonly observations: ObservationStore;
  /** Logged decisions by id (`GET /v1/predictions/{id}`); SQLite only for now. */
  readonly predictions: PredictionLookup | undefined;
  /** The PostgreSQL pool (fleet mode), for the fleet's reports. */
  readonly pool: pg.Pool | undefined;
  /** Where the audit log is, for the log line (no password). */
  readonly describe: string;
  /** Readiness checks by name: a reason when not ready, else undefined. */
  readonly checks: Readonly<Record<string, () => string | undefined>>;
  close(): Promise<void>;
}

/** Told when the SQLite audit log stops taking writes (a full disk) and when it takes them again, with the problem. */
export type WritableObserver = (writable: boolean, problem: string | undefined) => void;

/** How often a fleet replica checks that PostgreSQL answers, for /readyz, ms. */
const PROBE_MS = 1000;

/** The SQLite audit log: the file opened (and migrated) here, written by the writer thread. */
async function openSqlite(path: string, synchronous: 'FULL' | 'NORMAL', observe: SqliteObservers, audit?: AuditLog): Promise<Store> {
  const db = openDatabase({ path, synchronous });
  let log: SqliteAuditLog;
  try {
    log = await SqliteAuditLog.open({
      path, synchronous, onCommit: observe.onCommit, onWritable: (writable) => observe.onWritable?.(writable, log.problem),
      ...(observe.onCheckpoint === undefined ? {} : { onCheckpoint: observe.onCheckpoint }),
    });
  } catch (err) {
    db.close();
    throw err;
  }
  return {
    audit: audit ?? log,
    labels: log,
    observations: log,
    predictions: new SqlitePredictionLookup(db),
    pool: undefined,
    describe: path,
    checks: {
      database: () => (db.open ? (db.prepare('SELECT 1').pluck().get() === 1 ? undefined : 'database check failed') : 'database closed'),
      audit_log: () => log.problem,
    },
    close: async () => {
      await log.close();
      db.close();
    },
  };
}

/**
 * The PostgreSQL audit log: a pool on the event loop (see `PgAuditLog` for why no thread),
 * and a probe every second whose last answer `/readyz` reports — readiness checks are
 * synchronous, and a probe per /readyz request would let a load balancer's checks pile
 * connections onto a database that is already struggling.
 */
async function openPg(url: string, poolSize: number, replica: string | undefined, onCommit: CommitObserver, onIdleError: (err: Error) => void, audit?: AuditLog): Promise<Store> {
  const pool = await openPostgres({ url, poolSize, onIdleError });
  // One replica name for both stores' writers: the register numbers their lanes apart.
  const named = replica === undefined ? {} : { replica };
  const log = new PgAuditLog(pool, onCommit, named);
  const observations = new PgObservationStore(pool, named);
  let problem: string | undefined;
  let probing = false;
  const probe = setInterval(() => {
    if (probing) return;
    probing = true;
    const timer = setTimeout(() => {
      problem = `PostgreSQL did not answer within ${PROBE_MS} ms`;
    }, PROBE_MS);
    pool.query('SELECT 1').then(
      () => {
        problem = undefined;
      },
      (err: Error) => {
        problem = `PostgreSQL is unreachable: ${err.message}`;
      },
    ).finally(() => {
      clearTimeout(timer);
      probing = false;
    });
  }, PROBE_MS);
  probe.unref();
  return {
    audit: audit ?? log,
    labels: log,
    observations,
    predictions: undefined,
    pool,
    describe: redactUrl(url),
    checks: { database: () => problem },
    close: async () => {
      clearInterval(probe);
      await observations.close();
      await log.close();
      await pool.end();
    },
  };
}

/** What the SQLite audit log tells the service: its commits, its writability, its WAL checkpoints. */
interface SqliteObservers {
  readonly onCommit: CommitObserver;
  readonly onWritable?: WritableObserver | undefined;
  readonly onCheckpoint?: CheckpointObserver | undefined;
}

/** Opens the store `VIGIA_DB` names; `audit` replaces the audit log (the benchmark's comparison runs). */
export function openStore(opts: SqliteObservers & { db: DatabaseTarget; synchronous: 'FULL' | 'NORMAL'; poolSize: number; replica?: string; onIdleError: (err: Error) => void; audit?: AuditLog }): Promise<Store> {
  return opts.db.engine === 'sqlite'
    ? openSqlite(opts.db.path, opts.synchronous, opts, opts.audit)
    : openPg(opts.db.url, opts.poolSize, opts.replica, opts.onCommit, opts.onIdleError, opts.audit);
}
