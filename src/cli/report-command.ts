import { Command, InvalidArgumentError } from 'commander';
import { ServiceUnreachable, createHttpClient, getJson } from '../client/http.js';
import { UsageError } from '../errors.js';
import { limitsFromDescription, type ServedReport } from '../report/limits.js';
import { readReport } from '../report/reading.js';
import { renderWeekly, windowNote } from '../report/weekly.js';
import { durationOption, errorMessage, serviceUrl, urlOption } from './args.js';
import { writeFileAtomically } from './write-file.js';

interface ReportFlags {
  url?: string;
  model?: string;
  window: number;
  format: 'md' | 'html';
  out?: string;
  timeout: number;
}

interface DescribedModel {
  readonly name: string;
  readonly default?: boolean;
  readonly threshold: number;
  readonly bands: readonly { readonly name: string; readonly min_probability: number; readonly action: string }[];
  readonly thresholds?: Readonly<Record<string, unknown>>;
}

const EXIT_FAILED = 1;
const EXIT_BAD_INPUT = 2;

function formatArg(value: string): 'md' | 'html' {
  if (value !== 'md' && value !== 'html') throw new InvalidArgumentError('expected md or html.');
  return value;
}

/** Reads the model's report from the running service (evaluated now) and renders the weekly report. */
async function run(flags: ReportFlags, env: Readonly<Record<string, string | undefined>>): Promise<number> {
  const url = serviceUrl(flags.url, env);
  if (url === undefined) return EXIT_BAD_INPUT;
  const client = createHttpClient(new URL(url), { maxSockets: 2, timeoutMs: flags.timeout });
  try {
    const models = ((await getJson(client, '/v1/models')) as { models: DescribedModel[] }).models;
    const model = flags.model === undefined ? models.find((m) => m.default === true) ?? models[0] : models.find((m) => m.name === flags.model);
    if (model === undefined) throw new UsageError('--model', flags.model ?? '', `the service at ${url} has no such model; it serves ${models.map((m) => m.name).join(', ') || 'none'}`);
    const report = (await getJson(client, `/v1/models/${encodeURIComponent(model.name)}/report?refresh=true`)) as ServedReport;
    const text = renderWeekly(
      readReport(report, limitsFromDescription(model, report)),
      { generatedAt: new Date().toISOString(), source: url, windowNote: windowNote(flags.window / 1000, report.window.length_seconds) },
      flags.format,
    );
    if (flags.out === undefined) {
      process.stdout.write(text);
    } else {
      await writeFileAtomically(flags.out, text);
      process.stderr.write(`vigia: weekly report of ${model.name} (${report.summary.status}) written to ${flags.out}\n`);
    }
    return 0;
  } catch (err) {
    process.stderr.write(`vigia: ${errorMessage(err)}\n`);
    if (err instanceof ServiceUnreachable) return EXIT_FAILED;
    return err instanceof UsageError || typeof (err as NodeJS.ErrnoException).path === 'string' ? EXIT_BAD_INPUT : EXIT_FAILED;
  } finally {
    await client.close();
  }
}

/** `vigia report`: the weekly report of a model, from a running service. */
export function reportCommand(done: (code: number) => void, env: Readonly<Record<string, string | undefined>>): Command {
  return new Command('report')
    .description("the weekly report of a model (API performance, data drift, model performance, actions) in Markdown or HTML, read from a running service's report")
    .addOption(urlOption())
    .option('--model <name>', "the model (default: the service's default model)")
    .addOption(durationOption('--window <duration>', "the period to report on; the service evaluates its own window (VIGIA_WINDOW), and the report says when they differ", 1000, '7d'))
    .option('--format <md|html>', 'Markdown or a self-contained HTML page', formatArg, 'md')
    .option('--out <file>', 'write the report to this file instead of standard output')
    .addOption(durationOption('--timeout <duration>', 'give up on the service after this long', 1, '60s'))
    .addHelpText('after', '\nExit codes: 0 written, 1 the service was unreachable or failed, 2 bad usage.')
    .exitOverride()
    .action(async (flags: ReportFlags) => {
      done(await run(flags, env));
    });
}
