import type { Worker } from 'node:worker_threads';
import { startWorker } from '../worker-thread.js';
import type { AuditRow, LabelOutcome, LabelRow, WriterReply, WriterRequest } from './audit-writer-protocol.js';

export type { LabelOutcome, LabelRow };

/** The seam around label storage: resolves with what happened to each label, once committed. */
export interface LabelStore {
  recordLabels(rows: readonly LabelRow[], receivedMs: number): Promise<LabelOutcome>;
}

/** One answered prediction, as the audit log keeps it. */
export interface AuditRecord {
  readonly id: string;
  readonly requestId: string;
  /** When the decision was made (server clock). */
  readonly tsMs: number;
  /** When the event happened: the client's `event_time`, else `tsMs`. The window and the cohort use it. */
  readonly eventTsMs: number;
  readonly model: string;
  readonly modelVersion: string;
  readonly features: unknown;
  readonly probability: number;
  readonly decision: 0 | 1;
  readonly band: string;
  readonly threshold: number;
  readonly latencyMs: number;
  readonly traceId: string;
  /** A shadow row (scored by a candidate after the answer, never returned): the id of the answered prediction it copies. */
  readonly shadowOf?: string;
}

/** The seam around the audit log: `append` resolves once the rows are committed. */
export interface AuditLog {
  append(records: readonly AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** Called after each commit, for metrics: rows committed, seconds, whether a group failed. */
export type CommitObserver = (rows: number, seconds: number, failed: boolean) => void;

interface Waiter {
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class AuditLogClosedError extends Error {
  override readonly name = 'AuditLogClosedError';
  constructor() {
    super('the audit log is closed');
  }
}

export class AuditLogFailedError extends Error {
  override readonly name = 'AuditLogFailedError';
}

const toRow = (r: AuditRecord): AuditRow => [
  r.id, r.requestId, r.tsMs, r.model, r.modelVersion, JSON.stringify(r.features),
  r.probability, r.decision, r.band, r.threshold, r.latencyMs, r.traceId, r.eventTsMs, r.shadowOf ?? null,
];

/**
 * The SQLite audit log with group commit on a writer thread. Rows appended during one
 * turn of the event loop form a group; the writer commits waiting groups in one
 * transaction, and every `append` resolves only after the COMMIT of its group returned
 * (then the rows are in the WAL and survive a crash of the process). A failed group
 * rejects all its appends, so no caller answers a prediction that was not logged.
 * The INSERTs and the fsync run off the event loop.
 */
export class SqliteAuditLog implements AuditLog, LabelStore {
  private queue: AuditRow[] = [];
  private queueWaiters: Waiter[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private nextGroup = 1;
  private readonly inFlight = new Map<number, Waiter[]>();
  private readonly labelWaiters = new Map<number, { resolve: (o: LabelOutcome) => void; reject: (e: Error) => void }>();
  private nextLabelId = 1;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private closedResolve: (() => void) | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly onCommit: CommitObserver,
  ) {
    worker.on('message', (reply: WriterReply) => this.onReply(reply));
    worker.on('error', (err) => this.fail(new AuditLogFailedError(`the audit-log writer failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (this.closedResolve === undefined || this.inFlight.size > 0) this.fail(new AuditLogFailedError(`the audit-log writer exited (code ${code})`));
      this.closedResolve?.();
    });
  }

  /** Starts the writer thread on the database file (already created and migrated). */
  static open(opts: { path: string; synchronous: 'FULL' | 'NORMAL'; onCommit?: CommitObserver }): Promise<SqliteAuditLog> {
    const worker = startWorker(import.meta.url, 'audit-writer-worker', { path: opts.path, synchronous: opts.synchronous });
    return new Promise((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`cannot start the audit-log writer on ${opts.path}: ${err.message}`));
      worker.once('error', onError);
      worker.once('message', (m: WriterReply) => {
        worker.off('error', onError);
        if (m.kind === 'ready') resolve(new SqliteAuditLog(worker, opts.onCommit ?? (() => {})));
        else reject(new Error(`audit-log writer said ${m.kind} before ready`));
      });
    });
  }

  /** Why the log cannot take rows, if it cannot (for /readyz). */
  get problem(): string | undefined {
    return this.failure?.message ?? (this.closing === undefined ? undefined : 'the audit log is closed');
  }

  append(records: readonly AuditRecord[]): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing !== undefined) return Promise.reject(new AuditLogClosedError());
    for (const r of records) this.queue.push(toRow(r));
    return new Promise<void>((resolve, reject) => {
      this.queueWaiters.push({ resolve, reject });
      this.scheduled ??= setImmediate(() => this.send());
    });
  }

  /** Stores labels on the writer thread (after any prediction rows queued before them). */
  recordLabels(rows: readonly LabelRow[], receivedMs: number): Promise<LabelOutcome> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing !== undefined) return Promise.reject(new AuditLogClosedError());
    this.send();
    const id = this.nextLabelId++;
    return new Promise<LabelOutcome>((resolve, reject) => {
      this.labelWaiters.set(id, { resolve, reject });
      this.worker.postMessage({ kind: 'labels', id, rows, receivedMs } satisfies WriterRequest);
    });
  }

  /** Sends the rows of this turn to the writer as one group. */
  private send(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    if (this.queueWaiters.length === 0) return;
    const group = this.nextGroup++;
    const message: WriterRequest = { kind: 'write', group, rows: this.queue };
    this.inFlight.set(group, this.queueWaiters);
    this.queue = [];
    this.queueWaiters = [];
    this.worker.postMessage(message);
  }

  private settle(group: number, err?: Error): void {
    const waiters = this.inFlight.get(group) ?? [];
    this.inFlight.delete(group);
    for (const w of waiters) (err === undefined ? w.resolve() : w.reject(err));
  }

  private onReply(reply: WriterReply): void {
    switch (reply.kind) {
      case 'committed':
        this.onCommit(reply.rows, reply.seconds, false);
        for (const g of reply.groups) this.settle(g);
        break;
      case 'partial':
        this.onCommit(0, reply.seconds, true);
        for (const g of reply.committed) this.settle(g);
        for (const f of reply.failed) this.settle(f.group, new AuditLogFailedError(`the audit-log commit failed: ${f.error}`));
        break;
      case 'labels':
      case 'labels-failed': {
        const w = this.labelWaiters.get(reply.id);
        this.labelWaiters.delete(reply.id);
        if (reply.kind === 'labels') w?.resolve(reply.outcome);
        else w?.reject(new AuditLogFailedError(`storing labels failed: ${reply.error}`));
        break;
      }
      case 'ready':
      case 'closed':
        break;
    }
  }

  private fail(err: Error): void {
    this.failure ??= err;
    for (const g of [...this.inFlight.keys()]) this.settle(g, err);
    const waiting = this.queueWaiters;
    this.queueWaiters = [];
    this.queue = [];
    for (const w of waiting) w.reject(err);
    for (const w of this.labelWaiters.values()) w.reject(err);
    this.labelWaiters.clear();
  }

  /** Commits what is queued, stops the writer and refuses new rows. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      this.send();
      if (this.failure !== undefined) {
        await this.worker.terminate();
        return;
      }
      const exited = new Promise<void>((resolve) => {
        this.closedResolve = resolve;
      });
      this.worker.postMessage({ kind: 'close' } satisfies WriterRequest);
      await exited;
    })();
    return this.closing;
  }
}
