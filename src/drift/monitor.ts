import type { ChildProcess } from 'node:child_process';
import { forkModule } from '../child-process.js';
import type { EvaluationInit, EvaluationReply, EvaluationRequest } from './evaluation-protocol.js';
import type { DriftReport, ModelDriftContext } from './report.js';

export interface DriftMonitorOptions {
  readonly dbPath: string;
  readonly models: readonly ModelDriftContext[];
  /** Window length, ms: the last `windowMs` of the audit log. */
  readonly windowMs: number;
  /** Evaluation period, ms; 0 disables the timer (evaluate on demand only). */
  readonly intervalMs: number;
  readonly now?: () => number;
  /** Called on the event loop after each evaluation, with its report or its error. */
  readonly onEvaluated?: (key: string, outcome: { report: DriftReport; seconds: number; peakRssBytes: number } | { error: string; seconds: number }) => void;
}

export const modelKey = (model: string, version: string): string => `${model}@${version}`;

/** Scheduling priority of the evaluation process: below the service, so /predict comes first. */
const EVALUATION_NICE = 10;

/**
 * Evaluates each model version's window on a timer and on demand, in a child process at a
 * lower scheduling priority.
 * Keeps the last report of each. One model's failure never stops the others.
 */
export class DriftMonitor {
  private readonly reports = new Map<string, DriftReport>();
  private readonly pending = new Map<number, (reply: EvaluationReply) => void>();
  private readonly inFlight = new Map<string, Promise<DriftReport>>();
  private nextId = 1;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private exited = false;
  private readonly now: () => number;

  private constructor(
    private readonly worker: ChildProcess,
    private readonly opts: DriftMonitorOptions,
  ) {
    this.now = opts.now ?? Date.now;
    worker.on('message', (reply: EvaluationReply) => {
      if (reply.kind === 'ready') return;
      const settle = this.pending.get(reply.id);
      this.pending.delete(reply.id);
      settle?.(reply);
    });
    const fail = (why: string) => {
      for (const settle of this.pending.values()) settle({ kind: 'failed', id: -1, error: why, seconds: 0 });
      this.pending.clear();
    };
    worker.on('error', (err) => fail(`evaluation process failed: ${err.message}`));
    worker.on('exit', (code, signal) => {
      this.exited = true;
      if (!this.closed) fail(`evaluation process exited (${signal ?? code})`);
    });
  }

  static async start(opts: DriftMonitorOptions): Promise<DriftMonitor> {
    const models: Record<string, ModelDriftContext> = {};
    for (const m of opts.models) models[modelKey(m.baseline.model, m.baseline.modelVersion)] = m;
    const worker = forkModule(import.meta.url, 'evaluation-worker', EVALUATION_NICE);
    await new Promise<void>((resolve, reject) => {
      const onExit = (code: number | null) => reject(new Error(`the drift evaluation process exited (${code}) before it was ready`));
      worker.once('error', reject);
      worker.once('exit', onExit);
      worker.once('message', (reply: EvaluationReply) => {
        worker.off('error', reject);
        worker.off('exit', onExit);
        if (reply.kind === 'ready') resolve();
        else reject(new Error(`the drift evaluation process could not start: ${reply.kind === 'failed' ? reply.error : reply.kind}`));
      });
      worker.send({ kind: 'init', data: { dbPath: opts.dbPath, models } satisfies EvaluationInit });
    });
    const monitor = new DriftMonitor(worker, opts);
    if (opts.intervalMs > 0) {
      monitor.timer = setInterval(() => void monitor.evaluateAll(), opts.intervalMs);
      monitor.timer.unref();
    }
    return monitor;
  }

  get keys(): string[] {
    return this.opts.models.map((m) => modelKey(m.baseline.model, m.baseline.modelVersion));
  }

  /** The last report of a model version, if one was made. */
  lastReport(key: string): DriftReport | undefined {
    return this.reports.get(key);
  }

  /** Evaluates one model version now (joining an evaluation already running for it). */
  evaluate(key: string): Promise<DriftReport> {
    const running = this.inFlight.get(key);
    if (running !== undefined) return running;
    const p = this.run(key).finally(() => this.inFlight.delete(key));
    this.inFlight.set(key, p);
    return p;
  }

  /** Evaluates every model version; failures are reported through `onEvaluated`, not thrown. */
  async evaluateAll(): Promise<void> {
    await Promise.all(this.keys.map((k) => this.evaluate(k).catch(() => undefined)));
  }

  private run(key: string): Promise<DriftReport> {
    if (this.closed) return Promise.reject(new Error('the drift monitor is closed'));
    const nowMs = this.now();
    const req: EvaluationRequest = { id: this.nextId++, key, fromMs: nowMs - this.opts.windowMs, toMs: nowMs + 1, nowMs };
    return new Promise<DriftReport>((resolve, reject) => {
      this.pending.set(req.id, (reply) => {
        if (reply.kind === 'report') {
          this.reports.set(key, reply.report);
          this.opts.onEvaluated?.(key, { report: reply.report, seconds: reply.seconds, peakRssBytes: reply.peakRssBytes });
          resolve(reply.report);
        } else if (reply.kind === 'failed') {
          this.opts.onEvaluated?.(key, { error: reply.error, seconds: reply.seconds });
          reject(new Error(`drift evaluation of ${key} failed: ${reply.error}`));
        }
      });
      if (this.exited) {
        this.pending.delete(req.id);
        reject(new Error('the drift evaluation process is not running'));
        return;
      }
      this.worker.send({ kind: 'evaluate', ...req });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer !== undefined) clearInterval(this.timer);
    await Promise.allSettled([...this.inFlight.values()]);
    if (!this.exited) {
      const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
      this.worker.disconnect();
      await exited;
    }
  }
}
