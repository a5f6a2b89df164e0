import { rename, rm } from 'node:fs/promises';
import { Command, InvalidArgumentError } from 'commander';
import { loadConfig } from '../config.js';
import { UsageError } from '../errors.js';
import { exportPredictions, type ExportFormat } from '../export/export.js';
import { ExportReader } from '../store/export-rows.js';
import { errorMessage } from './args.js';
import { openReadOnly, timeArg } from './db-arg.js';

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

const peakRssMb = () => (process.resourceUsage().maxRSS / 1024).toFixed(0);

async function run(flags: ExportFlags): Promise<number> {
  const format = flags.format ?? (flags.out.endsWith('.parquet') ? 'parquet' : 'csv');
  let opened: ReturnType<typeof openReadOnly> | undefined;
  const partial = `${flags.out}.${process.pid}.partial`;
  try {
    const now = Date.now();
    const toMs = flags.to === undefined ? now + 1 : timeArg('--to', flags.to);
    const fromMs = flags.from === undefined ? now - loadConfig(process.env).windowMs : timeArg('--from', flags.from);
    if (fromMs >= toMs) throw new UsageError('--from', flags.from ?? new Date(fromMs).toISOString(), `is not before --to (${new Date(toMs).toISOString()})`);
    opened = openReadOnly(flags.db);
    const reader = new ExportReader(opened.db);
    const version = flags.version ?? reader.latestVersion(flags.model);
    if (version === undefined) throw new UsageError('--model', flags.model, `has no prediction in ${opened.path}`);
    process.stderr.write(`vigia: exporting ${flags.model} ${version} from ${new Date(fromMs).toISOString()} to ${new Date(toMs).toISOString()} (${format})\n`);
    const { rows, features } = await exportPredictions({
      rows: reader.iterate(flags.model, version, fromMs, toMs),
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
    opened?.db.close();
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
    .option('--db <path>', 'the audit log to read (default: VIGIA_DB)')
    .addHelpText('after', '\nExit codes: 0 written, 1 failed, 2 bad usage.')
    .exitOverride()
    .action(async (flags: ExportFlags) => {
      done(await run(flags));
    });
}
