import { BucketSample, sampleKey } from '../drift/bucket-sample.js';
import { aggregateCount, emptyAggregate, foldPrediction, mergeInto, type WindowAggregateLayout } from '../drift/window-aggregate.js';
import type { SqliteDatabase } from './database.js';

/** The length of one bucket: an hour of event time. */
export const BUCKET_MS = 3_600_000;

/** A window kept as aggregates: what the evaluation of a large window reads. */
export interface AggregateWindow {
  /** The merged aggregate of the buckets in the window. */
  readonly aggregate: Float64Array;
  /** The start of the oldest bucket in the window (the window is aligned to buckets). */
  readonly fromMs: number;
  readonly buckets: number;
  readonly firstHalfMean: number;
  readonly secondHalfMean: number;
  /**
   * Per bucket in the window (time order), its rows and a bounded sample of them, in the
   * layout's feature order (src/drift/bucket-sample.ts). Absent when the store keeps no
   * samples; attribution drift then has no rows to explain on this path.
   */
  readonly samples?: readonly { readonly rows: number; readonly sample: BucketSample }[];
}

/**
 * The seam a store implements to keep a model version's window as time-bucketed aggregates
 * (see docs/drift.md): `refresh` brings the buckets up to date with every committed row and
 * returns the merge of those whose start is at or after the bucket holding `fromMs`.
 */
export interface WindowBucketSource {
  refresh(fromMs: number): AggregateWindow;
  /** Rows folded into the buckets held now (for tests and metrics). */
  readonly rows: number;
}

/** Merges the buckets (sorted by start) of a window and splits their score sums into halves at the bucket nearest the middle row. */
export function mergeBuckets(layout: WindowAggregateLayout, buckets: readonly (readonly [number, Float64Array])[], fromMs: number): AggregateWindow {
  const aggregate = emptyAggregate(layout);
  for (const [, b] of buckets) mergeInto(aggregate, b);
  const n = aggregateCount(aggregate);
  let firstN = 0;
  let firstSum = 0;
  for (const [, b] of buckets) {
    if (firstN + b[0]! / 2 > n / 2) break;
    firstN += b[0]!;
    firstSum += b[1]!;
  }
  const firstHalfMean = firstN === 0 ? NaN : firstSum / firstN;
  const secondHalfMean = n - firstN === 0 ? NaN : (aggregate[1]! - firstSum) / (n - firstN);
  return { aggregate, fromMs, buckets: buckets.length, firstHalfMean, secondHalfMean };
}

/**
 * A model version's window as hourly aggregates built from the SQLite audit log by the
 * evaluation process, off the request path. Each `refresh` folds the rows committed since
 * the last one, read by `seq` (the rowid). In SQLite that cursor is commit-safe: one writer
 * connection inserts, rowids grow with each insert, and a transaction's rows become visible
 * all at once at its commit, so the rows a reader sees always form a prefix of `seq` and
 * "seq > last" never skips a committed row. (Not so in PostgreSQL, where a sequence value is
 * taken before commit; a PostgreSQL store upserts bucket deltas in the writer's transaction
 * instead, see docs/drift.md.) A row lands in the bucket of its event time, so a replayed
 * row leaves the window with its own hour. Buckets older than the window are dropped. Each
 * bucket also keeps a bounded sample of its rows (src/drift/bucket-sample.ts, keyed by the
 * prediction id, so a rebuild keeps the same rows), for attribution drift.
 *
 * With `persist` (a writable connection), the buckets changed by a refresh (their samples
 * with them) and the cursor are written in one transaction (`window_buckets`, `window_cursors`), so a row is in the
 * stored buckets exactly when its seq is at most the stored cursor. A new process loads
 * them, checks their row count against the audit log (the rows stay the source of truth)
 * and rebuilds from the rows when they disagree or are missing; then it folds only the
 * rows committed since.
 */
export class SqliteWindowBuckets implements WindowBucketSource {
  private lastSeq = 0;
  private readonly buckets = new Map<number, Float64Array>();
  private readonly samples = new Map<number, BucketSample>();
  private readonly dirty = new Set<number>();
  private readonly select;
  private folded = 0;
  private loaded = false;
  /** Why the last store of the buckets failed, if it did (the window itself is unaffected). */
  saveError: string | undefined;
  /** How the buckets were obtained at the first refresh (for tests and the benchmark). */
  origin: 'rows' | 'stored' | 'rebuilt' = 'rows';

  constructor(
    private readonly db: SqliteDatabase,
    readonly layout: WindowAggregateLayout,
    private readonly persist?: SqliteDatabase,
  ) {
    this.select = db
      // The unary + keeps SQLite off the (model, version, event time) index, which would make
      // every refresh walk the whole window: the rowid range reads only the rows since the cursor.
      .prepare('SELECT seq, id, features, probability, event_ts_ms, latency_ms FROM predictions WHERE seq > ? AND +model = ? AND +model_version = ? AND +event_ts_ms >= ? ORDER BY seq')
      .raw();
  }

  get rows(): number {
    return this.folded;
  }

  /** Loads the stored buckets of this layout from `first` on, if they agree with the audit log. */
  private load(first: number): void {
    this.loaded = true;
    if (this.persist === undefined) return;
    const { model, modelVersion } = this.layout.baseline;
    const key = [model, modelVersion, this.layout.hash] as const;
    const cursor = this.persist.prepare('SELECT through_seq FROM window_cursors WHERE model = ? AND model_version = ? AND layout = ?').pluck().get(...key) as number | undefined;
    if (cursor === undefined) return;
    const stored = this.persist.prepare('SELECT bucket_start_ms, rows, data, sample FROM window_buckets WHERE model = ? AND model_version = ? AND layout = ? AND bucket_start_ms >= ?').raw().all(...key, first * BUCKET_MS) as [number, number, Buffer, Buffer | null][];
    let rows = 0;
    for (const [, n] of stored) rows += n;
    const inLog = this.db.prepare('SELECT count(*) FROM predictions WHERE model = ? AND model_version = ? AND event_ts_ms >= ? AND seq <= ?').pluck().get(model, modelVersion, first * BUCKET_MS, cursor) as number;
    if (inLog !== rows) {
      this.origin = 'rebuilt';
      return;
    }
    for (const [startMs, n, data, sampleBytes] of stored) {
      // A bucket stored before the samples (NULL) or of another shape is folded again from the rows, with the rest.
      const sample = sampleBytes === null ? undefined : BucketSample.fromBytes(sampleBytes, this.layout.features.length);
      if (data.byteLength !== this.layout.size * 8 || sample === undefined || sample.size !== Math.min(n, sample.capacity)) {
        this.buckets.clear();
        this.samples.clear();
        this.folded = 0;
        this.origin = 'rebuilt';
        return;
      }
      const bucket = new Float64Array(this.layout.size);
      new Uint8Array(bucket.buffer).set(data);
      this.buckets.set(startMs / BUCKET_MS, bucket);
      this.samples.set(startMs / BUCKET_MS, sample);
      this.folded += n;
    }
    this.lastSeq = cursor;
    this.origin = 'stored';
  }

  /** Writes the changed buckets and the cursor in one transaction; drops stored buckets older than `first`. */
  private save(first: number): void {
    if (this.persist === undefined) return;
    const { model, modelVersion } = this.layout.baseline;
    const key = [model, modelVersion, this.layout.hash] as const;
    const upsert = this.persist.prepare('INSERT INTO window_buckets (model, model_version, layout, bucket_start_ms, rows, data, sample) VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET rows = excluded.rows, data = excluded.data, sample = excluded.sample');
    this.persist.transaction(() => {
      for (const k of this.dirty) {
        const b = this.buckets.get(k);
        if (b !== undefined) upsert.run(...key, k * BUCKET_MS, b[0]!, Buffer.from(b.buffer, b.byteOffset, b.byteLength), this.samples.get(k)!.toBytes());
      }
      // Buckets of other layouts of this model version belong to older baselines: they go too.
      this.persist!.prepare('DELETE FROM window_buckets WHERE model = ? AND model_version = ? AND (layout <> ? OR bucket_start_ms < ?)').run(model, modelVersion, this.layout.hash, first * BUCKET_MS);
      this.persist!.prepare('DELETE FROM window_cursors WHERE model = ? AND model_version = ? AND layout <> ?').run(...key);
      this.persist!.prepare('INSERT INTO window_cursors (model, model_version, layout, through_seq) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET through_seq = excluded.through_seq').run(...key, this.lastSeq);
    })();
    this.dirty.clear();
    this.saveError = undefined;
  }

  refresh(fromMs: number): AggregateWindow {
    const first = Math.floor(fromMs / BUCKET_MS);
    if (!this.loaded) this.load(first);
    let dropped = false;
    for (const [k, b] of this.buckets) {
      if (k < first) {
        this.folded -= b[0]!;
        this.buckets.delete(k);
        this.samples.delete(k);
        dropped = true;
      }
    }
    const { layout } = this;
    const names = layout.features.map((f) => f.name);
    const { model, modelVersion } = layout.baseline;
    let values: Record<string, unknown> = {};
    const value = (j: number) => {
      const v = values[names[j]!];
      return typeof v === 'number' ? v : Number.NaN;
    };
    const seqBefore = this.lastSeq;
    const rows = this.select.iterate(this.lastSeq, model, modelVersion, first * BUCKET_MS) as IterableIterator<[number, string, string, number, number, number]>;
    for (const [seq, id, features, probability, ts, latency] of rows) {
      this.lastSeq = seq;
      const k = Math.floor(ts / BUCKET_MS);
      let bucket = this.buckets.get(k);
      if (bucket === undefined) {
        bucket = emptyAggregate(layout);
        this.buckets.set(k, bucket);
        this.samples.set(k, new BucketSample(names.length));
      }
      values = JSON.parse(features) as Record<string, unknown>;
      foldPrediction(layout, bucket, value, probability, latency);
      this.samples.get(k)!.offer(sampleKey(id), value);
      this.dirty.add(k);
      this.folded++;
    }
    if (this.lastSeq !== seqBefore || dropped) {
      try {
        this.save(first);
      } catch (err) {
        // The stored buckets only spare a restart its fold: the evaluation goes on from memory,
        // and the buckets still marked changed are written at the next refresh.
        this.saveError = (err as Error).message;
      }
    }
    const held = [...this.buckets].sort((a, b) => a[0] - b[0]);
    return { ...mergeBuckets(layout, held, first * BUCKET_MS), samples: held.map(([k, b]) => ({ rows: b[0]!, sample: this.samples.get(k)! })) };
  }
}
