import type { SqliteDatabase } from './database.js';

/** One answered prediction, as the audit log keeps it. */
export interface AuditRecord {
  readonly id: string;
  readonly requestId: string;
  readonly tsMs: number;
  readonly model: string;
  readonly modelVersion: string;
  readonly features: unknown;
  readonly probability: number;
  readonly decision: 0 | 1;
  readonly band: string;
  readonly threshold: number;
  readonly latencyMs: number;
  readonly traceId: string;
}

/** The seam around the audit log: `append` resolves once the rows are committed. */
export interface AuditLog {
  append(records: readonly AuditRecord[]): Promise<void>;
  close(): Promise<void>;
}

/** Called after each group commit, for metrics. */
export type CommitObserver = (rows: number, seconds: number, failed: boolean) => void;

interface Pending {
  readonly records: readonly AuditRecord[];
  readonly resolve: () => void;
  readonly reject: (err: Error) => void;
}

export class AuditLogClosedError extends Error {
  override readonly name = 'AuditLogClosedError';
  constructor() {
    super('the audit log is closed');
  }
}

/**
 * SQLite audit log with group commit: rows appended during one turn of the event loop
 * are written in one transaction on the next (setImmediate), and every `append` of the
 * group resolves only after that COMMIT returned. A failed commit rejects the whole group,
 * so no caller answers a prediction that was not logged.
 */
export class SqliteAuditLog implements AuditLog {
  private queue: Pending[] = [];
  private scheduled: NodeJS.Immediate | undefined;
  private closed = false;
  private readonly insert;
  private readonly commitGroup;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly onCommit: CommitObserver = () => {},
  ) {
    this.insert = db.prepare(
      `INSERT INTO predictions (id, request_id, ts_ms, model, model_version, features, probability, decision, band, threshold, latency_ms, trace_id)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
    );
    this.commitGroup = db.transaction((group: readonly Pending[]) => {
      for (const p of group) {
        for (const r of p.records) {
          this.insert.run(r.id, r.requestId, r.tsMs, r.model, r.modelVersion, JSON.stringify(r.features), r.probability, r.decision, r.band, r.threshold, r.latencyMs, r.traceId);
        }
      }
    });
  }

  append(records: readonly AuditRecord[]): Promise<void> {
    if (this.closed) return Promise.reject(new AuditLogClosedError());
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ records, resolve, reject });
      this.scheduled ??= setImmediate(() => this.flush());
    });
  }

  /** Commits everything queued, now. */
  flush(): void {
    if (this.scheduled !== undefined) clearImmediate(this.scheduled);
    this.scheduled = undefined;
    const group = this.queue;
    if (group.length === 0) return;
    this.queue = [];
    const started = process.hrtime.bigint();
    const rows = group.reduce((n, p) => n + p.records.length, 0);
    try {
      this.commitGroup(group);
    } catch (err) {
      this.onCommit(rows, Number(process.hrtime.bigint() - started) / 1e9, true);
      for (const p of group) p.reject(err as Error);
      return;
    }
    this.onCommit(rows, Number(process.hrtime.bigint() - started) / 1e9, false);
    for (const p of group) p.resolve();
  }

  /** Commits what is queued and refuses new rows. The database itself is closed by its owner. */
  async close(): Promise<void> {
    this.closed = true;
    this.flush();
  }
}
