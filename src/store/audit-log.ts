import type { Worker } from 'node:worker_threads';
import type { Reason } from '../explain/reasons.js';
import { startWorker } from '../worker-thread.js';
import { WalCheckpointer, WRITER_AUTOCHECKPOINT_PAGES, type CheckpointObserver } from './wal-checkpointer.js';
import type { AuditRow, EventHalf, ExpiryOutcome, HalfOutcome, LabelOutcome, LabelRow, ObservationOutcome, PairPolicy, WriterReply, WriterRequest } from './audit-writer-protocol.js';

export type { EventHalf, ExpiryOutcome, HalfOutcome, LabelOutcome, LabelRow, ObservationOutcome, PairPolicy };

/** The seam around label storage: resolves with what happened to each label, once committed. */
export interface LabelStore {
  recordLabels(rows: readonly LabelRow[], receivedMs: number): Promise<LabelOutcome>;
}

/**
 * The seam around predictions made elsewhere. Each call resolves once committed.
 * `observe` is idempotent by record id (a retry is a duplicate and answers the first try's
 * values); `recordHalf` commits one half of a KServe CloudEvent and pairs it with its
 * partner by ce-id; `expireHalves` counts the halves that waited since before `beforeMs`.
 */
export interface ObservationStore {
  observe(records: readonly AuditRecord[]): Promise<ObservationOutcome[]>;
  recordHalf(half: EventHalf): Promise<HalfOutcome>;
  expireHalves(beforeMs: number, nowMs: number): Promise<ExpiryOutcome>;
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
  /** The group of each fairness attribute (`{SEX: "2", AGE_BAND: "25-35"}`); none when the model watches none. */
  readonly groups?: Readonly<Record<string, string>>;
  /** The attributes the caller sent beside the features for monitoring only (never given to the model). */
  readonly monitoring?: Readonly<Record<string, string | null>>;
  /** SHA-256 of the bundle that decided (model file, manifest, reference): the row's lineage. */
  readonly bundleHash?: string;
  /** The principal reasons given with the decision, when it had any. */
  readonly reasons?: readonly Reason[];
  /** `observed` for a prediction made elsewhere and ingested; Vigia's own are `scored` (the default). */
  readonly source?: 'scored' | 'observed';
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

/** A record as the thirteen columns of a `predictions` row, in INSERT order (both engines). */
export const toAuditRow = (r: AuditRecord): AuditRow => [
  r.id, r.requestId, r.tsMs, r.model, r.modelVersion, JSON.stringify(r.features),
  r.probability, r.decision, r.band, r.threshold, r.latencyMs, r.traceId, r.eventTsMs,
  JSON.stringify(r.groups ?? {}), r.monitoring === undefined ? null : JSON.stringify(r.monitoring), r.bundleHash ?? '', r.source ?? 'scored',
  r.reasons === undefined ? null : JSON.stringify(r.reasons), r.shadowOf ?? null,
];

/**
 * The SQLite audit log with group commit on a writer thread. Rows appended during one
 * turn of the event loop form a group; the writer commits waiting groups in one
 * transaction, and every `append` resolves only after the COMMIT of its group returned
 * (then the rows are in the WAL and survive a crash of the process). A failed group
 * rejects all its appends, so no caller answers a prediction that was not logged.
 * The INSERTs, the hash chain (one link per transaction, see audit-chain.ts) and the fsync
 * run off the event loop.
 */
export class SqliteAuditLog implements AuditLog, LabelStore, ObservationStore {
  private queue: AuditRow[] = [];
  private queueWaiters: Waiter[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private nextGroup = 1;
  private readonly inFlight = new Map<number, Waiter[]>();
  private readonly labelWaiters = new Map<number, { resolve: (o: LabelOutcome) => void; reject: (e: Error) => void }>();
  private nextLabelId = 1;
  private readonly asked = new Map<number, { resolve: (result: never) => void; reject: (e: Error) => void }>();
  private nextAskId = 1;
  private failure: Error | undefined;
  private closing: Promise<void> | undefined;
  private closedResolve: (() => void) | undefined;
  /** The error of the last failed commit, until a commit or a probe write succeeds. */
  private writeError: string | undefined;
  private probeTimer: NodeJS.Timeout | undefined;

  private constructor(
    private readonly worker: Worker,
    private readonly checkpointer: WalCheckpointer,
    private readonly onCommit: CommitObserver,
    private readonly onWritable: (writable: boolean) => void,
    private readonly probeIntervalMs: number,
  ) {
    worker.on('message', (reply: WriterReply) => this.onReply(reply));
    worker.on('error', (err) => this.fail(new AuditLogFailedError(`the audit-log writer failed: ${err.message}`)));
    worker.on('exit', (code) => {
      if (this.closedResolve === undefined || this.inFlight.size > 0 || this.asked.size > 0) this.fail(new AuditLogFailedError(`the audit-log writer exited (code ${code})`));
      this.closedResolve?.();
    });
  }

  /**
   * Starts the writer thread on the database file (which it creates and migrates if need
   * be), then the thread that checkpoints its write-ahead log so that no commit does
   * (wal-checkpointer.ts).
   */
  static async open(opts: { path: string; synchronous: 'FULL' | 'NORMAL'; onCommit?: CommitObserver; onWritable?: (writable: boolean) => void; onCheckpoint?: CheckpointObserver; probeIntervalMs?: number }): Promise<SqliteAuditLog> {
    // The writer first: it creates and migrates the file the checkpointer then opens.
    const worker = startWorker(import.meta.url, 'audit-writer-worker', { path: opts.path, synchronous: opts.synchronous, autocheckpointPages: WRITER_AUTOCHECKPOINT_PAGES });
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error) => reject(new Error(`cannot start the audit-log writer on ${opts.path}: ${err.message}`));
      worker.once('error', onError);
      worker.once('message', (m: WriterReply) => {
        worker.off('error', onError);
        if (m.kind === 'ready') resolve();
        else reject(new Error(`audit-log writer said ${m.kind} before ready`));
      });
    });
    let checkpointer: WalCheckpointer;
    try {
      checkpointer = await WalCheckpointer.start({ path: opts.path, synchronous: opts.synchronous, ...(opts.onCheckpoint === undefined ? {} : { onPass: opts.onCheckpoint }) });
    } catch (err) {
      await worker.terminate();
      throw err;
    }
    return new SqliteAuditLog(worker, checkpointer, opts.onCommit ?? (() => {}), opts.onWritable ?? (() => {}), opts.probeIntervalMs ?? 1000);
  }

  /** Why the log cannot take rows, if it cannot (for /readyz). */
  get problem(): string | undefined {
    if (this.failure !== undefined) return this.failure.message;
    if (this.closing !== undefined) return 'the audit log is closed';
    return this.writeError === undefined ? undefined : `the last audit-log write failed (${this.writeError}); predictions answer 503 until a write succeeds`;
  }

  /**
   * A failed commit (disk full, I/O error) puts the log in the failing state: /readyz says so
   * and, since a balancer then sends no traffic whose commits would show recovery, the writer
   * probes a one-row write every `probeIntervalMs` until one succeeds.
   */
  private setWritable(writable: boolean, error?: string): void {
    const was = this.writeError === undefined;
    this.writeError = writable ? undefined : error ?? 'write failed';
    if (was !== writable) this.onWritable(writable);
    if (writable) {
      clearInterval(this.probeTimer);
      this.probeTimer = undefined;
    } else if (this.probeTimer === undefined && this.closing === undefined) {
      this.probeTimer = setInterval(() => this.worker.postMessage({ kind: 'probe' } satisfies WriterRequest), this.probeIntervalMs);
      this.probeTimer.unref();
    }
  }

  append(records: readonly AuditRecord[]): Promise<void> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing !== undefined) return Promise.reject(new AuditLogClosedError());
    for (const r of records) this.queue.push(toAuditRow(r));
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

  observe(records: readonly AuditRecord[]): Promise<ObservationOutcome[]> {
    return this.ask<ObservationOutcome[]>((id) => ({ kind: 'observe', id, rows: records.map(toAuditRow) }));
  }

  recordHalf(half: EventHalf): Promise<HalfOutcome> {
    return this.ask<HalfOutcome>((id) => ({ kind: 'half', id, half }));
  }

  expireHalves(beforeMs: number, nowMs: number): Promise<ExpiryOutcome> {
    return this.ask<ExpiryOutcome>((id) => ({ kind: 'expire', id, beforeMs, nowMs }));
  }

  /** Sends one request to the writer (after any prediction rows queued before it) and resolves with its answer. */
  private ask<T>(message: (id: number) => WriterRequest): Promise<T> {
    if (this.failure !== undefined) return Promise.reject(this.failure);
    if (this.closing !== undefined) return Promise.reject(new AuditLogClosedError());
    this.send();
    const id = this.nextAskId++;
    return new Promise<T>((resolve, reject) => {
      this.asked.set(id, { resolve: resolve as (result: never) => void, reject });
      this.worker.postMessage(message(id));
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
        this.setWritable(true);
        for (const g of reply.groups) this.settle(g);
        break;
      case 'partial':
        this.onCommit(0, reply.seconds, true);
        if (reply.failed.length > 0) this.setWritable(false, reply.failed[0]!.error);
        else this.setWritable(true);
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
      case 'probe':
        this.setWritable(reply.ok, reply.error);
        break;
      case 'answer':
      case 'refused': {
        const w = this.asked.get(reply.id);
        this.asked.delete(reply.id);
        if (reply.kind === 'answer') w?.resolve(reply.result as never);
        else w?.reject(new AuditLogFailedError(`the audit-log commit failed: ${reply.error}`));
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
    for (const w of this.asked.values()) w.reject(err);
    this.asked.clear();
  }

  /** Commits what is queued, stops the writer and refuses new rows. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      clearInterval(this.probeTimer);
      this.send();
      if (this.failure !== undefined) {
        await this.worker.terminate();
      } else {
        const exited = new Promise<void>((resolve) => {
          this.closedResolve = resolve;
        });
        this.worker.postMessage({ kind: 'close' } satisfies WriterRequest);
        await exited;
      }
      await this.checkpointer.close();
    })();
    return this.closing;
  }
}
