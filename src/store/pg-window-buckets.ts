import type pg from 'pg';
import type { WindowAggregateLayout } from '../drift/window-aggregate.js';
import { packBucket, unpackBucket } from './bucket-bytes.js';
import { BucketsNotStoredError, fencedWrite } from './pg-fenced-write.js';
import { CommitSafeCursor } from './pg-window.js';
import { ADVISORY_LOCKS } from './postgres.js';
import { BUCKET_MS, HourlyBuckets, type AggregateWindow } from './window-buckets.js';

/** Rows fetched per round trip while folding: bounds the memory of the first fold of a large window. */
const FETCH_ROWS = 10_000;

export { BucketsNotStoredError };

export interface PgWindowBucketsOptions {
  /** Store the buckets and their cursor (default true); false keeps them in memory only. */
  readonly store?: boolean;
}

/**
 * A model version's window as hourly aggregates in PostgreSQL (`window_buckets`,
 * `window_cursors`), folded from the audit log by the fleet's evaluator, off the request path.
 * Each bucket also counts its rows by groups and decision (`group_counts`), for fairness by
 * group over the window without a GROUP BY over its rows.
 *
 * Incremental and commit-safe: a sequence is not commit order in PostgreSQL, so each refresh
 * reads by the inserting transaction's id (`CommitSafeCursor`): the rows of every transaction
 * below the snapshot's xmin not read yet, fetched in pages of FETCH_ROWS from a server-side
 * cursor. The changed buckets and the new cursor are then written in one transaction, so a
 * committed row is in the stored buckets exactly when its transaction id is below the stored
 * `through_tx` — never twice, never skipped.
 *
 * Only the fleet's evaluator writes them: a refresh given its leader `term` stores nothing
 * once a later term exists in `leader_terms`. And a write is a compare-and-set: the stored
 * cursor must still be the one these buckets were built on (checked under an advisory lock
 * per model version), so two evaluators — a deposed leader finishing its last evaluation, and
 * its successor — never mix their buckets. The one that lost drops its buckets from memory and
 * loads the stored ones at its next refresh; the window it answers now is still exact.
 *
 * A new process loads the stored buckets of its layout when their cursor is not ahead of the
 * server's transaction counter (a database restored into a new cluster restarts the counter:
 * the buckets are then rebuilt from the rows, which stay the source of truth). Buckets of
 * another layout (an older baseline) or older than the window are dropped.
 */
export class PgWindowBuckets {
  private readonly held: HourlyBuckets;
  private cursor = new CommitSafeCursor();
  /** The cursor stored when these buckets were loaded or last saved (undefined: none stored). */
  private storedTx: string | undefined;
  private loaded = false;
  /** Why the last store of the buckets failed, if it did (the window itself is unaffected). */
  saveError: string | undefined;
  /** How the buckets were obtained at the last load (for tests and the benchmark). */
  origin: 'rows' | 'stored' | 'rebuilt' = 'rows';

  constructor(
    private readonly client: pg.ClientBase,
    readonly layout: WindowAggregateLayout,
    private readonly opts: PgWindowBucketsOptions = {},
  ) {
    this.held = new HourlyBuckets(layout, { groupCounts: true });
  }

  get rows(): number {
    return this.held.rows;
  }

  private get key(): [string, string] {
    return [this.layout.baseline.model, this.layout.baseline.modelVersion];
  }

  /** Loads the stored buckets of this layout from hour `first` on, in one snapshot with their cursor. */
  private async load(first: number): Promise<void> {
    this.held.clear();
    this.cursor = new CommitSafeCursor();
    this.storedTx = undefined;
    this.origin = 'rows';
    this.loaded = true;
    if (this.opts.store === false) return;
    const c = this.client;
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const cursor = (await c.query<{ layout: string; through: string; sane: boolean }>(
        'SELECT layout, through_tx::text AS through, through_tx <= pg_snapshot_xmin(pg_current_snapshot()) AS sane FROM window_cursors WHERE model = $1 AND model_version = $2',
        this.key,
      )).rows[0];
      if (cursor !== undefined) {
        this.storedTx = cursor.through;
        if (cursor.layout !== this.layout.hash || !cursor.sane) this.origin = 'rebuilt';
        else await this.loadBuckets(first, cursor.through);
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      this.loaded = false;
      throw err;
    }
  }

  private async loadBuckets(first: number, through: string): Promise<void> {
    // Deflated (packBucket: a ninth of the bytes of a real window's buckets), sent as base64,
    // decoded natively: node-postgres decodes a bytea's hex text in a JavaScript loop, three
    // times slower for a week's 27 MB of raw buckets (measured: 2 s against 0.75 s).
    const rawBytes = this.layout.size * 8;
    const stored = await this.client.query<[string, string, string, string | null]>({
      text: "SELECT bucket_start_ms, rows, encode(data, 'base64'), group_counts FROM window_buckets WHERE model = $1 AND model_version = $2 AND layout = $3 AND bucket_start_ms >= $4",
      values: [...this.key, this.layout.hash, first * BUCKET_MS],
      rowMode: 'array',
    });
    for (const [startMs, rows, data, groupCounts] of stored.rows) {
      const raw = unpackBucket(Buffer.from(data, 'base64'), rawBytes);
      // A bucket stored without its group counts (before they existed) is folded again.
      if (raw === undefined || !this.held.load(Number(startMs) / BUCKET_MS, Number(rows), raw, undefined, groupCounts)) {
        this.held.clear();
        this.origin = 'rebuilt';
        return;
      }
    }
    this.cursor = new CommitSafeCursor(through);
    this.origin = 'stored';
  }

  /** Folds the rows of the transactions settled since the last read; how many. */
  private async fold(first: number): Promise<number> {
    const c = this.client;
    let folded = 0;
    await this.cursor.read(c, async (fromTx, toTx) => {
      await c.query(
        `DECLARE window_fold NO SCROLL CURSOR FOR
         SELECT features, probability, event_ts_ms, latency_ms, groups, decision FROM predictions
         WHERE model = $1 AND model_version = $2 AND tx >= $3::xid8 AND tx < $4::xid8 AND event_ts_ms >= $5`,
        [...this.key, fromTx, toTx, first * BUCKET_MS],
      );
      for (;;) {
        const page = await c.query<[string, number, string, number, string, number]>({ text: `FETCH ${FETCH_ROWS} FROM window_fold`, rowMode: 'array' });
        for (const [features, probability, ts, latency, groups, decision] of page.rows) {
          this.held.fold(features, probability, Number(ts), latency, undefined, { json: groups, decision });
        }
        folded += page.rows.length;
        if (page.rows.length < FETCH_ROWS) break;
      }
    });
    return folded;
  }

  /** Writes the changed buckets and the cursor in one transaction, if this evaluator still may. */
  private async save(first: number, term: number | undefined): Promise<void> {
    const c = this.client;
    const [model, version] = this.key;
    await fencedWrite(c, { lock: ADVISORY_LOCKS.windowBuckets, cursors: 'window_cursors', what: 'buckets', model, version, term, expected: this.storedTx }, async () => {
      for (const hour of this.held.dirty) {
        const b = this.held.stored(hour);
        if (b === undefined) continue;
        await c.query(
          `INSERT INTO window_buckets (model, model_version, layout, bucket_start_ms, rows, data, group_counts) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (model, model_version, layout, bucket_start_ms) DO UPDATE SET rows = excluded.rows, data = excluded.data, group_counts = excluded.group_counts`,
          [model, version, this.layout.hash, hour * BUCKET_MS, b.rows, packBucket(b.data), b.groupCounts],
        );
      }
      // Buckets of other layouts of this model version belong to older baselines: they go too.
      await c.query('DELETE FROM window_buckets WHERE model = $1 AND model_version = $2 AND (layout <> $3 OR bucket_start_ms < $4)', [model, version, this.layout.hash, first * BUCKET_MS]);
      await c.query(
        `INSERT INTO window_cursors (model, model_version, layout, through_tx, term) VALUES ($1, $2, $3, $4::xid8, $5)
         ON CONFLICT (model, model_version) DO UPDATE SET layout = excluded.layout, through_tx = excluded.through_tx, term = excluded.term`,
        [model, version, this.layout.hash, this.cursor.position, term ?? null],
      );
    });
    this.storedTx = this.cursor.position;
    this.held.dirty.clear();
    this.saveError = undefined;
  }

  /**
   * Brings the buckets up to date with every settled transaction and returns the merge of
   * those from the hour holding `fromMs`. `term`: the leader term of the evaluator (in a
   * fleet), which stores nothing once a later term leads.
   */
  async refresh(fromMs: number, term?: number): Promise<AggregateWindow> {
    const first = Math.floor(fromMs / BUCKET_MS);
    if (!this.loaded) await this.load(first);
    const dropped = this.held.dropBefore(first);
    let folded: number;
    try {
      folded = await this.fold(first);
    } catch (err) {
      // Part of a read may be folded without its cursor: start over from the stored buckets.
      this.loaded = false;
      throw err;
    }
    if ((folded > 0 || dropped) && this.opts.store !== false) {
      try {
        await this.save(first, term);
      } catch (err) {
        this.saveError = (err as Error).message;
        // Another evaluator's buckets are stored: ours go, and the next refresh loads theirs.
        // Any other failure (the connection) leaves the changed buckets to the next save.
        if (err instanceof BucketsNotStoredError) this.loaded = false;
      }
    }
    return this.held.window(first);
  }
}
