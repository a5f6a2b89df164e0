import { rename, rm } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { exportPredictions, type ExportFormat } from '../export/export.js';
import { ExportReader, type ExportRow } from '../store/export-rows.js';
import { PgExportReader } from '../store/pg-export-rows.js';
import { redactUrl } from '../store/postgres.js';
import { errorMessage } from './args.js';
import { openReadOnly, postgresUrl, timeArg } from './db-arg.js';

interface ExportFlags {
  model: string;
  version?: string;
  from?: string;
  to?: string;
  out: string;
  db?: string;
  format?: ExportFormat;
}

const EXIT_FAILED = 1;
const EXIT_BAD_INPUT = 2;

function formatArg(value: string): ExportFormat {
  if (value !== 'csv' && value !== 'parquet') throw new InvalidArgumentError('expected csv or parquet.');
  return value;
}

/** The audit log the export reads: a SQLite file or a PostgreSQL database, behind one face. */
interface ExportSource {
  /** Where the rows come from, for messages (a URL without its password). */
  readonly where: string;
  latestVersion(model: string): Promise<string | undefined>;
  rows(model: string, version: string, fromMs: number, toMs: number): Iterable<ExportRow> | AsyncIterable<ExportRow>;
  close(): Promise<void>;
}

async function openSource(dbFlag: string | undefined): Promise<ExportSource> {
  const url = postgresUrl(dbFlag);
  if (url !== undefined) {
    const where = redactUrl(url);
    const reader = await PgExportReader.open(url).catch((err: unknown) => {
      throw new Error(`cannot read the PostgreSQL audit log at ${where}: ${errorMessage(err)}`);
    });
    return { where, latestVersion: (m) => reader.latestVersion(m), rows: (...a) => reader.iterate(...a), close: () => reader.close() };
  }
  const opened = openReadOnly(dbFlag);
  const reader = new ExportReader(opened.db);
  return {
    where: opened.path,
    latestVersion: async (m) => reader.latestVersion(m),
    rows: (...a) => reader.iterate(...a),
    close: async () => {
      opened.db.close();
    },
  };
}

const peakRssMb = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);

async function run(flags: ExportFlags): Promise<number> {
  const format = flags.format ?? (flags.out.endsWith('.parquet') ? 'parquet' : 'csv');
  let source: ExportSource | undefined;
  const partial = `${flags.out}.${process.pid}.partial`;
  try {
    const now = Date.now();
    const toMs = flags.to === undefined ? now + 1 : timeArg('--to', flags.to);
    const fromMs = flags.from === undefined ? now - loadConfig(process.env).windowMs : timeArg('--from', flags.from);
    if (fromMs >= toMs) throw new UsageError('--from', flags.from ?? new Date(fromMs).toISOString(), `is not before --to (${new Date(toMs).toISOString()})`);
    source = await openSource(flags.db);
    const version = flags.version ?? (await source.latestVersion(flags.model));
    if (version === undefined) throw new UsageError('--model', flags.model, `has no prediction in ${source.where}`);
    process.stderr.write(`vigia: exporting ${flags.model} ${version} from ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()} (${format})\n`);
    const { rows, features } = await exportPredictions({
      rows: source.rows(flags.model, version, fromMs, toMs),
      out: partial,
      format,
      onProgress: (p) => process.stderr.write(`vigia: ${p.rows.toLocaleString('en-US')} rows exported in ${p.seconds.toFixed(1)} s (${Math.round(p.rows / Math.max(p.seconds, 1e-9)).toLocaleString('en-US')} rows/s, peak RSS ${peakRssMb()} MB)\n`),
    });
    await rename(partial, flags.out);
    process.stderr.write(`vigia: wrote ${rows.toLocaleString('en-US')} rows (${features.length} features, probability, decision, label) to ${flags.out}\n`);
    return 0;
  } catch (err) {
    await rm(partial, { force: true });
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    return err instanceof UsageError ? EXIT_BAD_INPUT : EXIT_FAILED;
  } finally {
    await source?.close();
  }
}

/** `vigia export`: the predictions of a period with their labels, for retraining. */
export function exportCommand(done: (code: number) => void): Command {
  return new Command('export')
    .description('write the predictions of one model version over a period (default: the current window) with their features, probability, decision and the labels that arrived, to CSV or Parquet, streaming')
    .requiredOption('--model <name>', 'the model')
    .option('--version <version>', 'the model version (default: the one with the latest prediction)')
    .option('--from <time>', 'first event time included, ISO 8601 or epoch ms (default: now − VIGIA_WINDOW)')
    .option('--to <time>', 'event times before this are included (default: now)')
    .requiredOption('--out <file>', 'the file to write (written beside it and renamed when complete)')
    .option('--format <csv|parquet>', 'the file format (default: parquet when --out ends in .parquet, else csv)', formatArg)
    .option('--db <path>', 'the audit log to read: a SQLite file or a postgres:// URL (default: VIGIA_DB)')
    .addHelpText('after', '\nExit codes: 0 written, 1 failed, 2 bad usage.')
    .exitOverride()
    .action(async (flags: ExportFlags) => {
      done(await run(flags));
    });
}
