import { join } from 'node:path';
import { Command, CommanderError, Option } from 'commander';
import { configArg, errorMessage, integerArg, numberArg } from './cli/args.js';
import { reportCommand } from './cli/report-command.js';
import { adminCommand } from './cli/admin-command.js';
import { bundleCommand } from './cli/bundle-command.js';
import { simulateCommand } from './cli/simulate-command.js';
import { exportCommand } from './cli/export-command.js';
import { auditCommand } from './cli/audit-command.js';
import { formatBaselineSummary } from './cli/baseline-summary.js';
import { formatDriftJson, formatDriftTable } from './cli/drift-table.js';
import { writeFileAtomically } from './cli/write-file.js';
import { CONFIG_KEYS, flag, loadConfig, type KeySpec } from './config.js';
import { offlineDrift, type ProgressEvent } from './drift/offline.js';
import { buildModelBaseline } from './drift/reference.js';
import type { DriftThresholds } from './drift/severity.js';
import { startService } from './main.js';
import { loadBundle, type LoadedModel } from './model/bundle.js';
import { createLogger } from './telemetry/logger.js';

/**
 * Adds one `--flag <value>` per configuration key, documented by the key's doc line. Each
 * value is checked as loadConfig checks the key, and a bad one is reported against the flag;
 * a true/false key is a plain switch (`--accept-event-time` alone means true).
 */
function withConfigFlags(cmd: Command): Command {
  for (const spec of Object.values(CONFIG_KEYS)) {
    const isSwitch = spec.parse === flag;
    const option = new Option(`${spec.flag} ${isSwitch ? '[true|false]' : '<value>'}`, `${spec.doc} (env ${spec.key}${spec.fallback === undefined ? '' : `, default ${spec.fallback}`})`)
      .argParser((value: string) => {
        configArg(spec as KeySpec<unknown>)(value);
        return value;
      });
    cmd.addOption(isSwitch ? option.preset('true') : option);
  }
  return cmd;
}

/** The environment with command-line flags laid over it: flags win. */
function envWithFlags(opts: Record<string, unknown>): Record<string, string | undefined> {
  const env: Record<string, string | undefined> = { ...process.env };
  for (const spec of Object.values(CONFIG_KEYS)) {
    const attr = spec.flag.replace(/^--/, '').replace(/-([a-z])/g, (_m, c: string) => c.toUpperCase());
    const v = opts[attr];
    if (typeof v === 'string') env[spec.key] = v;
  }
  return env;
}

async function serve(opts: Record<string, unknown>): Promise<number> {
  const config = loadConfig(envWithFlags(opts));
  const logger = createLogger(config.logLevel);
  const service = await startService(config, logger);
  const models = service.registry.list().map((m) => `${m.manifest.name} ${m.manifest.version}${m.manifest.name === service.registry.defaultModel ? ' (default)' : ''}`);
  logger.info('vigia is serving', { url: service.url, models, db: service.store, models_dir: config.modelsDir, tracing: config.tracesExporter });
  // The signal handlers go in before the "listening" line: whoever reads that line may stop
  // the service at once, and a SIGTERM that arrived before them would kill the process with
  // the default action (no drain, no awaited close, no exit code).
  const stopped = new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      logger.info('shutting down', { signal });
      service.close().then(
        () => {
          logger.info('stopped');
          resolve(0);
        },
        (err: unknown) => {
          logger.error('shutdown failed', { error: (err as Error).message });
          resolve(1);
        },
      );
    };
    process.once('SIGTERM', stop);
    process.once('SIGINT', stop);
  });
  process.stdout.write(`vigia listening on ${service.url} — models: ${models.join(', ')} — audit log: ${service.store}${config.db.engine === 'postgres' ? ` (fleet replica ${config.replicaId})` : ''}\n`);
  return stopped;
}

/** Exit codes of `vigia drift` and `vigia baseline`. */
const EXIT_OK = 0;
const EXIT_CRITICAL = 1;
const EXIT_BAD_INPUT = 2;

/** The defaults of VIGIA_BIN_QUANTILES and VIGIA_TOP_K, and their ranges. */
const QUANTILES = { fallback: 10, min: 2, max: 1000 };
const TOP_K = { fallback: 20, min: 1, max: 10_000 };

function progressLine(e: ProgressEvent): string {
  const what = e.stage === 'read' ? `${e.rows} rows read` : e.stage === 'reread' ? 'read again for its text columns' : `${e.rows} rows scored`;
  return `vigia: ${e.role} ${e.file}: ${what} in ${e.seconds.toFixed(2)} s\n`;
}

interface DriftOptions {
  reference?: string;
  current?: string;
  bundle?: string;
  json?: boolean;
  quantiles: number;
  topK: number;
  minWindow?: number;
  ksMinStatistic?: number;
  pvalueCorrection?: DriftThresholds['correction'];
}

async function drift(opts: DriftOptions & { reference: string; current: string }): Promise<number> {
  let model: LoadedModel | undefined;
  try {
    if (opts.bundle !== undefined) model = await loadBundle(opts.bundle);
    const thresholds: Partial<DriftThresholds> = {
      ...(opts.minWindow === undefined ? {} : { minWindow: opts.minWindow }),
      ...(opts.ksMinStatistic === undefined ? {} : { ksMinStatistic: opts.ksMinStatistic }),
      ...(opts.pvalueCorrection === undefined ? {} : { correction: opts.pvalueCorrection }),
    };
    const result = await offlineDrift({
      reference: opts.reference,
      current: opts.current,
      ...(model === undefined ? {} : { model }),
      quantiles: opts.quantiles,
      topK: opts.topK,
      thresholds,
      onProgress: (e) => process.stderr.write(progressLine(e)),
    });
    for (const s of result.skipped) process.stderr.write(`vigia: warning: column ${JSON.stringify(s.name)} skipped: ${s.reason}\n`);
    process.stdout.write(opts.json === true ? formatDriftJson(result) : formatDriftTable(result));
    return result.summary.status === 'CRITICAL' ? EXIT_CRITICAL : EXIT_OK;
  } catch (err) {
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    return EXIT_BAD_INPUT;
  } finally {
    await model?.scorer?.close();
  }
}

async function baseline(dir: string, opts: { out?: string; quantiles: number; topK: number }): Promise<number> {
  let model: LoadedModel | undefined;
  try {
    model = await loadBundle(dir);
    const built = await buildModelBaseline(model, { quantiles: opts.quantiles, topK: opts.topK, now: new Date() });
    const text = `${JSON.stringify(built)}\n`;
    const out = opts.out ?? join(dir, 'baseline.json');
    if (out === '-') {
      process.stdout.write(text);
      process.stderr.write(formatBaselineSummary(built, 'standard output'));
    } else {
      await writeFileAtomically(out, text);
      process.stdout.write(formatBaselineSummary(built, out));
    }
    return EXIT_OK;
  } catch (err) {
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    return EXIT_BAD_INPUT;
  } finally {
    await model?.scorer?.close();
  }
}

const HELP_HINT = '(vigia <command> --help lists the options)';

/** Runs the `vigia` command line; resolves to the exit code. */
export async function runCli(argv: readonly string[]): Promise<number> {
  let code = 0;
  // Usage errors throw (exitOverride) and exit 2; each says what was wrong in one line and
  // points at --help, instead of printing the whole help after it.
  const program = new Command('vigia')
    .description('Scores ONNX fraud and credit-risk models and monitors them in production.')
    .exitOverride()
    .showHelpAfterError(HELP_HINT);
  withConfigFlags(program.command('serve').description('serve the models of VIGIA_MODELS_DIR over HTTP')).action(async (opts: Record<string, unknown>) => {
    code = await serve(opts);
  });
  program
    .command('drift')
    .description('compare a current CSV file with a reference CSV file: drift per column, and of the predictions with --bundle')
    .option('--reference <file>', 'the reference sample (CSV with a header; required)')
    .option('--current <file>', 'the sample to compare with it (CSV with a header; required)')
    .option('--bundle <dir>', "a model bundle: compare its features only, with its kinds and thresholds, and score both files")
    .option('--json', 'print the result as JSON')
    .option('--quantiles <n>', `reference quantile bins per numeric column`, integerArg(QUANTILES.min, QUANTILES.max), QUANTILES.fallback)
    .option('--top-k <k>', `reference categories kept per categorical column; the rest share __other__`, integerArg(TOP_K.min, TOP_K.max), TOP_K.fallback)
    .option('--min-window <n>', 'fewer current rows than this: insufficient data, no verdict (default 100, or the bundle\'s)', integerArg(0, Number.MAX_SAFE_INTEGER))
    .option('--ks-min-statistic <d>', 'KS p-values count only when D reaches this (default 0.1, or the bundle\'s)', numberArg(0, 1))
    .addOption(new Option('--pvalue-correction <method>', 'multiple-testing correction across the columns (default holm, or the bundle\'s)').choices(['holm', 'bh', 'none']))
    .addHelpText('after', '\nExit codes: 0 nothing critical, 1 critical drift, 2 bad input or usage.')
    .exitOverride()
    .action(async (opts: DriftOptions, cmd: Command) => {
      // Checked here, after commander's unknown-option check: a misspelt --currnet is named
      // as unknown instead of being reported as a missing --current.
      for (const [name, value] of [['--reference <file>', opts.reference], ['--current <file>', opts.current]] as const) {
        if (value === undefined) cmd.error(`error: required option '${name}' not specified`);
      }
      code = await drift(opts as DriftOptions & { reference: string; current: string });
    });
  program
    .command('baseline')
    .description("build a model bundle's drift baseline from its reference sample and write it as JSON")
    .argument('<bundle-dir>', 'the model bundle (vigia.json, model.onnx, reference.csv)')
    .option('--out <file>', 'where to write it; - for standard output (default <bundle-dir>/baseline.json)')
    .option('--quantiles <n>', `reference quantile bins per numeric feature`, integerArg(QUANTILES.min, QUANTILES.max), QUANTILES.fallback)
    .option('--top-k <k>', `reference categories kept per categorical feature`, integerArg(TOP_K.min, TOP_K.max), TOP_K.fallback)
    .addHelpText('after', '\nExit codes: 0 written, 2 bad bundle or usage.')
    .exitOverride()
    .action(async (dir: string, opts: { out?: string; quantiles: number; topK: number }) => {
      code = await baseline(dir, opts);
    });
  const setCode = (c: number) => {
    code = c;
  };
  program.addCommand(simulateCommand(setCode, process.env).showHelpAfterError(HELP_HINT));
  program.addCommand(reportCommand(setCode, process.env).showHelpAfterError(HELP_HINT));
  program.addCommand(exportCommand(setCode).showHelpAfterError(HELP_HINT));
  program.addCommand(auditCommand(setCode).showHelpAfterError(HELP_HINT));
  program.addCommand(adminCommand(setCode).showHelpAfterError(HELP_HINT));
  program.addCommand(bundleCommand(setCode).showHelpAfterError(HELP_HINT));
  try {
    await program.parseAsync([...argv]);
  } catch (err) {
    // Usage errors (exitOverride): commander has printed them; --help and --version exit 0.
    if (err instanceof CommanderError) return err.exitCode === 0 ? EXIT_OK : EXIT_BAD_INPUT;
    throw err;
  }
  return code;
}
