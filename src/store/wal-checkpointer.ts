import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import type { CheckpointPass, CheckpointReply, CheckpointRequest } from './wal-checkpoint-protocol.js';

/** Told the outcome of each checkpoint pass (for the metrics and a log line on failure). */
export type CheckpointObserver = (pass: CheckpointPass) => void;

/** How often the checkpointer copies the write-ahead log into the database file (ms). */
export const CHECKPOINT_INTERVAL_MS = 1000;

/**
 * The number of WAL pages at which the audit-log writer checkpoints inline after all: a
 * backstop that bounds the log (40 MiB at 4 KiB pages) if the checkpointer thread cannot keep
 * up or fails, far above what it leaves between two of its passes.
 */
export const WRITER_AUTOCHECKPOINT_PAGES = 10_000;

/** The WAL checkpointer thread of a SQLite database (src/store/wal-checkpoint-worker.ts). */
export class WalCheckpointer {
  private closing: Promise<void> | undefined;
  private readonly exited: Promise<void>;

  private constructor(private readonly worker: Worker, onPass: CheckpointObserver) {
    this.exited = new Promise((resolve) => worker.once('exit', () => resolve()));
    worker.on('message', (m: CheckpointReply) => {
      if (m.kind === 'pass') onPass(m);
    });
    // A thread that fails loses nothing: the log keeps its pages and the writer's backstop
    // (WRITER_AUTOCHECKPOINT_PAGES) bounds it. An unhandled 'error' must not crash the service.
    worker.on('error', () => {});
  }

  static start(opts: { path: string; synchronous: 'FULL' | 'NORMAL'; intervalMs?: number; onPass?: CheckpointObserver }): Promise<WalCheckpointer> {
    const worker = startWorker(import.meta.url, 'wal-checkpoint-worker', { path: opts.path, synchronous: opts.synchronous, intervalMs: opts.intervalMs ?? CHECKPOINT_INTERVAL_MS });
    return new Promise((resolve, reject) => {
      const onError = (err: unknown) => reject(new Error(`cannot start the WAL checkpointer on ${opts.path}: ${err instanceof Error ? err.message : String(err)}`));
      worker.once('error', onError);
      worker.once('message', (m: CheckpointReply) => {
        worker.off('error', onError);
        if (m.kind === 'ready') resolve(new WalCheckpointer(worker, opts.onPass ?? (() => {})));
        else reject(new Error(`WAL checkpointer said ${m.kind} before ready`));
      });
    });
  }

  /** Stops the thread (its connection closes; the last connection to close checkpoints the rest). */
  close(): Promise<void> {
    if (this.closing === undefined) {
      this.worker.postMessage({ kind: 'close' } satisfies CheckpointRequest);
      this.closing = this.exited;
    }
    return this.closing;
  }
}
