import type { SqliteDatabase } from './database.js';

/** The rows of one model version's window, as columns, in commit order. */
export interface WindowRows {
  readonly n: number;
  /** One column per feature; NaN where the value was null or absent. */
  readonly columns: Map<string, Float64Array>;
  readonly scores: Float64Array;
  readonly tsMs: Float64Array;
  readonly latencyMs: Float64Array;
}

/** Rows the column arrays hold at first; they grow by half when full. */
const INITIAL_CAPACITY = 1024;

/**
 * One model version's window of the audit log, kept as columns in memory and brought up
 * to date incrementally: each `refresh` reads only the rows committed since the last one
 * (by `seq`, the table's rowid) and drops from the front the rows that left the window.
 * Time is the event time (`event_ts_ms`). Rows are held in commit order, so a replayed row
 * whose event time is older than the rows committed before it leaves with them: replays
 * (`vigia simulate --spread-days`) send event times that rise with the commit order.
 * The audit log stays the source of truth: a restart rebuilds the columns from it with one
 * read. Runs on the evaluation thread, never on the event loop that serves /predict.
 */
export class WindowCache {
  private capacity = INITIAL_CAPACITY;
  private start = 0;
  private end = 0;
  private lastSeq = 0;
  private columns: Float64Array[];
  private scores = new Float64Array(INITIAL_CAPACITY);
  private ts = new Float64Array(INITIAL_CAPACITY);
  private latency = new Float64Array(INITIAL_CAPACITY);
  private readonly select;

  constructor(
    db: SqliteDatabase,
    private readonly model: string,
    private readonly version: string,
    private readonly features: readonly string[],
  ) {
    this.columns = features.map(() => new Float64Array(INITIAL_CAPACITY));
    this.select = db
      .prepare('SELECT seq, features, probability, event_ts_ms, latency_ms FROM predictions WHERE seq > ? AND model = ? AND model_version = ? AND event_ts_ms >= ? ORDER BY seq')
      .raw();
  }

  /** Rows held now (for tests and metrics). */
  get size(): number {
    return this.end - this.start;
  }

  private reserve(extra: number): void {
    if (this.end + extra <= this.capacity) return;
    const live = this.end - this.start;
    const needed = live + extra;
    if (needed <= this.capacity / 2) {
      // Enough room once the expired front is dropped: slide the live rows down.
      for (const a of [...this.columns, this.scores, this.ts, this.latency]) a.copyWithin(0, this.start, this.end);
    } else {
      this.capacity = Math.max(needed, Math.ceil(this.capacity * 1.5));
      const grow = (a: Float64Array) => {
        const b = new Float64Array(this.capacity);
        b.set(a.subarray(this.start, this.end));
        return b;
      };
      this.columns = this.columns.map(grow);
      this.scores = grow(this.scores);
      this.ts = grow(this.ts);
      this.latency = grow(this.latency);
    }
    this.start = 0;
    this.end = live;
  }

  /** Reads the new rows, drops those older than `fromMs`, and returns the window as views. */
  refresh(fromMs: number): WindowRows {
    const rows = this.select.iterate(this.lastSeq, this.model, this.version, fromMs) as IterableIterator<[number, string, number, number, number]>;
    const names = this.features;
    for (const [seq, features, probability, ts, latency] of rows) {
      if (this.end === this.capacity) this.reserve(1);
      const i = this.end++;
      const values = JSON.parse(features) as Record<string, unknown>;
      for (let j = 0; j < names.length; j++) {
        const v = values[names[j]!];
        this.columns[j]![i] = typeof v === 'number' ? v : Number.NaN;
      }
      this.scores[i] = probability;
      this.ts[i] = ts;
      this.latency[i] = latency;
      this.lastSeq = seq;
    }
    while (this.start < this.end && this.ts[this.start]! < fromMs) this.start++;
    const view = (a: Float64Array) => a.subarray(this.start, this.end);
    return {
      n: this.end - this.start,
      columns: new Map(names.map((name, j) => [name, view(this.columns[j]!)])),
      scores: view(this.scores),
      tsMs: view(this.ts),
      latencyMs: view(this.latency),
    };
  }
}
