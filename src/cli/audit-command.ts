import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { dirname, join } from 'node:path';
import { loadConfig } from '../config.js';
import { verifyArchives } from '../store/archive-verify.js';
import { verifyAuditChain } from '../store/audit-verify.js';
import pg from 'pg';
import { verifyPgAuditLog } from '../store/pg-audit-verify.js';
import { readCheckpoint } from '../store/pg-retention.js';
import { connectionConfig, redactUrl } from '../store/postgres.js';
import { errorMessage } from './args.js';
import { openReadOnly, postgresUrl } from './db-arg.js';

const EXIT_BROKEN = 1;
const EXIT_BAD_INPUT = 2;

function verify(flags: { db?: string; archiveDir?: string }): number {
  let opened: ReturnType<typeof openReadOnly> | undefined;
  try {
    opened = openReadOnly(flags.db);
    const started = process.hrtime.bigint();
    const archiveDir = flags.archiveDir ?? (flags.db === undefined ? loadConfig(process.env).archiveDir : join(dirname(opened.path), 'archive'));
    const archives = verifyArchives(archiveDir);
    if (!archives.ok) {
      const b = archives.firstBreak!;
      process.stdout.write(`audit archives ${archiveDir}: BROKEN — ${b.file}: ${b.reason}${b.seq === null ? '' : ` (first row that does not match: seq ${b.seq}${b.id === null ? '' : `, prediction ${b.id}`})`}\n`);
      return EXIT_BROKEN;
    }
    if (archives.files > 0) process.stderr.write(`vigia: ${archives.rows.toLocaleString('en-US')} archived rows in ${archives.files} files verified\n`);
    const r = verifyAuditChain(opened.db, (rows) => process.stderr.write(`vigia: ${rows.toLocaleString('en-US')} rows verified\n`), archives.head);
    const seconds = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
    const unchained = r.unchained === 0 ? '' : `; ${r.unchained.toLocaleString('en-US')} rows written before the chain existed are not covered`;
    if (r.ok) {
      const archived = archives.files === 0 ? '' : ` after ${archives.rows.toLocaleString('en-US')} archived rows in ${archives.files} files`;
      process.stdout.write(`audit log ${opened.path}: intact — ${r.rows.toLocaleString('en-US')} rows in ${r.links.toLocaleString('en-US')} links verified${archived} in ${seconds} s${unchained}; head ${r.head}\n`);
      return 0;
    }
    const b = r.firstBreak!;
    process.stdout.write(`audit log ${opened.path}: BROKEN — ${b.reason}${b.seq === null ? '' : ` (first row that does not match: seq ${b.seq}${b.id === null ? '' : `, prediction ${b.id}`})`}; ${r.rows.toLocaleString('en-US')} rows in ${r.links.toLocaleString('en-US')} links verified before it\n`);
    return EXIT_BROKEN;
  } catch (err) {
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    return err instanceof UsageError ? EXIT_BAD_INPUT : EXIT_BROKEN;
  } finally {
    opened?.db.close();
  }
}

/**
 * PostgreSQL: the retention archives' chain and that it ends where the database's archive
 * checkpoint says, then every writer's chain over the database and the archives
 * (verifyPgAuditLog).
 */
async function verifyPostgres(url: string, archiveDir: string): Promise<number> {
  const where = redactUrl(url);
  const started = process.hrtime.bigint();
  const archives = verifyArchives(archiveDir, 'postgres');
  if (!archives.ok) {
    const b = archives.firstBreak!;
    process.stdout.write(`audit archives ${archiveDir}: BROKEN — ${b.file}: ${b.reason}${b.seq === null ? '' : ` (first row that does not match: seq ${b.seq}${b.id === null ? '' : `, prediction ${b.id}`})`}\n`);
    return EXIT_BROKEN;
  }
  if (archives.files > 0) process.stderr.write(`vigia: ${archives.rows.toLocaleString('en-US')} archived rows in ${archives.files} files verified\n`);
  const client = new pg.Client(connectionConfig(url));
  try {
    try {
      await client.connect();
    } catch (err) {
      throw new UsageError('--db', where, `cannot be read: ${(err as Error).message}`);
    }
    const checkpoint = await readCheckpoint(client);
    if (checkpoint.hash !== archives.head || checkpoint.rows !== archives.rows) {
      process.stdout.write(`audit archives ${archiveDir}: BROKEN — the database ${where} says ${checkpoint.rows.toLocaleString('en-US')} rows were archived up to link ${checkpoint.link} (${checkpoint.hash.slice(0, 16)}…), the archives hold ${archives.rows.toLocaleString('en-US')} rows in ${archives.links} links ending at ${archives.head.slice(0, 16)}…: an archive is missing, extra or replaced\n`);
      return EXIT_BROKEN;
    }
    const r = await verifyPgAuditLog(client, archives, (rows) => process.stderr.write(`vigia: ${rows.toLocaleString('en-US')} rows verified\n`));
    const seconds = (Number(process.hrtime.bigint() - started) / 1e9).toFixed(1);
    const verified = `${r.rows.toLocaleString('en-US')} rows in ${r.links.toLocaleString('en-US')} links of ${r.writers} writers verified`;
    if (!r.ok) {
      const b = r.firstBreak!;
      process.stdout.write(`audit log ${where}: BROKEN — ${b.reason}${b.seq === null ? '' : ` (first row that does not match: seq ${b.seq}${b.writer === null ? '' : ` of writer ${b.writer}`}${b.id === null ? '' : `, prediction ${b.id}`})`}; ${verified} before it\n`);
      return EXIT_BROKEN;
    }
    const archived = archives.files === 0 ? '' : ` after ${archives.rows.toLocaleString('en-US')} archived rows in ${archives.files} files`;
    const unchained = r.unchained === 0 ? '' : `; ${r.unchained.toLocaleString('en-US')} rows written before the chain existed are not covered`;
    process.stdout.write(`audit log ${where}: intact — ${verified}${archived} in ${seconds} s${unchained}; register head ${r.registerHead}\n`);
    return 0;
  } finally {
    await client.end().catch(() => undefined);
  }
}

async function verifyAny(flags: { db?: string; archiveDir?: string }): Promise<number> {
  let url;
  try {
    url = postgresUrl(flags.db);
  } catch (err) {
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    return EXIT_BAD_INPUT;
  }
  if (url === undefined) return verify(flags);
  try {
    return await verifyPostgres(url, flags.archiveDir ?? loadConfig(process.env).archiveDir);
  } catch (err) {
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    return err instanceof UsageError ? EXIT_BAD_INPUT : EXIT_BROKEN;
  }
}

/** `vigia audit verify`: re-checks the audit log's hash chain. */
export function auditCommand(done: (code: number) => void): Command {
  const audit = new Command('audit').description('tamper evidence of the audit log');
  audit
    .command('verify')
    .description('re-check the hash chain over the whole audit log and name the first row that does not match')
    .option('--db <path>', 'the audit log to verify: a SQLite file or a postgres:// URL (default: VIGIA_DB)')
    .option('--archive-dir <dir>', 'its retention archives, checked first (default: VIGIA_ARCHIVE_DIR, or archive/ beside a SQLite --db)')
    .addHelpText('after', '\nExit codes: 0 intact, 1 a row or link does not match (or the check failed), 2 bad usage.')
    .exitOverride()
    .action(async (flags: { db?: string; archiveDir?: string }) => {
      done(await verifyAny(flags));
    });
  return audit.exitOverride();
}
