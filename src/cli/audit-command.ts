import { Command } from 'commander';
import { UsageError } from '../errors.js';
import { dirname, join } from 'node:path';
import { loadConfig } from '../config.js';
import { verifyArchives } from '../store/archive-verify.js';
import { verifyAuditChain } from '../store/audit-verify.js';
import { errorMessage } from './args.js';
import { openReadOnly } from './db-arg.js';

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

/** `vigia audit verify`: re-checks the audit log's hash chain. */
export function auditCommand(done: (code: number) => void): Command {
  const audit = new Command('audit').description('tamper evidence of the audit log');
  audit
    .command('verify')
    .description('re-check the hash chain over the whole audit log and name the first row that does not match')
    .option('--db <path>', 'the audit log to verify (default: VIGIA_DB)')
    .option('--archive-dir <dir>', 'its retention archives, checked first (default: VIGIA_ARCHIVE_DIR, or archive/ beside --db)')
    .addHelpText('after', '\nExit codes: 0 intact, 1 a row or link does not match (or the check failed), 2 bad usage.')
    .exitOverride()
    .action((flags: { db?: string; archiveDir?: string }) => {
      done(verify(flags));
    });
  return audit.exitOverride();
}
