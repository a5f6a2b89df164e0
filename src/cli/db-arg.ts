import Database from 'better-sqlite3';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { SCHEMA_VERSION } from '../store/migrations.js';
import { urlWithPassword } from '../store/postgres.js';

const isPostgres = (db: string) => /^postgres(ql)?:\/\//.test(db);

/**
 * The PostgreSQL audit log a command reads, when it reads one: `--db postgres://…`, else
 * VIGIA_DB when it is a PostgreSQL URL (with the password of VIGIA_DB_PASSWORD_FILE, as
 * `vigia serve` connects). Undefined for a SQLite file (openReadOnly opens it).
 */
export function postgresUrl(dbFlag: string | undefined): string | undefined {
  if (dbFlag !== undefined) return isPostgres(dbFlag) ? dbFlag : undefined;
  const config = loadConfig(process.env);
  return config.db.engine === 'postgres' ? urlWithPassword(config.db.url, config.dbPasswordFile) : undefined;
}

/**
 * The SQLite database a command reads: `--db`, else VIGIA_DB (loadConfig), opened read-only
 * at the current schema. A PostgreSQL audit log is read through postgresUrl instead.
 */
export function openReadOnly(dbFlag: string | undefined): { db: Database.Database; path: string } {
  let path = dbFlag;
  if (path === undefined) {
    const { db: target } = loadConfig(process.env);
    if (target.engine !== 'sqlite') throw new UsageError('--db', 'VIGIA_DB (postgres://)', 'is a PostgreSQL URL, and this command reads a SQLite file here: give --db with one');
    path = target.path;
  }
  let db: Database.Database;
  try {
    db = new Database(path, { readonly: true, fileMustExist: true });
  } catch (err) {
    throw new UsageError('--db', path, `cannot be opened: ${(err as Error).message}`);
  }
  const version = db.pragma('user_version', { simple: true }) as number;
  if (version !== SCHEMA_VERSION) {
    db.close();
    throw new UsageError('--db', path, `has schema version ${version}, this Vigia reads ${SCHEMA_VERSION}: start \`vigia serve\` on it once to migrate it`);
  }
  return { db, path };
}

/** A time flag: ISO 8601 or epoch milliseconds. */
export function timeArg(flag: string, value: string): number {
  const ms = /^\d+$/.test(value.trim()) ? Number(value) : Date.parse(value);
  if (!Number.isFinite(ms)) throw new UsageError(flag, value, 'expected an ISO 8601 time (2026-12-01T00:00:00Z) or epoch milliseconds');
  return ms;
}
