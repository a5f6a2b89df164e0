import type { SqliteDatabase } from './database.js';
import { sampleKey } from '../drift/bucket-sample.js';
import { WindowColumns, type WindowRows } from './window-columns.js';

export type { WindowRows };

/**
 * One model version's window of the SQLite audit log, kept as columns in memory and brought
 * up to date incrementally: each `refresh` reads only the rows committed since the last one
 * (by `seq`, the table's rowid: SQLite has one writer, so rowid order is commit order) and
 * drops from the front the rows that left the window.
 * Time is the event time (`event_ts_ms`). Rows are held in commit order, so a replayed row
 * whose event time is older than the rows committed before it leaves with them: replays
 * (`vigia simulate --spread-days`) send event times that rise with the commit order.
 * The audit log stays the source of truth: a restart rebuilds the columns from it with one
 * read. Runs on the evaluation process, never on the event loop that serves /predict.
 */
export class WindowCache {
  private lastSeq = 0;
  private readonly rows: WindowColumns;
  private readonly select;

  constructor(
    db: SqliteDatabase,
    private readonly model: string,
    private readonly version: string,
    features: readonly string[],
  ) {
    this.rows = new WindowColumns(features);
    this.select = db
      .prepare('SELECT seq, id, features, probability, event_ts_ms, latency_ms FROM predictions WHERE seq > ? AND model = ? AND model_version = ? AND event_ts_ms >= ? ORDER BY seq')
      .raw();
  }

  /** Rows held now (for tests and metrics). */
  get size(): number {
    return this.rows.size;
  }

  /** Reads the new rows, drops those older than `fromMs`, and returns the window as views. */
  refresh(fromMs: number): WindowRows {
    const rows = this.select.iterate(this.lastSeq, this.model, this.version, fromMs) as IterableIterator<[number, string, string, number, number, number]>;
    for (const [seq, id, features, probability, ts, latency] of rows) {
      // The key names the row for attribution drift's sample (the same rule as the hourly buckets').
      this.rows.add(features, probability, ts, latency, sampleKey(id));
      this.lastSeq = seq;
    }
    return this.rows.view(fromMs);
  }
}
