import Database from 'better-sqlite3';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { SCHEMA_VERSION } from '../store/migrations.js';

/**
 * The database a command reads: `--db`, else VIGIA_DB (loadConfig), opened read-only at the
 * current schema. SQLite only: `vigia export` does not read a PostgreSQL audit log yet, and
 * `vigia audit verify --db postgres://` checks only the archives (src/cli/audit-command.ts).
 */
export function openReadOnly(dbFlag: string | undefined): { db: Database.Database; path: string } {
  let path = dbFlag;
  if (path === undefined) {
    const { db: target } = loadConfig(process.env);
    if (target.engine !== 'sqlite') throw new UsageError('--db', 'VIGIA_DB (postgres://)', 'this command reads a SQLite audit log only (not PostgreSQL yet): give --db with a SQLite file');
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
