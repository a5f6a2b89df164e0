import type { Worker } from 'node:worker_threads';
import type { DatabaseTarget } from '../config.js';
import { startWorker } from '../worker-thread.js';
import type { RetentionReply, RetentionRequest } from './retention-protocol.js';

/**
 * Rows per SQLite retention step. Each step's DELETE holds the one write lock that the
 * audit-log writer, and every /predict behind it, waits for: at 2,000 rows a purge raised
 * /predict p99 at 200 req/s ×1.5 over no retention, at 500 about ×1.1 (bench:retention,
 * quiet host, 2026-12-03; docs/benchmarks.md), for twice the archive files.
 */
export const RETENTION_STEP_ROWS = 500;

/** How often the SQLite retention thread checks the database against its size budget between passes (ms). */
export const BUDGET_CHECK_MS = 5000;

export interface RetentionOptions {
  /** A SQLite file (pruned in small steps) or PostgreSQL (by monthly partition, docs/governance.md). */
  readonly db: DatabaseTarget;
  readonly archiveDir: string;
  /** Rows older than this (SQLite: decision time; PostgreSQL: months whose event times all are) are archived then removed. */
  readonly retentionMs: number;
  /** This replica's name, written in the PostgreSQL archives' header. */
  readonly replica?: string;
  /** How often a pass runs; 0: only on demand (`pruneNow`). */
  readonly intervalMs: number;
  /** Bytes of database pages (PostgreSQL: of the partitions) above which the oldest rows are archived whatever their age (0: no budget). */
  readonly sizeBudgetBytes?: number;
  /** SQLite: how often the budget is checked between passes (BUDGET_CHECK_MS by default; 0: only at passes). */
  readonly budgetCheckMs?: number;
  /** Rows per step (rounded to whole links; RETENTION_STEP_ROWS by default). */
  readonly maxRows?: number;
  readonly now?: () => number;
  /** After each step (rows archived) and after each pass that failed. */
  readonly onArchived?: (rows: number) => void;
  readonly onFailed?: (error: string) => void;
}

/**
 * Runs retention on a timer in its own thread (retention-worker.ts): each pass archives and
 * removes, in small steps, every row older than the retention period. One pass at a time.
 * On SQLite with a size budget the thread also checks the database every BUDGET_CHECK_MS
 * and runs a pass of its own when it is over (reported through `onArchived` and `onFailed`
 * like the others).
 */
export class RetentionScheduler {
  private timer: NodeJS.Timeout | undefined;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (r: { rows: number; files: number }) => void; reject: (e: Error) => void }>();
  private running: Promise<{ rows: number; files: number }> | undefined;
  private closed = false;

  private constructor(private readonly worker: Worker, private readonly opts: RetentionOptions) {
    worker.on('message', (m: RetentionReply) => {
      if (m.kind === 'progress') opts.onArchived?.(m.rows);
      if (m.kind !== 'pruned' && m.kind !== 'failed') return;
      const p = this.pending.get(m.id);
      this.pending.delete(m.id);
      if (m.kind === 'pruned') p?.resolve({ rows: m.rows, files: m.files });
      else {
        opts.onFailed?.(m.error);
        p?.reject(new Error(`retention failed after ${m.rows} rows: ${m.error}`));
      }
    });
    worker.on('error', (err) => {
      opts.onFailed?.(err.message);
      for (const p of this.pending.values()) p.reject(err);
      this.pending.clear();
    });
  }

  static async start(opts: RetentionOptions): Promise<RetentionScheduler> {
    const worker = startWorker(import.meta.url, 'retention-worker', { db: opts.db, archiveDir: opts.archiveDir, maxRows: opts.maxRows ?? RETENTION_STEP_ROWS, sizeBudgetBytes: opts.sizeBudgetBytes ?? 0, budgetCheckMs: opts.budgetCheckMs ?? BUDGET_CHECK_MS, replica: opts.replica ?? '' });
    await new Promise<void>((resolve, reject) => {
      worker.once('error', reject);
      worker.once('message', (m: RetentionReply) => {
        worker.off('error', reject);
        if (m.kind === 'ready') resolve();
        else reject(new Error(`the retention thread said ${m.kind} before ready`));
      });
    });
    const s = new RetentionScheduler(worker, opts);
    if (opts.intervalMs > 0) {
      s.timer = setInterval(() => void s.pruneNow().catch(() => undefined), opts.intervalMs);
      s.timer.unref();
    }
    return s;
  }

  /** Runs one pass now (joining a pass already running): resolves with the rows archived and files written. */
  pruneNow(): Promise<{ rows: number; files: number }> {
    if (this.closed) return Promise.reject(new Error('retention is closed'));
    this.running ??= new Promise<{ rows: number; files: number }>((resolve, reject) => {
      const id = this.nextId++;
      this.pending.set(id, { resolve, reject });
      const now = (this.opts.now ?? Date.now)();
      this.worker.postMessage({ kind: 'prune', id, cutoffMs: now - this.opts.retentionMs, nowMs: now } satisfies RetentionRequest);
    }).finally(() => {
      this.running = undefined;
    });
    return this.running;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.timer);
    await this.running?.catch(() => undefined);
    const exited = new Promise<void>((resolve) => this.worker.once('exit', () => resolve()));
    this.worker.postMessage({ kind: 'close' } satisfies RetentionRequest);
    await exited;
  }
}
