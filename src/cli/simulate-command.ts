import { join } from 'node:path';
import { Command, InvalidArgumentError } from 'commander';
import { PROJECT_ROOT } from '../config.js';
import { CsvError } from '../data/csv.js';
import { BundleError, UsageError } from '../errors.js';
import { ServiceUnreachable } from '../client/http.js';
import { exitCodeOf, simulate } from '../simulate/run.js';
import { SCENARIO_NAMES } from '../simulate/scenarios.js';
import { formatProgress, formatSummary } from '../simulate/summary.js';
import { durationOption, errorMessage, integerArg, numberArg, serviceUrl, urlOption } from './args.js';

export const DEMO_BUNDLE = join(PROJECT_ROOT, 'models', 'credit-default');

interface SimulateFlags {
  url?: string;
  model?: string;
  bundle?: string;
  csv?: string;
  labelColumn?: string;
  scenario: string;
  feature?: string;
  factor?: number;
  shift?: number;
  share?: number;
  segment?: string;
  category?: number;
  rows?: number;
  batch: number;
  rate?: number;
  concurrency: number;
  seed: number;
  spreadDays?: number;
  labelsAfter?: number;
  timeout: number;
  json?: boolean;
}

const EXIT_BAD_INPUT = 2;
const EXIT_FAILED = 1;

function intCode(value: string): number {
  if (!/^-?\d+$/.test(value.trim())) throw new InvalidArgumentError('expected an integer category code.');
  return Number(value);
}

/**
 * Progress on stderr: on a terminal one line rewritten every second; otherwise (a log, CI)
 * a plain line every five seconds.
 */
function progressWriter(): { every: number; write: (line: string) => void; note: (line: string) => void; end: () => void } {
  const tty = process.stderr.isTTY === true;
  let open = false;
  return {
    every: tty ? 1000 : 5000,
    write: (line) => {
      if (tty) {
        process.stderr.write(`\r${line}\x1b[K`);
        open = true;
      } else {
        process.stderr.write(`${line}\n`);
      }
    },
    note: (line) => {
      process.stderr.write(`${open ? '\r\x1b[K' : ''}vigia simulate: ${line}\n`);
      open = false;
    },
    end: () => {
      if (open) process.stderr.write('\n');
      open = false;
    },
  };
}

async function run(flags: SimulateFlags, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const url = serviceUrl(flags.url, env);
  if (url === undefined) return EXIT_BAD_INPUT;
  if (flags.csv !== undefined && flags.bundle !== undefined) {
    process.stderr.write(`vigia: --csv ${JSON.stringify(flags.csv)}: give either --csv or --bundle, not both\n`);
    return EXIT_BAD_INPUT;
  }
  const progress = progressWriter();
  const abort = new AbortController();
  const interrupt = () => abort.abort();
  process.once('SIGINT', interrupt);
  try {
    const summary = await simulate(
      {
        url,
        bundle: flags.bundle ?? DEMO_BUNDLE,
        csv: flags.csv,
        model: flags.model,
        labelColumn: flags.labelColumn,
        rows: flags.rows,
        rate: flags.rate,
        spreadDays: flags.spreadDays,
        labelsAfterMs: flags.labelsAfter,
        batch: flags.batch,
        concurrency: flags.concurrency,
        seed: flags.seed,
        scenario: flags.scenario,
        params: { feature: flags.feature, factor: flags.factor, shift: flags.shift, share: flags.share, segment: flags.segment, category: flags.category },
        timeoutMs: flags.timeout,
      },
      { onProgress: (p) => progress.write(formatProgress(p)), progressEveryMs: progress.every, onNote: progress.note, signal: abort.signal },
    );
    progress.end();
    process.stdout.write(flags.json === true ? `${JSON.stringify(summary)}\n` : formatSummary(summary));
    return exitCodeOf(summary);
  } catch (err) {
    progress.end();
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    if (err instanceof ServiceUnreachable) return EXIT_FAILED;
    const badInput = err instanceof UsageError || err instanceof CsvError || err instanceof BundleError || typeof (err as NodeJS.ErrnoException).path === 'string';
    return badInput ? EXIT_BAD_INPUT : EXIT_FAILED;
  } finally {
    process.off('SIGINT', interrupt);
  }
}

/** `vigia simulate`: replays reference rows against a running service, with a drift scenario. */
export function simulateCommand(done: (code: number) => void, env: Readonly<Record<string, string | undefined>>): Command {
  return new Command('simulate')
    .description("replay a bundle's reference rows (or a CSV file) against a running service, optionally with a drift scenario, event times and late labels")
    .addOption(urlOption())
    .option('--model <name>', "the model to score (default: the bundle's model; with --csv, the service's default model)")
    .option('--bundle <dir>', `the model bundle whose reference sample is replayed (default ${DEMO_BUNDLE})`)
    .option('--csv <file>', "a CSV file with the model's feature columns to replay instead")
    .option('--label-column <name>', "the file's label column (default: the model's)")
    .option('--scenario <name>', `what to do to the rows: ${SCENARIO_NAMES.join(', ')}`, 'stable')
    .option('--feature <name>', 'the feature a scenario changes (covariate-shift, category-shift, missing-values, gradual)')
    .option('--factor <x>', 'multiply the feature by x (covariate-shift, gradual)', numberArg(-1e12, 1e12))
    .option('--shift <x>', 'add x to the feature (covariate-shift, gradual)', numberArg(-1e12, 1e12))
    .option('--share <p>', 'the share of rows a scenario touches, 0 to 1', numberArg(0, 1))
    .option('--segment <cond>', "a segment such as 'AGE<30' or 'LIMIT_BAL>=300000' (population-shift, concept-drift)")
    .option('--category <code>', 'the category code the mix moves toward (category-shift)', intCode)
    .option('--rows <n>', 'rows to send in all (default: every row of the file once)', integerArg(1, 1_000_000_000))
    .option('--batch <n>', 'rows per request; 1 sends {"features"}, more send {"instances"}', integerArg(1, 100_000), 1)
    .option('--rate <req/s>', 'requests per second, open loop (default: as fast as the service answers)', numberArg(0.01, 1_000_000))
    .option('--concurrency <n>', 'most requests in flight at once', integerArg(1, 10_000), 8)
    .option('--seed <n>', 'seed of the row order and of the scenario', integerArg(0, 4_294_967_295), 1)
    .option('--spread-days <n>', 'spread event times evenly over the last n days (the service needs VIGIA_ACCEPT_EVENT_TIME=true)', numberArg(0.0001, 3650))
    .addOption(durationOption('--labels-after <duration>', 'post each answered prediction\'s label (from the label column) this long after its answer, e.g. 0s, 30s, 5m', 0))
    .addOption(durationOption('--timeout <duration>', 'give up on one request after this long', 1, '30s'))
    .option('--json', 'print the summary as JSON on stdout')
    .addHelpText('after', '\nExit codes: 0 done, 1 the service was unreachable or most requests failed, 2 bad usage or input.')
    .exitOverride()
    .action(async (flags: SimulateFlags) => {
      done(await run(flags, env));
    });
}
