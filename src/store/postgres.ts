import { readFileSync } from 'node:fs';
import pg from 'pg';
import { MIGRATIONS } from './migrations.js';

/** Arbitrary constants naming Vigia's advisory locks (pg_advisory_lock takes a bigint). */
export const ADVISORY_LOCKS = { migrate: 0x76696701, partitions: 0x76696702, evaluator: 0x76696703, windowBuckets: 0x76696704, retention: 0x76696705, auditWriters: 0x76696706, cohortBuckets: 0x76696707 } as const;

/**
 * Settings of every Vigia connection: a commit returns only once its WAL is flushed
 * (`synchronous_commit = on`, whatever the server's default), and a dead peer is noticed by
 * TCP keepalives within about a minute rather than the kernel's two hours.
 */
export function connectionConfig(url: string): pg.ClientConfig {
  return { connectionString: url, options: '-c synchronous_commit=on', keepAlive: true, keepAliveInitialDelayMillis: 10_000, connectionTimeoutMillis: 5000 };
}

/** The database's address without its password, for logs and errors. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== '') u.password = '***';
    return u.toString();
  } catch {
    return 'postgres://(unparsable URL)';
  }
}

/**
 * The URL with the password read from `passwordFile` (a Docker secret) when the URL names
 * none; throws naming the file when it cannot be read.
 */
export function urlWithPassword(url: string, passwordFile: string | undefined): string {
  if (passwordFile === undefined) return url;
  const u = new URL(url);
  if (u.password !== '') return url;
  let password: string;
  try {
    password = readFileSync(passwordFile, 'utf8').trim();
  } catch (err) {
    throw new Error(`cannot read the PostgreSQL password file ${passwordFile} (VIGIA_DB_PASSWORD_FILE): ${(err as Error).message}`);
  }
  u.password = encodeURIComponent(password);
  return u.toString();
}

/** Applies the PostgreSQL steps not yet run, under an advisory lock so replicas starting together take turns. */
export async function migratePostgres(client: pg.ClientBase, target = MIGRATIONS.length): Promise<number> {
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.migrate]);
    await client.query('CREATE TABLE IF NOT EXISTS vigia_schema (version integer NOT NULL)');
    const row = (await client.query<{ version: number }>('SELECT version FROM vigia_schema')).rows[0];
    if (row === undefined) await client.query('INSERT INTO vigia_schema (version) VALUES (0)');
    const current = row?.version ?? 0;
    if (current > MIGRATIONS.length) throw new Error(`schema version ${current} is newer than this Vigia knows (${MIGRATIONS.length})`);
    for (let v = current; v < target; v++) {
      const sql = MIGRATIONS[v]!.postgres;
      if (sql !== null) await client.query(sql);
    }
    if (target > current) await client.query('UPDATE vigia_schema SET version = $1', [target]);
    await client.query('COMMIT');
    return Math.max(current, target);
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** A month's partitions: `predictions_YYYYMM`, `labels_YYYYMM` and `audit_links_YYYYMM`, over event times [fromMs, toMs). */
export interface Month {
  readonly fromMs: number;
  readonly toMs: number;
  /** The predictions partition. */
  readonly name: string;
  /** The labels partition, same bounds. */
  readonly labels: string;
  /** The hash chain's links of the month's rows, same bounds (on `month_ms`). */
  readonly links: string;
}

/** The first ms of the UTC month holding `ms`, and of the next one. */
export function monthOf(ms: number): Month {
  const d = new Date(ms);
  const y = d.getUTCFullYear();
  const m = d.getUTCMonth();
  const suffix = `${y}${String(m + 1).padStart(2, '0')}`;
  return { fromMs: Date.UTC(y, m, 1), toMs: Date.UTC(y, m + 1, 1), name: `predictions_${suffix}`, labels: `labels_${suffix}`, links: `audit_links_${suffix}` };
}

/** The month a partition's name (`predictions_YYYYMM` or `labels_YYYYMM`) stands for, or undefined. */
export function monthOfPartition(name: string): Month | undefined {
  const m = /^(?:predictions|labels)_(\d{4})(\d{2})$/.exec(name);
  if (m === null) return undefined;
  return monthOf(Date.UTC(Number(m[1]), Number(m[2]) - 1, 1));
}

/**
 * Creates the monthly partitions of `predictions`, `labels` and `audit_links` that hold the given event
 * times, if they do not exist (serialised by an advisory lock: replicas may ask for the same
 * month at once).
 */
export async function ensurePartitions(client: pg.ClientBase, eventTimesMs: Iterable<number>): Promise<string[]> {
  const months = new Map<string, Month>();
  for (const t of eventTimesMs) {
    const m = monthOf(t);
    months.set(m.name, m);
  }
  await client.query('BEGIN');
  try {
    await client.query('SELECT pg_advisory_xact_lock($1)', [ADVISORY_LOCKS.partitions]);
    for (const m of months.values()) {
      await client.query(`CREATE TABLE IF NOT EXISTS ${m.name} PARTITION OF predictions FOR VALUES FROM (${m.fromMs}) TO (${m.toMs})`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${m.labels} PARTITION OF labels FOR VALUES FROM (${m.fromMs}) TO (${m.toMs})`);
      await client.query(`CREATE TABLE IF NOT EXISTS ${m.links} PARTITION OF audit_links FOR VALUES FROM (${m.fromMs}) TO (${m.toMs})`);
    }
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
  return [...months.keys()];
}

/**
 * The months this process knows to have their partitions, so that a write asks PostgreSQL to
 * create them (under the advisory lock) only for a month it has not seen. `forget` after an
 * insert found no partition: retention (on any replica) may have dropped a known month.
 */
export class KnownPartitions {
  private readonly known = new Set<string>();

  async ensure(client: pg.ClientBase, eventTimesMs: readonly number[]): Promise<void> {
    if (eventTimesMs.every((t) => this.known.has(monthOf(t).name))) return;
    for (const m of await ensurePartitions(client, eventTimesMs)) this.known.add(m);
  }

  forget(): void {
    this.known.clear();
  }
}

/** "no partition of relation … found for row" (check_violation). */
export const NO_PARTITION = '23514';

/** An error of the connection itself (not of the statement): the client goes back to the pool destroyed. */
export function isConnectionError(err: unknown): boolean {
  const code = (err as { code?: string }).code;
  return code === undefined || code.startsWith('08') || code === '57P01' || code === '57P02' || code === '57P03';
}

/**
 * Runs `work` in one transaction on a pooled connection, after `prepare` (outside it: the
 * partitions a write needs are created in their own transaction). Rolls back on any error;
 * a connection that broke goes back to the pool destroyed.
 */
export async function inTransaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>, prepare?: (client: pg.PoolClient) => Promise<void>): Promise<T> {
  const client = await pool.connect();
  let broken: Error | undefined;
  // A checked-out client whose connection dies between two queries (the server restarted, an
  // administrator ended it) emits 'error' with no listener of the pool's: without this one that
  // would end the process. The client then goes back to the pool destroyed.
  const onError = (err: Error) => {
    broken ??= err;
  };
  client.on('error', onError);
  try {
    await prepare?.(client);
    await client.query('BEGIN');
    try {
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch((e: Error) => {
        broken = e;
      });
      throw err;
    }
  } catch (err) {
    broken ??= isConnectionError(err) ? (err as Error) : undefined;
    throw err;
  } finally {
    // A broken client keeps the listener: it is destroyed, and may still report its socket's end.
    if (broken === undefined) client.off('error', onError);
    client.release(broken);
  }
}

export interface PostgresOptions {
  readonly url: string;
  readonly poolSize: number;
  /** Errors of idle pooled connections (the server went away): logged, never thrown. */
  readonly onIdleError?: (err: Error) => void;
}

/**
 * Connects a pool to the database, migrates it and creates the partitions of this month and
 * the next two. Throws naming the (password-free) URL when the database cannot be reached.
 */
export async function openPostgres(opts: PostgresOptions): Promise<pg.Pool> {
  const pool = new pg.Pool({ ...connectionConfig(opts.url), max: opts.poolSize });
  pool.on('error', (err) => opts.onIdleError?.(err));
  try {
    const client = await pool.connect();
    try {
      await migratePostgres(client);
      const now = Date.now();
      await ensurePartitions(client, [now, monthOf(now).toMs, monthOf(monthOf(now).toMs).toMs]);
    } finally {
      client.release();
    }
  } catch (err) {
    await pool.end().catch(() => undefined);
    throw new Error(`cannot open the database ${redactUrl(opts.url)} (VIGIA_DB): ${(err as Error).message}`);
  }
  return pool;
}
