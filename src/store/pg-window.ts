import type pg from 'pg';
import type { CohortRows } from './cohort.js';
import { sampleKey } from '../drift/bucket-sample.js';
import { WindowColumns, type WindowRows } from './window-columns.js';

/**
 * Rows of transactions that have all ended, read incrementally without ever missing one.
 *
 * A sequence (or any id taken at INSERT) is not commit order in PostgreSQL: a transaction
 * that took id 100 can commit after one that took 101, and "id > last seen" then skips 100
 * for good. Each row carries instead the id of the transaction that inserted it (`tx`), and a
 * read takes only the rows of transactions older than the snapshot's `xmin` — every one of
 * them has committed or aborted, so none can still appear below it — from where the last
 * read stopped: [previous xmin, this xmin). A transaction still running (or committed but
 * above xmin) is read next time. A long transaction anywhere on the server holds xmin back:
 * reads then lag behind, they never skip.
 */
export class CommitSafeCursor {
  /** `fromTx`: where reading starts (a stored cursor), by default every row. */
  constructor(private fromTx = '0') {}

  /** Every row of a transaction below this id has been read. */
  get position(): string {
    return this.fromTx;
  }

  /** The next range of transaction ids to read, in one REPEATABLE READ snapshot with the read. */
  async read<R>(client: pg.ClientBase, query: (fromTx: string, toTx: string) => Promise<R>): Promise<R> {
    await client.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const toTx = (await client.query<{ x: string }>('SELECT pg_snapshot_xmin(pg_current_snapshot())::text AS x')).rows[0]!.x;
      const result = await query(this.fromTx, toTx);
      await client.query('COMMIT');
      this.fromTx = toTx;
      return result;
    } catch (err) {
      await client.query('ROLLBACK').catch(() => undefined);
      throw err;
    }
  }
}

/**
 * One model version's window of the PostgreSQL audit log as columns in memory, brought up to
 * date with a `CommitSafeCursor`. Rows are held in the order their transactions settled and
 * dropped from the front once older than the window, as the SQLite `WindowCache` does.
 */
export class PgWindowCache {
  private readonly rows: WindowColumns;
  private readonly cursor = new CommitSafeCursor();

  constructor(
    private readonly client: pg.ClientBase,
    private readonly model: string,
    private readonly version: string,
    features: readonly string[],
  ) {
    this.rows = new WindowColumns(features);
  }

  get size(): number {
    return this.rows.size;
  }

  async refresh(fromMs: number): Promise<WindowRows> {
    const result = await this.cursor.read(this.client, (fromTx, toTx) =>
      this.client.query<[string, string, number, string, number]>({
        text: `SELECT id, features, probability, event_ts_ms, latency_ms FROM predictions
               WHERE model = $1 AND model_version = $2 AND tx >= $3::xid8 AND tx < $4::xid8 AND event_ts_ms >= $5
               ORDER BY tx`,
        values: [this.model, this.version, fromTx, toTx, fromMs],
        rowMode: 'array',
      }));
    // The key names the row for attribution drift's sample, as on SQLite (src/store/window.ts).
    for (const [id, features, probability, ts, latency] of result.rows) this.rows.add(features, probability, Number(ts), latency, sampleKey(id));
    return this.rows.view(fromMs);
  }
}

/** The matured cohort from PostgreSQL: the predictions in [fromMs, toMs) counted, the labelled ones read. */
export async function readPgCohort(client: pg.ClientBase, model: string, version: string, fromMs: number, toMs: number): Promise<CohortRows> {
  const count = await client.query<{ n: string }>('SELECT count(*) AS n FROM predictions WHERE model = $1 AND model_version = $2 AND event_ts_ms >= $3 AND event_ts_ms < $4', [model, version, fromMs, toMs]);
  const labelled = await client.query<[number, number]>({
    text: 'SELECT label, probability FROM labels WHERE model = $1 AND model_version = $2 AND event_ts_ms >= $3 AND event_ts_ms < $4',
    values: [model, version, fromMs, toMs],
    rowMode: 'array',
  });
  const labels = new Float64Array(labelled.rows.length);
  const probabilities = new Float64Array(labelled.rows.length);
  labelled.rows.forEach(([label, probability], i) => {
    labels[i] = label;
    probabilities[i] = probability;
  });
  return { matured: Number(count.rows[0]!.n), labels, probabilities };
}
