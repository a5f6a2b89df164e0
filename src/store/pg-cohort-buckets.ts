import type pg from 'pg';
import type { CohortAggregateLayout } from '../performance/cohort-aggregate.js';
import { cohortHours, HourlyCohort, type AggregateCohort } from './cohort-buckets.js';
import { BucketsNotStoredError, fencedWrite } from './pg-fenced-write.js';
import { CommitSafeCursor } from './pg-window.js';
import { ADVISORY_LOCKS } from './postgres.js';
import { BUCKET_MS } from './window-buckets.js';

/** Labels fetched per round trip while folding: bounds the memory of the first fold of a large cohort. */
const FETCH_LABELS = 10_000;

/**
 * A model version's matured cohort as hourly aggregates in PostgreSQL (`cohort_buckets`,
 * `cohort_cursors`), folded from the audit log by the fleet's evaluator, off the request path.
 *
 * Incremental and commit-safe as the window's buckets (src/store/pg-window-buckets.ts): each
 * refresh reads, in one REPEATABLE READ snapshot, the predictions and the labels of the
 * transactions between the stored cursor and the snapshot's xmin (`CommitSafeCursor`; both
 * tables carry their inserting transaction's id, `tx`) — every one of them has ended, so none
 * can appear below it later. The predictions are counted per hour by the server (GROUP BY);
 * the labels are fetched in pages of FETCH_LABELS and folded into the hour of their
 * prediction's event time, however late they arrive. A label is never overwritten, so each is
 * folded exactly once. The changed hours and the new cursor are written in one transaction:
 * a committed prediction or label is in the stored buckets exactly when its transaction id is
 * below the stored `through_tx`.
 *
 * Only the fleet's evaluator writes them, fenced by its leader term and a compare-and-set of
 * the cursor (`fencedWrite`), as the window's buckets. A new process loads the stored hours of
 * its layout when their cursor is not ahead of the server's transaction counter, else
 * rebuilds them from the rows, which stay the source of truth.
 */
export class PgCohortBuckets {
  private readonly held: HourlyCohort;
  private cursor = new CommitSafeCursor();
  /** The cursor stored when these buckets were loaded or last saved (undefined: none stored). */
  private storedTx: string | undefined;
  private loaded = false;
  /** The stored hours are not these buckets' (another layout, or a restored cluster): the next save replaces them all. */
  private replaceStored = false;
  /** Why the last store of the buckets failed, if it did (the cohort itself is unaffected). */
  saveError: string | undefined;
  /** How the buckets were obtained at the last load (for tests and the benchmark). */
  origin: 'rows' | 'stored' | 'rebuilt' = 'rows';

  constructor(
    private readonly client: pg.ClientBase,
    private readonly model: string,
    private readonly version: string,
    readonly layout: CohortAggregateLayout,
    private readonly opts: { readonly store?: boolean } = {},
  ) {
    this.held = new HourlyCohort(layout);
  }

  /** Labels folded into the hours held now. */
  get labelled(): number {
    return this.held.labelled;
  }

  private get key(): [string, string] {
    return [this.model, this.version];
  }

  /** Loads the stored hours of this layout from hour `first` on, in one snapshot with their cursor. */
  private async load(first: number): Promise<void> {
    this.held.clear();
    this.cursor = new CommitSafeCursor();
    this.storedTx = undefined;
    this.replaceStored = false;
    this.origin = 'rows';
    this.loaded = true;
    if (this.opts.store === false) return;
    const c = this.client;
    await c.query('BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY');
    try {
      const cursor = (await c.query<{ layout: string; through: string; sane: boolean }>(
        'SELECT layout, through_tx::text AS through, through_tx <= pg_snapshot_xmin(pg_current_snapshot()) AS sane FROM cohort_cursors WHERE model = $1 AND model_version = $2',
        this.key,
      )).rows[0];
      if (cursor !== undefined) {
        this.storedTx = cursor.through;
        if (cursor.layout !== this.layout.hash || !cursor.sane) this.rebuild();
        else await this.loadHours(first, cursor.through);
      }
      await c.query('COMMIT');
    } catch (err) {
      await c.query('ROLLBACK').catch(() => undefined);
      this.loaded = false;
      throw err;
    }
  }

  private rebuild(): void {
    this.held.clear();
    this.origin = 'rebuilt';
    this.replaceStored = true;
  }

  private async loadHours(first: number, through: string): Promise<void> {
    // As base64, decoded natively (see PgWindowBuckets: node-postgres decodes hex in JavaScript).
    const stored = await this.client.query<[string, string, string | null, string | null]>({
      text: "SELECT bucket_start_ms, matured, encode(data, 'base64'), group_counts FROM cohort_buckets WHERE model = $1 AND model_version = $2 AND bucket_start_ms >= $3",
      values: [...this.key, first * BUCKET_MS],
      rowMode: 'array',
    });
    for (const [startMs, matured, data, groupCounts] of stored.rows) {
      if (!this.held.load(Number(startMs) / BUCKET_MS, Number(matured), data === null ? null : Buffer.from(data, 'base64'), groupCounts)) {
        this.rebuild();
        return;
      }
    }
    this.cursor = new CommitSafeCursor(through);
    this.origin = 'stored';
  }

  /** Counts the predictions and folds the labels of the transactions settled since the last read; how many rows. */
  private async fold(first: number): Promise<number> {
    const c = this.client;
    let folded = 0;
    await this.cursor.read(c, async (fromTx, toTx) => {
      const range = [...this.key, fromTx, toTx, first * BUCKET_MS];
      const hours = await c.query<[string, string]>({
        text: `SELECT event_ts_ms / ${BUCKET_MS}, count(*) FROM predictions
               WHERE model = $1 AND model_version = $2 AND tx >= $3::xid8 AND tx < $4::xid8 AND event_ts_ms >= $5 GROUP BY 1`,
        values: range,
        rowMode: 'array',
      });
      for (const [k, n] of hours.rows) {
        this.held.addPredictions(Number(k), Number(n));
        folded += Number(n);
      }
      // Each label with its prediction's groups and decision, for fairness's counts: joined on
      // the id and the event time, both partitions' keys, so a month's labels meet only that
      // month's predictions.
      await c.query(
        `DECLARE cohort_fold NO SCROLL CURSOR FOR
         SELECT l.event_ts_ms, l.label, l.probability, p.groups, p.decision FROM labels l
         LEFT JOIN predictions p ON p.id = l.prediction_id AND p.event_ts_ms = l.event_ts_ms
         WHERE l.model = $1 AND l.model_version = $2 AND l.tx >= $3::xid8 AND l.tx < $4::xid8 AND l.event_ts_ms >= $5`,
        range,
      );
      for (;;) {
        const page = await c.query<[string, number, number, string | null, number | null]>({ text: `FETCH ${FETCH_LABELS} FROM cohort_fold`, rowMode: 'array' });
        for (const [ts, label, p, groups, decision] of page.rows) this.held.foldLabel(Number(ts), label, p, groups, decision);
        folded += page.rows.length;
        if (page.rows.length < FETCH_LABELS) break;
      }
    });
    return folded;
  }

  /** Writes the changed hours and the cursor in one transaction, if this evaluator still may. */
  private async save(first: number, term: number | undefined): Promise<void> {
    const c = this.client;
    const [model, version] = this.key;
    await fencedWrite(c, { lock: ADVISORY_LOCKS.cohortBuckets, cursors: 'cohort_cursors', what: 'cohort buckets', model, version, term, expected: this.storedTx }, async () => {
      if (this.replaceStored) await c.query('DELETE FROM cohort_buckets WHERE model = $1 AND model_version = $2', this.key);
      for (const hour of this.held.dirty) {
        const h = this.held.stored(hour);
        if (h === undefined) continue;
        await c.query(
          `INSERT INTO cohort_buckets (model, model_version, bucket_start_ms, matured, labelled, data, group_counts) VALUES ($1, $2, $3, $4, $5, $6, $7)
           ON CONFLICT (model, model_version, bucket_start_ms) DO UPDATE SET matured = excluded.matured, labelled = excluded.labelled, data = excluded.data, group_counts = excluded.group_counts`,
          [model, version, hour * BUCKET_MS, h.matured, h.labelled, h.data, h.groupCounts],
        );
      }
      await c.query('DELETE FROM cohort_buckets WHERE model = $1 AND model_version = $2 AND bucket_start_ms < $3', [model, version, first * BUCKET_MS]);
      await c.query(
        `INSERT INTO cohort_cursors (model, model_version, layout, through_tx, term) VALUES ($1, $2, $3, $4::xid8, $5)
         ON CONFLICT (model, model_version) DO UPDATE SET layout = excluded.layout, through_tx = excluded.through_tx, term = excluded.term`,
        [model, version, this.layout.hash, this.cursor.position, term ?? null],
      );
    });
    this.storedTx = this.cursor.position;
    this.replaceStored = false;
    this.held.dirty.clear();
    this.saveError = undefined;
  }

  /**
   * Brings the hours up to date with every settled transaction and returns the cohort
   * [fromMs, toMs) aligned to hours. `term`: the leader term of the evaluator (in a fleet),
   * which stores nothing once a later term leads.
   */
  async refresh(fromMs: number, toMs: number, term?: number): Promise<AggregateCohort> {
    const { first, end } = cohortHours(fromMs, toMs);
    if (!this.loaded) await this.load(first);
    const dropped = this.held.dropBefore(first);
    let folded: number;
    try {
      folded = await this.fold(first);
    } catch (err) {
      // Part of a read may be folded without its cursor: start over from the stored hours.
      this.loaded = false;
      throw err;
    }
    if ((folded > 0 || dropped || this.replaceStored) && this.opts.store !== false) {
      try {
        await this.save(first, term);
      } catch (err) {
        this.saveError = (err as Error).message;
        // Another evaluator's hours are stored: ours go, and the next refresh loads theirs.
        if (err instanceof BucketsNotStoredError) this.loaded = false;
      }
    }
    return this.held.cohort(first, end);
  }
}
