import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { quantileSorted } from '../drift/baseline.js';
import { UsageError } from '../errors.js';
import { MANIFEST_FILE, parseManifest } from '../model/manifest.js';
import { createHttpClient, getJson } from '../client/http.js';
import { LabelPoster, type LabelCounts } from './labels.js';
import { readPool, type SimRow } from './pool.js';
import { createRng } from './random.js';
import { replay, type ReplayProgress } from './replay.js';
import { buildScenario, type ScenarioParams } from './scenarios.js';
import { pickModel, readModelList } from './schema.js';

export interface SimulateOptions {
  /** The running service, e.g. http://localhost:8080. */
  readonly url: string;
  /** The model to score; default: the bundle's model, or the service's default model with `csv`. */
  readonly model?: string;
  /** A model bundle whose reference sample is replayed (ignored when `csv` is given). */
  readonly bundle: string;
  /** A CSV file with the model's feature columns, replayed instead of the bundle's sample. */
  readonly csv?: string;
  /** The label column of the replayed file (default: the model's). */
  readonly labelColumn?: string;
  /** Rows to send in all (default: every row of the file once). */
  readonly rows?: number;
  /** Rows per request: 1 sends `{"features"}`, more send `{"instances"}`. */
  readonly batch: number;
  /** Requests per second (open loop); undefined: as fast as possible. */
  readonly rate?: number;
  readonly concurrency: number;
  readonly seed: number;
  readonly scenario: string;
  readonly params: ScenarioParams;
  /** Spread event times evenly over the last this many days (sent as `event_time`). */
  readonly spreadDays?: number;
  /** Post each answered prediction's label this long after its answer. */
  readonly labelsAfterMs?: number;
  readonly timeoutMs: number;
}

export interface SimulateIo {
  readonly onProgress?: (p: ReplayProgress) => void;
  readonly progressEveryMs?: number;
  /** A line worth telling the user before or after the run (a warning, a wait). */
  readonly onNote?: (text: string) => void;
  readonly signal?: AbortSignal;
  readonly now?: () => number;
}

export interface SimulationSummary {
  readonly url: string;
  readonly model: string;
  readonly model_version: string;
  readonly source: { readonly file: string; readonly rows: number };
  readonly scenario: { readonly name: string; readonly description: string; readonly params: Readonly<Record<string, number | string>> };
  readonly seed: number;
  readonly batch: number;
  readonly rate: number | null;
  readonly concurrency: number;
  readonly requests: { readonly sent: number; readonly answered: number; readonly failed: number; readonly failures: Readonly<Record<string, { count: number; example: string }>> };
  readonly rows: { readonly planned: number; readonly answered: number };
  readonly duration_seconds: number;
  readonly throughput: { readonly requests_per_second: number; readonly rows_per_second: number };
  readonly latency_ms: { readonly p50: number; readonly p95: number; readonly p99: number; readonly max: number } | null;
  readonly event_time: { readonly from: string; readonly to: string } | null;
  readonly labels: LabelCounts | null;
  /** Why the run stopped early, if it did. */
  readonly stopped: string | null;
}

/** The file, label column and model name a run replays. */
async function source(opts: SimulateOptions): Promise<{ file: string; labelColumn: string | undefined; model: string | undefined }> {
  if (opts.csv !== undefined) return { file: opts.csv, labelColumn: opts.labelColumn, model: opts.model };
  const file = join(opts.bundle, MANIFEST_FILE);
  const manifest = parseManifest(await readFile(file, 'utf8'), file);
  return { file: join(opts.bundle, manifest.referenceFile), labelColumn: opts.labelColumn ?? manifest.labelColumn, model: opts.model ?? manifest.name };
}

/**
 * Replays rows against a running service: asks it for the model's schema, reads the rows,
 * applies the scenario, sends them at the rate or concurrency asked, posts labels after a
 * delay, and sums it up. Throws `UsageError` for flags that do not fit the model or the
 * file, `ServiceUnreachable` when the service cannot be reached.
 */
export async function simulate(opts: SimulateOptions, io: SimulateIo = {}): Promise<SimulationSummary> {
  const now = io.now ?? Date.now;
  const client = createHttpClient(new URL(opts.url), { maxSockets: opts.concurrency + 1, timeoutMs: opts.timeoutMs });
  let poster: LabelPoster | undefined;
  try {
    const src = await source(opts);
    const models = readModelList(await getJson(client, '/v1/models'));
    const schema = pickModel(models, src.model);
    if (schema === undefined) {
      throw new UsageError('--model', src.model ?? '', `the service at ${opts.url} has no such model; it serves ${models.map((m) => m.name).join(', ') || 'none'}`);
    }
    const pool = await readPool(src.file, schema, src.labelColumn ?? schema.labelColumn);
    const scenario = buildScenario(opts.scenario, opts.params, schema);
    const planned = opts.rows ?? pool.rows;
    const rows = scenario.rows(pool, planned, createRng(opts.seed));
    if (opts.labelsAfterMs !== undefined) {
      if (pool.labels === undefined) throw new UsageError('--labels-after', `${opts.labelsAfterMs / 1000}s`, `${src.file} has no label column ${JSON.stringify(src.labelColumn ?? schema.labelColumn ?? '')} to take the labels from`);
      poster = new LabelPoster({ client, delayMs: opts.labelsAfterMs, now });
    } else if (scenario.name === 'concept-drift') {
      io.onNote?.('concept-drift changes labels only: without --labels-after no label is posted, and nothing the service measures changes');
    }

    const requests = Math.ceil(planned / opts.batch);
    const spanMs = opts.spreadDays === undefined ? 0 : opts.spreadDays * 86_400_000;
    const t0 = now();
    // Event times rise with the request index and end at the start of the run: the window
    // holds rows in commit order, so a replay must not send an older event after a newer one.
    const eventTime = (i: number): number => t0 - spanMs + Math.round(((i + 1) * spanMs) / requests);
    const labelsOf = new Map<number, (0 | 1 | null)[]>();
    const out = await replay({
      client,
      path: `/v1/models/${encodeURIComponent(schema.name)}/predict`,
      requests,
      rate: opts.rate,
      concurrency: opts.concurrency,
      makeRequest: (i) => {
        const batch: SimRow[] = [];
        for (let k = 0; k < opts.batch && i * opts.batch + k < planned; k++) batch.push(rows.next().value as SimRow);
        if (poster !== undefined) labelsOf.set(i, batch.map((r) => r.label));
        const at = opts.spreadDays === undefined ? {} : { event_time: new Date(eventTime(i)).toISOString() };
        const body = opts.batch === 1 ? { features: batch[0]!.features, ...at } : { instances: batch.map((r) => r.features), ...at };
        return { body: JSON.stringify(body), rows: batch.length };
      },
      onAnswer: (i, body) => {
        const labels = labelsOf.get(i);
        labelsOf.delete(i);
        if (poster === undefined || labels === undefined) return;
        const answers = (body as { predictions?: { prediction_id?: unknown }[] }).predictions ?? [body as { prediction_id?: unknown }];
        answers.forEach((a, k) => {
          const label = labels[k];
          if (typeof a.prediction_id === 'string' && (label === 0 || label === 1)) poster!.add(a.prediction_id, label);
        });
      },
      onProgress: io.onProgress,
      progressEveryMs: io.progressEveryMs,
      signal: io.signal,
    });
    if (poster !== undefined) {
      const wait = poster.lastDueAt === undefined ? 0 : Math.max(0, poster.lastDueAt - now());
      if (wait > 1000) io.onNote?.(`waiting ${(wait / 1000).toFixed(0)} s for the last labels to fall due (--labels-after)`);
      await poster.close();
    }
    const sorted = out.latenciesMs.slice().sort();
    return {
      url: opts.url,
      model: schema.name,
      model_version: schema.version,
      source: { file: src.file, rows: pool.rows },
      scenario: { name: scenario.name, description: scenario.description, params: scenario.params },
      seed: opts.seed,
      batch: opts.batch,
      rate: opts.rate ?? null,
      concurrency: opts.concurrency,
      requests: { sent: out.sent, answered: out.answered, failed: out.sent - out.answered, failures: Object.fromEntries(out.failures) },
      rows: { planned, answered: out.rowsAnswered },
      duration_seconds: out.seconds,
      throughput: { requests_per_second: out.answered / out.seconds, rows_per_second: out.rowsAnswered / out.seconds },
      latency_ms: sorted.length === 0 ? null : { p50: quantileSorted(sorted, 0.5), p95: quantileSorted(sorted, 0.95), p99: quantileSorted(sorted, 0.99), max: sorted[sorted.length - 1]! },
      event_time: opts.spreadDays === undefined || out.sent === 0 ? null : { from: new Date(eventTime(0)).toISOString(), to: new Date(eventTime(out.sent - 1)).toISOString() },
      labels: poster?.outcome ?? null,
      stopped: out.stopped ?? null,
    };
  } finally {
    poster?.abandon();
    await client.close();
  }
}

/** Exit code of a finished run: 1 when it stopped early or most requests (or labels) failed, else 0. */
export function exitCodeOf(s: SimulationSummary): number {
  if (s.stopped !== null && s.stopped !== 'interrupted') return 1;
  if (s.requests.sent > 0 && s.requests.failed * 2 > s.requests.sent) return 1;
  if (s.labels !== null && s.labels.failed * 2 > s.labels.queued && s.labels.queued > 0) return 1;
  return s.stopped === 'interrupted' ? 130 : 0;
}
