import { mkdirSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import { migrate } from './migrations.js';

export type SqliteDatabase = Database.Database;

export interface OpenDatabaseOptions {
  readonly path: string;
  /** FULL: a committed row survives power loss; NORMAL: it survives a process crash only. */
  readonly synchronous: 'FULL' | 'NORMAL';
}

/** Opens (creating it and its folder) the SQLite database in WAL mode and applies migrations. */
export function openDatabase(opts: OpenDatabaseOptions): SqliteDatabase {
  if (opts.path !== ':memory:') mkdirSync(dirname(opts.path), { recursive: true });
  const db = new Database(opts.path);
  try {
    db.pragma('journal_mode = WAL');
    db.pragma(`synchronous = ${opts.synchronous}`);
    db.pragma('busy_timeout = 5000');
    db.pragma('foreign_keys = ON');
    migrate(db);
  } catch (err) {
    db.close();
    throw new Error(`cannot open the database ${opts.path} (VIGIA_DB): ${(err as Error).message}`);
  }
  return db;
}
