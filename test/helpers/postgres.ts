import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, chownSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { freePort } from './stack.js';

/** Where Debian's postgresql package puts the server binaries (.ci/run installs it). */
const BIN = process.env['VIGIA_TEST_PG_BIN'] ?? '/usr/lib/postgresql/15/bin';

/**
 * Why the PostgreSQL tests cannot run here, or undefined when they can. In CI (CI=true) a
 * missing PostgreSQL fails the run instead: a skipped check is not a passing one.
 */
export function postgresMissing(): string | undefined {
  const missing = !existsSync(join(BIN, 'pg_ctl')) ? `PostgreSQL is not installed (no ${BIN}/pg_ctl): apt-get install postgresql (.ci/run does)` : undefined;
  if (missing === undefined) return undefined;
  if (process.env['CI'] === 'true') throw new Error(missing);
  process.stderr.write(`\n*** SKIPPING the PostgreSQL tests: ${missing} ***\n\n`);
  return missing;
}

export interface PgCluster {
  /** `postgres://postgres@127.0.0.1:PORT/vigia`: a fresh, empty database. */
  readonly url: string;
  readonly port: number;
  /** A new empty database on the same cluster, for a test that needs its own. */
  createDatabase(name: string): Promise<string>;
  /** Stops the server (fast shutdown), keeping its data: the failure tests' outage. */
  stop(): void;
  /** Starts it again on the same port and data. */
  start(): void;
  /** Stops the server and removes its data. */
  close(): Promise<void>;
}

const asPostgres = (args: string[]) => {
  // We run as root in CI; PostgreSQL refuses to, so the server runs as the postgres user.
  const run = process.getuid?.() === 0 ? spawnSync('su', ['postgres', '-s', '/bin/sh', '-c', args.map((a) => `'${a.replaceAll("'", "'\\''")}'`).join(' ')], { encoding: 'utf8' }) : spawnSync(args[0]!, args.slice(1), { encoding: 'utf8' });
  if (run.status !== 0) throw new Error(`${args.join(' ')} failed (${run.status}): ${run.stderr}${run.stdout}`);
};

/**
 * A throwaway PostgreSQL cluster on a temporary folder and a free loopback port, with a
 * `vigia` database. `fsync` is off by default (the tests check behaviour, not power loss);
 * the benchmark turns it on.
 */
export async function startPostgres(opts: { fsync?: boolean } = {}): Promise<PgCluster> {
  const dir = mkdtempSync(join(tmpdir(), 'vigia-pg-'));
  chmodSync(dir, 0o700);
  const data = join(dir, 'data');
  if (process.getuid?.() === 0) {
    const uid = Number(execFileSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).trim());
    const gid = Number(execFileSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).trim());
    chownSync(dir, uid, gid);
  }
  asPostgres([join(BIN, 'initdb'), '-D', data, '-A', 'trust', '-U', 'postgres', '--no-sync', '-E', 'UTF8']);
  const port = await freePort();
  const options = `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1 -c fsync=${opts.fsync === true ? 'on' : 'off'} -c max_connections=200`;
  const start = () => asPostgres([join(BIN, 'pg_ctl'), '-D', data, '-o', options, '-l', join(dir, 'log'), '-w', 'start']);
  const stop = () => asPostgres([join(BIN, 'pg_ctl'), '-D', data, '-m', 'fast', '-w', 'stop']);
  start();
  const base = `postgres://postgres@127.0.0.1:${port}`;
  const createDatabase = async (name: string) => {
    const c = new pg.Client({ connectionString: `${base}/postgres` });
    await c.connect();
    try {
      await c.query(`CREATE DATABASE ${name}`);
    } finally {
      await c.end();
    }
    return `${base}/${name}`;
  };
  const url = await createDatabase('vigia');
  let closed = false;
  return {
    url, port, createDatabase, stop, start,
    close: async () => {
      if (closed) return;
      closed = true;
      try {
        stop();
      } catch {
        // already stopped by a test
      }
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
