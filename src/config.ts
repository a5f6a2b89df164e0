import { readFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';

/** Where the audit log lives: a SQLite file (one process), or a PostgreSQL database (a fleet). */
export type DatabaseTarget = { readonly engine: 'sqlite'; readonly path: string } | { readonly engine: 'postgres'; readonly url: string };

/** Everything Vigia reads from its environment, parsed once by `loadConfig`. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly modelsDir: string;
  readonly defaultModel: string | undefined;
  readonly db: DatabaseTarget;
  readonly dbSynchronous: 'FULL' | 'NORMAL';
  readonly bodyLimitBytes: number;
  readonly maxBatch: number;
  readonly shutdownTimeoutMs: number;
  readonly tracesExporter: string;
  readonly logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Length of the drift window, ms. */
  readonly windowMs: number;
  /** Period of the drift evaluation, ms (0: on demand only). */
  readonly evalIntervalMs: number;
  readonly minWindow: number;
  /** Windows of at most this many rows are evaluated exactly from the rows; larger ones from hourly aggregates. */
  readonly exactWindowRows: number;
  /** Matured cohorts of at most this many labels are evaluated exactly from their rows; larger ones from hourly aggregates. */
  readonly exactCohortLabels: number;
  readonly ksMinStatistic: number;
  /** Multiple-testing correction of the drift p-values across a model's features (a bundle's thresholds.pvalue_correction overrides it). */
  readonly pValueCorrection: 'holm' | 'bh' | 'none';
  readonly binQuantiles: number;
  readonly topK: number;
  /** Accept a client-supplied `event_time` on predict requests (simulation and backfill). */
  readonly acceptEventTime: boolean;
  /** Oldest accepted `event_time`, ms before now. */
  readonly maxEventAgeMs: number;
  /** Label delay for every model, ms, overriding the bundles' `label.delay_days` (0 for demos and tests). */
  readonly labelDelayMs: number | undefined;
  /** A file holding the PostgreSQL password (a Docker secret), so that VIGIA_DB need not carry it. */
  readonly dbPasswordFile: string | undefined;
  /** Connections of the PostgreSQL pool (fleet mode). */
  readonly dbPoolSize: number;
  /** This replica's name in the fleet's records (the evaluator's leadership terms). */
  readonly replicaId: string;
  /** How often a replica tries to become the fleet's evaluator, checks it still is, and re-reads the fleet's reports, ms. */
  readonly leaderPollMs: number;
  /** The bearer token of the admin API (VIGIA_ADMIN_TOKEN or VIGIA_ADMIN_TOKEN_FILE); undefined closes it (403). */
  readonly adminToken: string | undefined;
  /** Audit-log rows older than this (decision time) are archived then removed, ms. */
  readonly retentionMs: number;
  /** How often retention runs, ms (0: never). */
  readonly retentionIntervalMs: number;
  /** Where retention writes its archives (default: `archive/` beside the database). */
  readonly archiveDir: string;
  /** Bytes of audit-log pages above which retention archives the oldest rows whatever their age (0: none). */
  readonly dbSizeBudgetBytes: number;
  /** Free space under which the database's filesystem counts as nearly full, bytes. */
  readonly diskMinFreeBytes: number;
  /** Most ingested rows admitted and not yet committed; beyond it the ingest answers 503 with Retry-After. */
  readonly ingestQueueRows: number;
  /** How long half of a KServe CloudEvent pair waits for its partner before it is counted unpaired, ms. */
  readonly ingestPairTimeoutMs: number;
  /** Bearer token `POST /v1/labels` requires (none: open). */
  readonly labelsToken: string | undefined;
  /** Bearer token the predict routes require (none: open). */
  readonly predictToken: string | undefined;
}

/** The repository root (where `models/` lives), from this file's place in src/ or dist/. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

export interface KeySpec<T> {
  readonly key: string;
  /** The command-line flag that sets the same key (`vigia serve --port 9090`). */
  readonly flag: string;
  readonly doc: string;
  readonly fallback: string | undefined;
  readonly parse: (raw: string, key: string) => T;
}

const int = (min: number, max: number) => (raw: string, key: string): number => {
  const n = Number(raw);
  if (!/^-?\d+$/.test(raw.trim()) || !Number.isSafeInteger(n) || n < min || n > max) {
    throw new ConfigError(key, raw, `an integer from ${min} to ${max}`);
  }
  return n;
};
const oneOf = <T extends string>(...values: T[]) => (raw: string, key: string): T => {
  const v = raw.trim() as T;
  if (!values.includes(v)) throw new ConfigError(key, raw, `one of ${values.join(', ')}`);
  return v;
};
const UNIT_MS: Readonly<Record<string, number>> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };
/** A duration such as 7d, 12h, 30m, 60s or 500ms (a bare 0 needs no unit), in ms; NaN when malformed. */
export function parseDurationMs(raw: string): number {
  const m = /^(\d+(?:\.\d+)?)\s*(ms|s|m|h|d)$/.exec(raw.trim().replace(/^0$/, '0ms'));
  return m === null ? NaN : Math.round(Number(m[1]) * UNIT_MS[m[2]!]!);
}
const duration = (min: number) => (raw: string, key: string): number => {
  const ms = parseDurationMs(raw);
  if (!(ms >= min) || !Number.isFinite(ms)) throw new ConfigError(key, raw, `a duration such as 7d, 12h, 30m, 60s or 500ms, at least ${min} ms`);
  return ms;
};
const fraction = (raw: string, key: string): number => {
  const n = Number(raw);
  if (raw.trim() === '' || !Number.isFinite(n) || n < 0 || n > 1) throw new ConfigError(key, raw, 'a number from 0 to 1');
  return n;
};
/** Parses a true/false key; a bare command-line flag (`--accept-event-time`) means true. */
export const flag = (raw: string, key: string): boolean => {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(key, raw, 'true or false');
};
const text = (raw: string, key: string): string => {
  if (raw.trim() === '') throw new ConfigError(key, raw, 'a non-empty value');
  return raw.trim();
};
const database = (raw: string, key: string): DatabaseTarget => {
  const v = text(raw, key);
  if (/^postgres(ql)?:/i.test(v)) {
    let url: URL;
    try {
      url = new URL(v);
    } catch {
      throw new ConfigError(key, raw, 'a SQLite file path or a URL such as postgres://user:password@host:5432/vigia');
    }
    if (url.hostname === '' && !url.searchParams.has('host')) throw new ConfigError(key, raw, 'a postgres:// URL naming a host');
    return { engine: 'postgres', url: v };
  }
  return { engine: 'sqlite', path: resolve(v) };
};
const bytes = (raw: string, key: string): number => {
  const m = /^(\d+)\s*(b|kb|mb)?$/i.exec(raw.trim());
  if (!m) throw new ConfigError(key, raw, 'a size such as 1mb, 512kb or 65536');
  const unit = (m[2] ?? 'b').toLowerCase();
  const n = Number(m[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
  if (n < 1024 || n > 512 * 1024 * 1024) throw new ConfigError(key, raw, 'a size from 1kb to 512mb');
  return n;
};

const sizeBudget = (raw: string, key: string): number => {
  const m = /^(\d+)\s*(b|kb|mb|gb|tb)?$/i.exec(raw.trim());
  if (!m) throw new ConfigError(key, raw, 'a size such as 50gb, 512mb or 0 for none');
  const unit = { b: 1, kb: 2 ** 10, mb: 2 ** 20, gb: 2 ** 30, tb: 2 ** 40 }[(m[2] ?? 'b').toLowerCase() as 'b'];
  return Number(m[1]) * unit;
};

/** Every key, its flag, its one-line doc and its default. The table of docs/configuration.md is this list. */
export const CONFIG_KEYS = {
  port: { key: 'PORT', flag: '--port', doc: 'HTTP port to listen on (0 picks a free port)', fallback: '8080', parse: int(0, 65535) },
  host: { key: 'HOST', flag: '--host', doc: 'address to listen on', fallback: '0.0.0.0', parse: text },
  modelsDir: { key: 'VIGIA_MODELS_DIR', flag: '--models-dir', doc: 'folder of model bundles, one sub-folder per model', fallback: undefined, parse: text },
  defaultModel: { key: 'VIGIA_DEFAULT_MODEL', flag: '--default-model', doc: 'model served by POST /predict (default: the only model, or the first by name)', fallback: undefined, parse: text },
  db: { key: 'VIGIA_DB', flag: '--db', doc: 'the audit log: a SQLite file (created with its folder), or postgres://user:password@host:port/database for a fleet of replicas on one PostgreSQL', fallback: './data/vigia.db', parse: database },
  dbSynchronous: { key: 'VIGIA_DB_SYNCHRONOUS', flag: '--db-synchronous', doc: 'SQLite synchronous mode: FULL survives power loss, NORMAL survives process crashes only', fallback: 'FULL', parse: oneOf('FULL', 'NORMAL') },
  bodyLimitBytes: { key: 'VIGIA_BODY_LIMIT', flag: '--body-limit', doc: 'largest request body; larger bodies get 413', fallback: '1mb', parse: bytes },
  maxBatch: { key: 'VIGIA_MAX_BATCH', flag: '--max-batch', doc: 'most instances in one batch request', fallback: '1000', parse: int(1, 100_000) },
  shutdownTimeoutMs: { key: 'VIGIA_SHUTDOWN_TIMEOUT_MS', flag: '--shutdown-timeout-ms', doc: 'how long SIGTERM waits for in-flight requests before closing', fallback: '10000', parse: int(0, 600_000) },
  tracesExporter: { key: 'OTEL_TRACES_EXPORTER', flag: '--traces-exporter', doc: 'OpenTelemetry span exporter: none (default), otlp, zipkin or console; other OTEL_* variables are read by the SDK', fallback: 'none', parse: oneOf('none', 'otlp', 'zipkin', 'console') },
  logLevel: { key: 'VIGIA_LOG_LEVEL', flag: '--log-level', doc: 'least severe log line written to stderr', fallback: 'info', parse: oneOf('debug', 'info', 'warn', 'error') },
  windowMs: { key: 'VIGIA_WINDOW', flag: '--window', doc: 'drift window: the last part of the audit log compared with the reference', fallback: '7d', parse: duration(1000) },
  evalIntervalMs: { key: 'VIGIA_EVAL_INTERVAL', flag: '--eval-interval', doc: 'how often drift is evaluated, off the request path (0s: only on demand)', fallback: '60s', parse: duration(0) },
  minWindow: { key: 'VIGIA_MIN_WINDOW', flag: '--min-window', doc: 'fewer rows than this in the window: statistics say insufficient data, not drift', fallback: '100', parse: int(1, 100_000_000) },
  exactWindowRows: { key: 'VIGIA_EXACT_WINDOW_ROWS', flag: '--exact-window-rows', doc: 'windows of at most this many rows are evaluated exactly from the rows held in memory; larger ones from hourly aggregates (KS within 0.001 in D, see docs/drift.md)', fallback: '200000', parse: int(0, 100_000_000) },
  exactCohortLabels: { key: 'VIGIA_EXACT_COHORT_LABELS', flag: '--exact-cohort-labels', doc: 'matured cohorts of at most this many labels get their performance computed exactly from the labelled rows; larger ones from hourly aggregates (AUC within its stated error, see docs/performance.md)', fallback: '200000', parse: int(0, 100_000_000) },
  ksMinStatistic: { key: 'VIGIA_KS_MIN_STATISTIC', flag: '--ks-min-statistic', doc: 'effect-size guard: a KS p-value counts only when D reaches this', fallback: '0.1', parse: fraction },
  pValueCorrection: { key: 'VIGIA_PVALUE_CORRECTION', flag: '--pvalue-correction', doc: 'multiple-testing correction of the drift p-values across a model\'s features: holm (family-wise error rate), bh (Benjamini–Hochberg, false discovery rate) or none', fallback: 'holm', parse: oneOf('holm', 'bh', 'none') },
  binQuantiles: { key: 'VIGIA_BIN_QUANTILES', flag: '--bin-quantiles', doc: 'reference quantile bins per numeric feature (10 = deciles)', fallback: '10', parse: int(2, 1000) },
  topK: { key: 'VIGIA_TOP_K', flag: '--top-k', doc: 'reference categories kept per categorical feature; the rest share __other__', fallback: '20', parse: int(1, 10_000) },
  acceptEventTime: { key: 'VIGIA_ACCEPT_EVENT_TIME', flag: '--accept-event-time', doc: 'accept a client-supplied event_time on predict requests (simulation, backfill); the audit log keeps the server time too', fallback: 'false', parse: flag },
  maxEventAgeMs: { key: 'VIGIA_MAX_EVENT_AGE', flag: '--max-event-age', doc: 'oldest event_time accepted, as a duration before now', fallback: '400d', parse: duration(1000) },
  retentionMs: { key: 'VIGIA_RETENTION', flag: '--retention', doc: 'audit-log rows older than this are archived (gzip\'d JSON Lines with their labels and hash-chain links) then removed', fallback: '730d', parse: duration(60_000) },
  retentionIntervalMs: { key: 'VIGIA_RETENTION_INTERVAL', flag: '--retention-interval', doc: 'how often retention runs, in small steps off the event loop (0s: never; a size budget is still checked every 5 s on SQLite)', fallback: '1h', parse: duration(0) },
  archiveDir: { key: 'VIGIA_ARCHIVE_DIR', flag: '--archive-dir', doc: 'folder of the retention archives (default: archive/ beside a SQLite VIGIA_DB, ./archive on PostgreSQL)', fallback: undefined, parse: text },
  dbSizeBudgetBytes: { key: 'VIGIA_DB_SIZE_BUDGET', flag: '--db-size-budget', doc: 'size budget of the audit log (e.g. 50gb): above it, retention archives the oldest rows whatever their age; 0 for none', fallback: '0', parse: sizeBudget },
  diskMinFreeBytes: { key: 'VIGIA_DISK_MIN_FREE', flag: '--disk-min-free', doc: 'free space on the database\'s filesystem below which /readyz answers 503 and an alert fires', fallback: '64mb', parse: bytes },
  labelDelayMs: { key: 'VIGIA_LABEL_DELAY', flag: '--label-delay', doc: 'label delay for every model, overriding the bundles\' label.delay_days (0s: every labelled prediction is matured at once)', fallback: undefined, parse: duration(0) },
  dbPasswordFile: { key: 'VIGIA_DB_PASSWORD_FILE', flag: '--db-password-file', doc: 'a file holding the PostgreSQL password (e.g. a Docker secret), used when VIGIA_DB names none', fallback: undefined, parse: text },
  dbPoolSize: { key: 'VIGIA_DB_POOL_SIZE', flag: '--db-pool-size', doc: 'connections each replica keeps to PostgreSQL (PostgreSQL only)', fallback: '10', parse: int(1, 1000) },
  replicaId: { key: 'VIGIA_REPLICA_ID', flag: '--replica-id', doc: "this replica's name in the fleet's records (default: host name and process id)", fallback: undefined, parse: text },
  leaderPollMs: { key: 'VIGIA_LEADER_POLL', flag: '--leader-poll', doc: "how often a replica tries to become the fleet's evaluator, the evaluator checks its connection, and replicas re-read the fleet's reports (PostgreSQL only)", fallback: '2s', parse: duration(100) },
  ingestQueueRows: { key: 'VIGIA_INGEST_QUEUE_ROWS', flag: '--ingest-queue-rows', doc: 'most ingested rows (observations, CloudEvents) waiting for the audit-log writer; more gets 503 with Retry-After, never accepted unlogged', fallback: '20000', parse: int(1, 10_000_000) },
  ingestPairTimeoutMs: { key: 'VIGIA_INGEST_PAIR_TIMEOUT', flag: '--ingest-pair-timeout', doc: 'how long a KServe request or response CloudEvent waits for its other half before it is counted in vigia_ingest_unpaired_total (kept, and still paired if the partner comes later)', fallback: '5m', parse: duration(1000) },
} satisfies { [K in Exclude<keyof Config, keyof typeof SECRET_KEYS>]: KeySpec<unknown> };

interface SecretSpec {
  readonly key: string;
  readonly doc: string;
}

/**
 * Secrets: each read from `KEY` or from the file named by `KEY_FILE` (a mounted secret), never
 * from a command-line flag (a flag shows in `ps`). A malformed secret is refused naming the key,
 * never the value. A new token (issue 11's admin token) is one more line here.
 */
export const SECRET_KEYS = {
  labelsToken: { key: 'VIGIA_LABELS_TOKEN', doc: 'bearer token POST /v1/labels requires (or VIGIA_LABELS_TOKEN_FILE: a file holding it); unset: label ingestion is open' },
  adminToken: { key: 'VIGIA_ADMIN_TOKEN', doc: 'bearer token of the admin API (/v1/admin, /v2/repository load and unload) (or VIGIA_ADMIN_TOKEN_FILE: a file holding it); unset: those routes answer 403' },
  predictToken: { key: 'VIGIA_PREDICT_TOKEN', doc: 'bearer token the predict routes require (or VIGIA_PREDICT_TOKEN_FILE: a file holding it); unset: scoring is open' },
} satisfies { [K in keyof Config]?: SecretSpec };

/** Shortest token accepted: a short one can be guessed. */
export const MIN_TOKEN_LENGTH = 16;

/** A secret from `KEY` or the file named by `KEY_FILE` (trailing line break dropped); undefined when neither is set. */
function readSecret(env: Readonly<Record<string, string | undefined>>, spec: SecretSpec): string | undefined {
  const direct = env[spec.key];
  const file = env[`${spec.key}_FILE`];
  const hidden = '(not shown)';
  if (direct !== undefined && direct !== '' && file !== undefined && file !== '') {
    throw new ConfigError(spec.key, hidden, `either ${spec.key} or ${spec.key}_FILE, not both`);
  }
  let value: string;
  if (file !== undefined && file !== '') {
    try {
      value = readFileSync(file, 'utf8').replace(/\r?\n$/, '');
    } catch (err) {
      throw new ConfigError(`${spec.key}_FILE`, file, `a readable file holding the token (${(err as NodeJS.ErrnoException).code ?? (err as Error).message})`);
    }
  } else if (direct !== undefined && direct !== '') {
    value = direct;
  } else {
    return undefined;
  }
  if (value.length < MIN_TOKEN_LENGTH || !/^[\x21-\x7e]+$/.test(value)) {
    throw new ConfigError(spec.key, hidden, `a token of at least ${MIN_TOKEN_LENGTH} printable characters without spaces`);
  }
  return value;
}

/**
 * Reads the configuration from `env` (the process environment, with command-line flags
 * already merged in by the CLI). Throws a `ConfigError` naming the key and the value.
 */
export function loadConfig(env: Readonly<Record<string, string | undefined>>): Config {
  const read = <T>(spec: KeySpec<T>): T | undefined => {
    const raw = env[spec.key] ?? spec.fallback;
    return raw === undefined || raw === '' && spec.fallback === undefined ? undefined : spec.parse(raw, spec.key);
  };
  const k = CONFIG_KEYS;
  const db = read(k.db)!;
  return {
    port: read(k.port)!,
    host: read(k.host)!,
    modelsDir: resolve(read(k.modelsDir) ?? resolve(PROJECT_ROOT, 'models')),
    defaultModel: read(k.defaultModel),
    db,
    dbSynchronous: read(k.dbSynchronous)!,
    bodyLimitBytes: read(k.bodyLimitBytes)!,
    maxBatch: read(k.maxBatch)!,
    shutdownTimeoutMs: read(k.shutdownTimeoutMs)!,
    tracesExporter: read(k.tracesExporter)!,
    logLevel: read(k.logLevel)!,
    windowMs: read(k.windowMs)!,
    evalIntervalMs: read(k.evalIntervalMs)!,
    minWindow: read(k.minWindow)!,
    exactWindowRows: read(k.exactWindowRows)!,
    exactCohortLabels: read(k.exactCohortLabels)!,
    ksMinStatistic: read(k.ksMinStatistic)!,
    pValueCorrection: read(k.pValueCorrection)!,
    binQuantiles: read(k.binQuantiles)!,
    topK: read(k.topK)!,
    acceptEventTime: read(k.acceptEventTime)!,
    maxEventAgeMs: read(k.maxEventAgeMs)!,
    labelDelayMs: read(k.labelDelayMs),
    dbPasswordFile: read(k.dbPasswordFile),
    dbPoolSize: read(k.dbPoolSize)!,
    replicaId: read(k.replicaId) ?? `${hostname()}:${process.pid}`,
    leaderPollMs: read(k.leaderPollMs)!,
    retentionMs: read(k.retentionMs)!,
    diskMinFreeBytes: read(k.diskMinFreeBytes)!,
    dbSizeBudgetBytes: read(k.dbSizeBudgetBytes)!,
    retentionIntervalMs: read(k.retentionIntervalMs)!,
    // Beside a SQLite file; on PostgreSQL `archive/` in the working directory (a fleet points
    // every replica at storage they share: any replica may run a retention pass).
    archiveDir: resolve(read(k.archiveDir) ?? (db.engine === 'sqlite' ? resolve(dirname(db.path), 'archive') : 'archive')),
    ingestQueueRows: read(k.ingestQueueRows)!,
    ingestPairTimeoutMs: read(k.ingestPairTimeoutMs)!,
    labelsToken: readSecret(env, SECRET_KEYS.labelsToken),
    predictToken: readSecret(env, SECRET_KEYS.predictToken),
    adminToken: readSecret(env, SECRET_KEYS.adminToken),
  };
}

/** What the client commands (`vigia simulate`, `vigia report`) read from their environment. */
export interface ClientConfig {
  /** The running service they talk to. */
  readonly url: string;
}

const httpUrl = (raw: string, key: string): string => {
  let url: URL;
  try {
    url = new URL(raw.trim());
  } catch {
    throw new ConfigError(key, raw, 'an http:// or https:// URL such as http://localhost:8080');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') throw new ConfigError(key, raw, 'an http:// or https:// URL such as http://localhost:8080');
  return raw.trim().replace(/\/+$/, '');
};

/** The keys of the client commands; each is also their flag. The second table of docs/configuration.md is this list. */
export const CLIENT_CONFIG_KEYS = {
  url: { key: 'VIGIA_URL', flag: '--url', doc: 'the running service that vigia simulate and vigia report talk to', fallback: 'http://localhost:8080', parse: httpUrl },
} satisfies { [K in keyof ClientConfig]: KeySpec<unknown> };

/** Reads the client commands' configuration from `env`; throws a `ConfigError` naming the key and the value. */
export function loadClientConfig(env: Readonly<Record<string, string | undefined>>): ClientConfig {
  const spec = CLIENT_CONFIG_KEYS.url;
  const raw = env[spec.key];
  return { url: spec.parse(raw === undefined || raw === '' ? spec.fallback : raw, spec.key) };
}
