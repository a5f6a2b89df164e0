import { readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ConfigError } from './errors.js';

/** Everything Vigia reads from its environment, parsed once by `loadConfig`. */
export interface Config {
  readonly port: number;
  readonly host: string;
  readonly modelsDir: string;
  readonly defaultModel: string | undefined;
  readonly dbPath: string;
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
  readonly ksMinStatistic: number;
  readonly binQuantiles: number;
  readonly topK: number;
  /** Accept a client-supplied `event_time` on predict requests (simulation and backfill). */
  readonly acceptEventTime: boolean;
  /** Oldest accepted `event_time`, ms before now. */
  readonly maxEventAgeMs: number;
  /** Label delay for every model, ms, overriding the bundles' `label.delay_days` (0 for demos and tests). */
  readonly labelDelayMs: number | undefined;
  /** The bearer token of the admin API (VIGIA_ADMIN_TOKEN, else the content of VIGIA_ADMIN_TOKEN_FILE); undefined closes it. */
  readonly adminToken: string | undefined;
  /** The file VIGIA_ADMIN_TOKEN_FILE names (its content is `adminToken`). */
  readonly adminTokenFile: string | undefined;
}

/** The repository root (where `models/` lives), from this file's place in src/ or dist/. */
export const PROJECT_ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '..');

interface KeySpec<T> {
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
const flag = (raw: string, key: string): boolean => {
  const v = raw.trim().toLowerCase();
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConfigError(key, raw, 'true or false');
};
const text = (raw: string, key: string): string => {
  if (raw.trim() === '') throw new ConfigError(key, raw, 'a non-empty value');
  return raw.trim();
};
const bytes = (raw: string, key: string): number => {
  const m = /^(\d+)\s*(b|kb|mb)?$/i.exec(raw.trim());
  if (!m) throw new ConfigError(key, raw, 'a size such as 1mb, 512kb or 65536');
  const unit = (m[2] ?? 'b').toLowerCase();
  const n = Number(m[1]) * (unit === 'mb' ? 1024 * 1024 : unit === 'kb' ? 1024 : 1);
  if (n < 1024 || n > 512 * 1024 * 1024) throw new ConfigError(key, raw, 'a size from 1kb to 512mb');
  return n;
};

/** Shortest admin token accepted: a guessable token protects nothing. */
export const MIN_TOKEN_LENGTH = 16;
const token = (raw: string, key: string): string => {
  const t = raw.trim();
  if (t.length < MIN_TOKEN_LENGTH || /\s/.test(t)) throw new ConfigError(key, t.length === 0 ? raw : `(hidden, ${t.length} characters)`, `a token of at least ${MIN_TOKEN_LENGTH} characters without spaces`);
  return t;
};
const tokenFile = (raw: string, key: string): string => {
  const path = text(raw, key);
  try {
    readFileSync(path);
  } catch (err) {
    throw new ConfigError(key, raw, `a readable file holding the token (${(err as Error).message})`);
  }
  return resolve(path);
};

/** Every key, its flag, its one-line doc and its default. The table of docs/configuration.md is this list. */
export const CONFIG_KEYS = {
  port: { key: 'PORT', flag: '--port', doc: 'HTTP port to listen on (0 picks a free port)', fallback: '8080', parse: int(0, 65535) },
  host: { key: 'HOST', flag: '--host', doc: 'address to listen on', fallback: '0.0.0.0', parse: text },
  modelsDir: { key: 'VIGIA_MODELS_DIR', flag: '--models-dir', doc: 'folder of model bundles, one sub-folder per model', fallback: undefined, parse: text },
  defaultModel: { key: 'VIGIA_DEFAULT_MODEL', flag: '--default-model', doc: 'model served by POST /predict (default: the only model, or the first by name)', fallback: undefined, parse: text },
  dbPath: { key: 'VIGIA_DB', flag: '--db', doc: 'SQLite file of the audit log (created with its folder)', fallback: './data/vigia.db', parse: text },
  dbSynchronous: { key: 'VIGIA_DB_SYNCHRONOUS', flag: '--db-synchronous', doc: 'SQLite synchronous mode: FULL survives power loss, NORMAL survives process crashes only', fallback: 'FULL', parse: oneOf('FULL', 'NORMAL') },
  bodyLimitBytes: { key: 'VIGIA_BODY_LIMIT', flag: '--body-limit', doc: 'largest request body; larger bodies get 413', fallback: '1mb', parse: bytes },
  maxBatch: { key: 'VIGIA_MAX_BATCH', flag: '--max-batch', doc: 'most instances in one batch request', fallback: '1000', parse: int(1, 100_000) },
  shutdownTimeoutMs: { key: 'VIGIA_SHUTDOWN_TIMEOUT_MS', flag: '--shutdown-timeout-ms', doc: 'how long SIGTERM waits for in-flight requests before closing', fallback: '10000', parse: int(0, 600_000) },
  tracesExporter: { key: 'OTEL_TRACES_EXPORTER', flag: '--traces-exporter', doc: 'OpenTelemetry span exporter: none (default), otlp, zipkin or console; other OTEL_* variables are read by the SDK', fallback: 'none', parse: oneOf('none', 'otlp', 'zipkin', 'console') },
  logLevel: { key: 'VIGIA_LOG_LEVEL', flag: '--log-level', doc: 'least severe log line written to stderr', fallback: 'info', parse: oneOf('debug', 'info', 'warn', 'error') },
  windowMs: { key: 'VIGIA_WINDOW', flag: '--window', doc: 'drift window: the last part of the audit log compared with the reference', fallback: '7d', parse: duration(1000) },
  evalIntervalMs: { key: 'VIGIA_EVAL_INTERVAL', flag: '--eval-interval', doc: 'how often drift is evaluated, off the request path (0s: only on demand)', fallback: '60s', parse: duration(0) },
  minWindow: { key: 'VIGIA_MIN_WINDOW', flag: '--min-window', doc: 'fewer rows than this in the window: statistics say insufficient data, not drift', fallback: '100', parse: int(1, 100_000_000) },
  ksMinStatistic: { key: 'VIGIA_KS_MIN_STATISTIC', flag: '--ks-min-statistic', doc: 'effect-size guard: a KS p-value counts only when D reaches this', fallback: '0.1', parse: fraction },
  binQuantiles: { key: 'VIGIA_BIN_QUANTILES', flag: '--bin-quantiles', doc: 'reference quantile bins per numeric feature (10 = deciles)', fallback: '10', parse: int(2, 1000) },
  topK: { key: 'VIGIA_TOP_K', flag: '--top-k', doc: 'reference categories kept per categorical feature; the rest share __other__', fallback: '20', parse: int(1, 10_000) },
  acceptEventTime: { key: 'VIGIA_ACCEPT_EVENT_TIME', flag: '--accept-event-time', doc: 'accept a client-supplied event_time on predict requests (simulation, backfill); the audit log keeps the server time too', fallback: 'false', parse: flag },
  maxEventAgeMs: { key: 'VIGIA_MAX_EVENT_AGE', flag: '--max-event-age', doc: 'oldest event_time accepted, as a duration before now', fallback: '400d', parse: duration(1000) },
  adminToken: { key: 'VIGIA_ADMIN_TOKEN', flag: '--admin-token', doc: 'bearer token of the admin API (/v1/admin, /v2/repository load and unload); without it (or a token file) those routes answer 403', fallback: undefined, parse: token },
  adminTokenFile: { key: 'VIGIA_ADMIN_TOKEN_FILE', flag: '--admin-token-file', doc: 'a file holding the admin token (a mounted secret), read at start; VIGIA_ADMIN_TOKEN wins when both are set', fallback: undefined, parse: tokenFile },
  labelDelayMs: { key: 'VIGIA_LABEL_DELAY', flag: '--label-delay', doc: 'label delay for every model, overriding the bundles\' label.delay_days (0s: every labelled prediction is matured at once)', fallback: undefined, parse: duration(0) },
} satisfies { [K in keyof Config]: KeySpec<unknown> };

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
  return {
    port: read(k.port)!,
    host: read(k.host)!,
    modelsDir: resolve(read(k.modelsDir) ?? resolve(PROJECT_ROOT, 'models')),
    defaultModel: read(k.defaultModel),
    dbPath: resolve(read(k.dbPath)!),
    dbSynchronous: read(k.dbSynchronous)!,
    bodyLimitBytes: read(k.bodyLimitBytes)!,
    maxBatch: read(k.maxBatch)!,
    shutdownTimeoutMs: read(k.shutdownTimeoutMs)!,
    tracesExporter: read(k.tracesExporter)!,
    logLevel: read(k.logLevel)!,
    windowMs: read(k.windowMs)!,
    evalIntervalMs: read(k.evalIntervalMs)!,
    minWindow: read(k.minWindow)!,
    ksMinStatistic: read(k.ksMinStatistic)!,
    binQuantiles: read(k.binQuantiles)!,
    topK: read(k.topK)!,
    acceptEventTime: read(k.acceptEventTime)!,
    maxEventAgeMs: read(k.maxEventAgeMs)!,
    labelDelayMs: read(k.labelDelayMs),
    ...adminTokens(read(k.adminToken), read(k.adminTokenFile)),
  };
}

/** The admin token: VIGIA_ADMIN_TOKEN, else the content of VIGIA_ADMIN_TOKEN_FILE. */
function adminTokens(direct: string | undefined, file: string | undefined): Pick<Config, 'adminToken' | 'adminTokenFile'> {
  if (direct !== undefined || file === undefined) return { adminToken: direct, adminTokenFile: file };
  return { adminToken: token(readFileSync(file, 'utf8'), CONFIG_KEYS.adminTokenFile.key), adminTokenFile: file };
}
