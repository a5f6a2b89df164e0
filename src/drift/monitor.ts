import type { ChildProcess } from 'node:child_process';
import type { DatabaseTarget } from '../config.js';
import { forkModule } from '../child-process.js';
import type { EvaluationInit, EvaluationReply, EvaluationRequest } from './evaluation-protocol.js';
import type { ModelContext, ModelReport } from '../report/model-report.js';

export interface DriftMonitorOptions {
  readonly db: DatabaseTarget;
  readonly models: readonly ModelContext[];
  /** Window length, ms: the last `windowMs` of the audit log. */
  readonly windowMs: number;
  /** Evaluation period, ms; 0 disables the timer (evaluate on demand only). */
  readonly intervalMs: number;
  /** Windows of at most this many rows are evaluated from the rows; larger ones from hourly aggregates (default 200,000). */
  readonly exactWindowRows?: number;
  /** Matured cohorts of at most this many labels are evaluated from their rows; larger ones from hourly aggregates (default 200,000). */
  readonly exactCohortLabels?: number;
  readonly now?: () => number;
  /** Called on the event loop after each evaluation, with its report or its error. */
  readonly onEvaluated?: (key: string, outcome: { report: ModelReport; seconds: number; peakRssBytes: number } | { error: string; seconds: number }) => void;
}

export const modelKey = (model: string, version: string): string => `${model}@${version}`;

/** The largest window evaluated exactly from its rows (VIGIA_EXACT_WINDOW_ROWS): about 40 MB of columns for the demo model. */
export const DEFAULT_EXACT_WINDOW_ROWS = 200_000;

/** The largest matured cohort evaluated exactly from its labelled rows (VIGIA_EXACT_COHORT_LABELS): about 0.35 s of reading and sorting. */
export const DEFAULT_EXACT_COHORT_LABELS = 200_000;

/** Scheduling priority of the evaluation process: below the service, so /predict comes first. */
const EVALUATION_NICE = 10;

/** Starts the evaluation process and resolves once it has opened the database. */
async function spawnEvaluator(init: EvaluationInit): Promise<ChildProcess> {
  const child = forkModule(import.meta.url, 'evaluation-worker', EVALUATION_NICE);
  await new Promise<void>((resolve, reject) => {
    const onExit = (code: number | null) => reject(new Error(`the drift evaluation process exited (${code}) before it was ready`));
    child.once('error', reject);
    child.once('exit', onExit);
    child.once('message', (reply: EvaluationReply) => {
      child.off('error', reject);
      child.off('exit', onExit);
      if (reply.kind === 'ready') resolve();
      else reject(new Error(`the drift evaluation process could not start: ${reply.kind === 'failed' ? reply.error : reply.kind}`));
    });
    child.send({ kind: 'init', data: init });
  });
  return child;
}

/**
 * Evaluates each model version's window on a timer and on demand, in a child process at a
 * lower scheduling priority. Keeps the last report of each. One model's failure never
 * stops the others; if the evaluation process dies, the next evaluation starts a new one
 * (which rebuilds its window from the audit log).
 */
export class DriftMonitor {
  private readonly reports = new Map<string, ModelReport>();
  /** Evaluations sent and not answered yet, with the process each was sent to. */
  private readonly pending = new Map<number, { readonly child: ChildProcess; readonly settle: (reply: EvaluationReply) => void }>();
  private readonly inFlight = new Map<string, Promise<ModelReport>>();
  /** Per model version, the evaluation that starts when the running one ends. */
  private readonly next = new Map<string, Promise<ModelReport>>();
  private readonly nextTerm = new Map<string, number | undefined>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private child: ChildProcess | undefined;
  private starting: Promise<ChildProcess> | undefined;
  private readonly now: () => number;
  private readonly init: EvaluationInit & { models: Record<string, ModelContext> };
  private readonly extraKeys: string[] = [];

  private constructor(private readonly opts: DriftMonitorOptions) {
    this.now = opts.now ?? Date.now;
    const models: Record<string, ModelContext> = {};
    for (const m of opts.models) models[modelKey(m.baseline.model, m.baseline.modelVersion)] = m;
    this.init = { db: opts.db, models, exactWindowRows: opts.exactWindowRows ?? DEFAULT_EXACT_WINDOW_ROWS, exactCohortLabels: opts.exactCohortLabels ?? DEFAULT_EXACT_COHORT_LABELS };
  }

  /** How often the reports are evaluated, ms (0: on demand only). */
  get intervalMs(): number {
    return this.opts.intervalMs;
  }

  static async start(opts: DriftMonitorOptions): Promise<DriftMonitor> {
    const monitor = new DriftMonitor(opts);
    await monitor.evaluator();
    if (opts.intervalMs > 0) {
      monitor.timer = setInterval(() => void monitor.evaluateAll(), opts.intervalMs);
      monitor.timer.unref();
    }
    return monitor;
  }

  /** The running evaluation process, started (again) if needed. */
  private evaluator(): Promise<ChildProcess> {
    // Never a new process once closing: it would outlive close() and keep the service alive.
    if (this.closed) return Promise.reject(new Error('the drift monitor is closed'));
    // A child that died may not have had its 'exit' handled yet: its closed channel says so first.
    if (this.child !== undefined && !this.child.connected) this.child = undefined;
    if (this.child !== undefined) return Promise.resolve(this.child);
    this.starting ??= spawnEvaluator(this.init).then(
      (child) => {
        this.starting = undefined;
        if (this.closed) {
          child.disconnect();
          throw new Error('the drift monitor is closed');
        }
        this.attach(child);
        return child;
      },
      (err: unknown) => {
        this.starting = undefined;
        throw err;
      },
    );
    return this.starting;
  }

  private attach(child: ChildProcess): void {
    this.child = child;
    // Whatever this process was sent and will never answer fails, closing or not: close()
    // waits for the evaluations in flight, which must settle.
    const fail = (why: string) => {
      for (const [id, p] of this.pending) {
        if (p.child !== child) continue;
        this.pending.delete(id);
        p.settle({ kind: 'failed', id: -1, error: why, seconds: 0 });
      }
    };
    child.on('message', (reply: EvaluationReply) => {
      if (reply.kind === 'ready') return;
      const p = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      p?.settle(reply);
    });
    child.on('error', (err) => fail(`evaluation process failed: ${err.message}`));
    child.on('exit', (code, signal) => {
      if (this.child === child) this.child = undefined;
      fail(`evaluation process exited (${signal ?? code})`);
    });
  }

  get keys(): string[] {
    return [...this.opts.models.map((m) => modelKey(m.baseline.model, m.baseline.modelVersion)), ...this.extraKeys];
  }

  /**
   * Adds a model version loaded while the service runs (its baseline already built): the
   * running evaluation process learns it now, a restarted one from its init.
   */
  add(ctx: ModelContext): void {
    const key = modelKey(ctx.baseline.model, ctx.baseline.modelVersion);
    if (!this.keys.includes(key)) this.extraKeys.push(key);
    this.init.models[key] = ctx;
    this.reports.delete(key);
    this.child?.send({ kind: 'add', key, context: ctx });
  }

  /** The last report of a model version, if one was made. */
  lastReport(key: string): ModelReport | undefined {
    return this.reports.get(key);
  }

  /** The evaluation process's pid (for tests and diagnostics). */
  get evaluatorPid(): number | undefined {
    return this.child?.pid;
  }

  /**
   * Evaluates one model version now: the report covers every row committed before the call.
   * An evaluation already running started earlier and may have missed some, so the call
   * waits for it and then evaluates again; callers that arrive meanwhile share that next
   * evaluation (at most one waits per model version). `term`: the fleet's leader term when
   * this replica evaluates for a fleet (what the evaluation stores is fenced by it; the next
   * evaluation takes the latest caller's).
   */
  evaluate(key: string, term?: number): Promise<ModelReport> {
    const running = this.inFlight.get(key);
    if (running === undefined) return this.start(key, term);
    this.nextTerm.set(key, term);
    let next = this.next.get(key);
    if (next === undefined) {
      next = running.then(
        () => undefined,
        () => undefined,
      ).then(() => {
        this.next.delete(key);
        const latest = this.nextTerm.get(key);
        this.nextTerm.delete(key);
        // One started since the running one ended began after these callers called: share it.
        return this.inFlight.get(key) ?? this.start(key, latest);
      });
      this.next.set(key, next);
    }
    return next;
  }

  private start(key: string, term: number | undefined): Promise<ModelReport> {
    const p: Promise<ModelReport> = this.run(key, term).finally(() => {
      if (this.inFlight.get(key) === p) this.inFlight.delete(key);
    });
    this.inFlight.set(key, p);
    return p;
  }

  /** Evaluates every model version; failures are reported through `onEvaluated`, not thrown. */
  async evaluateAll(): Promise<void> {
    await Promise.all(this.keys.map((k) => this.evaluate(k).catch(() => undefined)));
  }

  private async run(key: string, term: number | undefined): Promise<ModelReport> {
    if (this.closed) throw new Error('the drift monitor is closed');
    let child: ChildProcess;
    try {
      child = await this.evaluator();
    } catch (err) {
      this.opts.onEvaluated?.(key, { error: (err as Error).message, seconds: 0 });
      throw err;
    }
    const nowMs = this.now();
    const req: EvaluationRequest = { id: this.nextId++, key, fromMs: nowMs - this.opts.windowMs, toMs: nowMs + 1, nowMs, ...(term === undefined ? {} : { term }) };
    return new Promise<ModelReport>((resolve, reject) => {
      const settle = (reply: EvaluationReply) => {
        if (reply.kind === 'report') {
          this.reports.set(key, reply.report);
          this.opts.onEvaluated?.(key, { report: reply.report, seconds: reply.seconds, peakRssBytes: reply.peakRssBytes });
          resolve(reply.report);
        } else if (reply.kind === 'failed') {
          this.opts.onEvaluated?.(key, { error: reply.error, seconds: reply.seconds });
          reject(new Error(`drift evaluation of ${key} failed: ${reply.error}`));
        }
      };
      this.pending.set(req.id, { child, settle });
      // A process that exited before the send never answers, and its exit was handled already.
      child.send({ kind: 'evaluate', ...req }, (err) => {
        if (err === null || !this.pending.has(req.id)) return;
        this.pending.delete(req.id);
        settle({ kind: 'failed', id: -1, error: `the evaluation process could not be reached: ${err.message}`, seconds: 0 });
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight.values(), ...this.next.values()]);
    const child = this.child ?? (await this.starting?.catch(() => undefined));
    if (child !== undefined && child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.disconnect();
      await exited;
    }
  }
}
