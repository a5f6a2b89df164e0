import { BucketSample, sampleKey } from '../drift/bucket-sample.js';
import { aggregateCount, emptyAggregate, foldPrediction, mergeInto, type WindowAggregateLayout } from '../drift/window-aggregate.js';
import type { WindowGroupCount } from '../fairness/report.js';
import type { SqliteDatabase } from './database.js';
import { addToCell, cellKey, mergeCells, parseCells, windowEntries, type GroupCells } from './group-counts.js';
import { AGGREGATE_SAVE_INTERVAL_MS, SaveSchedule } from './save-schedule.js';

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
  /**
   * The window's predictions by their groups (JSON, as logged) and decision, for fairness by
   * group: the same counts as a GROUP BY over the buckets' span, without reading its rows.
   * Absent when the store keeps no group counts.
   */
  readonly groupCounts?: readonly WindowGroupCount[];
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
 * The hourly buckets of one model version held in memory, as either engine's store folds
 * them: audit rows (features as JSON) in, the merged window out. A row lands in the bucket of
 * its event time, so a replayed row leaves the window with its own hour. `dirty` names the
 * buckets changed since they were last stored. With `samples`, each bucket also keeps a
 * bounded sample of its rows (src/drift/bucket-sample.ts, keyed by the prediction id, so a
 * rebuild keeps the same rows), for attribution drift.
 */
export class HourlyBuckets {
  private readonly buckets = new Map<number, Float64Array>();
  private readonly samples: Map<number, BucketSample> | undefined;
  /** Per bucket: rows by decision and groups, keyed by the decision's digit followed by the groups' JSON. */
  private readonly groups: Map<number, GroupCells> | undefined;
  readonly dirty = new Set<number>();
  /** Rows folded into the buckets held now. */
  rows = 0;
  private values: Record<string, unknown> = {};
  private readonly value: (j: number) => number;

  constructor(readonly layout: WindowAggregateLayout, opts: { samples?: boolean; groupCounts?: boolean } = {}) {
    this.samples = opts.samples === true ? new Map() : undefined;
    this.groups = opts.groupCounts === true ? new Map() : undefined;
    const names = layout.features.map((f) => f.name);
    this.value = (j) => {
      const v = this.values[names[j]!];
      return typeof v === 'number' ? v : Number.NaN;
    };
  }

  /**
   * Folds one audit row into the bucket of its event time (`id`, the prediction id, keys its
   * place in the bucket's sample; `groups` and `decision` count it for fairness by group).
   */
  fold(features: string, probability: number, eventTsMs: number, latencyMs: number, id?: string, groups?: { json: string; decision: number }): void {
    const k = Math.floor(eventTsMs / BUCKET_MS);
    let bucket = this.buckets.get(k);
    if (bucket === undefined) {
      bucket = emptyAggregate(this.layout);
      this.buckets.set(k, bucket);
      this.samples?.set(k, new BucketSample(this.layout.features.length));
      this.groups?.set(k, new Map());
    }
    this.values = JSON.parse(features) as Record<string, unknown>;
    foldPrediction(this.layout, bucket, this.value, probability, latencyMs);
    if (this.samples !== undefined && id !== undefined) this.samples.get(k)!.offer(sampleKey(id), this.value);
    if (this.groups !== undefined && groups !== undefined) {
      // Fairness reads a decision as selected (1) or not: one digit keys both.
      addToCell(this.groups.get(k)!, cellKey(groups.json, groups.decision === 1 ? 1 : 0));
    }
    this.dirty.add(k);
    this.rows++;
  }

  /**
   * A stored bucket (`data`: the Float64Array's bytes; `sample`: its sample's bytes, when
   * samples are kept; `groupCounts`: its counts by decision and groups as stored, when they
   * are kept); false when its size is not this layout's, or its sample or its group counts
   * are missing (stored before they existed) or do not match its rows.
   */
  load(hour: number, rows: number, data: Uint8Array, sampleBytes?: Uint8Array | null, groupCounts?: string | null): boolean {
    if (data.byteLength !== this.layout.size * 8) return false;
    let sample: BucketSample | undefined;
    if (this.samples !== undefined) {
      sample = sampleBytes === null || sampleBytes === undefined ? undefined : BucketSample.fromBytes(sampleBytes, this.layout.features.length);
      if (sample === undefined || sample.size !== Math.min(rows, sample.capacity)) return false;
    }
    let counts: Map<string, number> | undefined;
    if (this.groups !== undefined) {
      counts = parseGroupCounts(groupCounts, rows);
      if (counts === undefined) return false;
      this.groups.set(hour, counts);
    }
    if (sample !== undefined) this.samples!.set(hour, sample);
    const bucket = new Float64Array(this.layout.size);
    new Uint8Array(bucket.buffer).set(data);
    this.buckets.set(hour, bucket);
    this.rows += rows;
    return true;
  }

  /**
   * The bucket of `hour` as bytes to store, with its row count (and its sample's bytes and
   * its group counts' JSON, when they are kept); undefined when it was dropped.
   */
  stored(hour: number): { rows: number; data: Buffer; sample: Buffer | null; groupCounts: string | null } | undefined {
    const b = this.buckets.get(hour);
    if (b === undefined) return undefined;
    const counts = this.groups?.get(hour);
    return {
      rows: b[0]!,
      data: Buffer.from(b.buffer, b.byteOffset, b.byteLength),
      sample: this.samples?.get(hour)?.toBytes() ?? null,
      groupCounts: counts === undefined ? null : JSON.stringify(windowEntries(counts)),
    };
  }

  /** Drops the buckets before hour `first`; true when there were some. */
  dropBefore(first: number): boolean {
    let dropped = false;
    for (const [k, b] of this.buckets) {
      if (k < first) {
        this.rows -= b[0]!;
        this.buckets.delete(k);
        this.samples?.delete(k);
        this.groups?.delete(k);
        this.dirty.delete(k);
        dropped = true;
      }
    }
    return dropped;
  }

  clear(): void {
    this.buckets.clear();
    this.samples?.clear();
    this.groups?.clear();
    this.dirty.clear();
    this.rows = 0;
  }

  /** The merged window of the buckets held, from hour `first`. */
  window(first: number): AggregateWindow {
    const held = [...this.buckets].sort((a, b) => a[0] - b[0]);
    const merged = mergeBuckets(this.layout, held, first * BUCKET_MS);
    const { samples, groups } = this;
    return {
      ...merged,
      ...(samples === undefined ? {} : { samples: held.map(([k, b]) => ({ rows: b[0]!, sample: samples.get(k)! })) }),
      ...(groups === undefined ? {} : { groupCounts: windowEntries(mergeCells(held.map(([k]) => groups.get(k)!))) }),
    };
  }
}

/** A stored bucket's group counts (JSON of `[groups, decision, count]`); undefined when absent, malformed or not adding up to its rows. */
function parseGroupCounts(json: string | null | undefined, rows: number): GroupCells | undefined {
  const parsed = parseCells(json, 1);
  return parsed !== undefined && parsed.total === rows ? parsed.cells : undefined;
}

/**
 * A model version's window as hourly aggregates built from the SQLite audit log by the
 * evaluation process, off the request path. Each `refresh` folds the rows committed since
 * the last one, read by `seq` (the rowid). In SQLite that cursor is commit-safe: one writer
 * connection inserts, rowids grow with each insert, and a transaction's rows become visible
 * all at once at its commit, so the rows a reader sees always form a prefix of `seq` and
 * "seq > last" never skips a committed row. (Not so in PostgreSQL, where a sequence value is
 * taken before commit: `PgWindowBuckets` reads by transaction id instead.) Buckets older than
 * the window are dropped. Each bucket keeps a bounded sample of its rows for attribution
 * drift (PostgreSQL's buckets keep none yet).
 *
 * With `persist` (a writable connection), the changed buckets and the cursor are written in
 * one transaction (`window_buckets`, `window_cursors`), so a row is in the stored buckets
 * exactly when its seq is at most the stored cursor. They are written at the first change,
 * then at most once per `saveEveryMs` and at `flush` (src/store/save-schedule.ts says why).
 * A new process loads them and folds only the rows committed since. It rebuilds them from
 * the rows (the source of truth) when they are missing, of another layout, or ahead of the
 * log (its newest rows removed). Rows archived by retention stay counted in the buckets they were folded into:
 * the window is the predictions made in its span, archived or not.
 */
export class SqliteWindowBuckets implements WindowBucketSource {
  private lastSeq = 0;
  private readonly held: HourlyBuckets;
  private readonly select;
  private loaded = false;
  /** Why the last store of the buckets failed, if it did (the window itself is unaffected). */
  saveError: string | undefined;
  /** How the buckets were obtained at the first refresh (for tests and the benchmark). */
  origin: 'rows' | 'stored' | 'rebuilt' = 'rows';
  private readonly schedule: SaveSchedule;
  /** The window's first hour at the last refresh: what a deferred store drops before. */
  private first = 0;

  constructor(
    private readonly db: SqliteDatabase,
    readonly layout: WindowAggregateLayout,
    private readonly persist?: SqliteDatabase,
    saveEveryMs = AGGREGATE_SAVE_INTERVAL_MS,
  ) {
    this.schedule = new SaveSchedule(saveEveryMs);
    this.held = new HourlyBuckets(layout, { samples: true, groupCounts: true });
    this.select = db
      // The unary + keeps SQLite off the (model, version, event time) index, which would make
      // every refresh walk the whole window: the rowid range reads only the rows since the cursor.
      .prepare('SELECT seq, id, features, probability, event_ts_ms, latency_ms, groups, decision FROM predictions WHERE seq > ? AND +model = ? AND +model_version = ? AND +event_ts_ms >= ? ORDER BY seq')
      .raw();
  }

  get rows(): number {
    return this.held.rows;
  }

  /** Loads the stored buckets of this layout from `first` on, if they agree with the audit log. */
  private load(first: number): void {
    this.loaded = true;
    if (this.persist === undefined) return;
    const { model, modelVersion } = this.layout.baseline;
    const key = [model, modelVersion, this.layout.hash] as const;
    const cursor = this.persist.prepare('SELECT through_seq FROM window_cursors WHERE model = ? AND model_version = ? AND layout = ?').pluck().get(...key) as number | undefined;
    if (cursor === undefined) return;
    const stored = this.persist.prepare('SELECT bucket_start_ms, rows, data, sample, group_counts FROM window_buckets WHERE model = ? AND model_version = ? AND layout = ? AND bucket_start_ms >= ?').raw().all(...key, first * BUCKET_MS) as [number, number, Buffer, Buffer | null, string | null][];
    // No count of the window's rows against the buckets (minutes at 605 million rows): the
    // buckets and their cursor are written in the database that holds the rows, so a backup
    // or a restore carries both. Only a log whose newest rows were removed has a cursor
    // beyond its last seq (found by the rowid index at once); its buckets are rebuilt.
    const newestSeq = (this.db.prepare('SELECT max(seq) FROM predictions').pluck().get() as number | null) ?? 0;
    if (cursor > newestSeq) {
      this.origin = 'rebuilt';
      return;
    }
    for (const [startMs, n, data, sample, groupCounts] of stored) {
      // A bucket stored before the samples or the group counts (NULL) or of another shape is folded again from the rows, with the rest.
      if (!this.held.load(startMs / BUCKET_MS, n, data, sample, groupCounts)) {
        this.held.clear();
        this.origin = 'rebuilt';
        return;
      }
    }
    this.lastSeq = cursor;
    this.origin = 'stored';
  }

  /** Writes the changed buckets and the cursor in one transaction; drops stored buckets older than `first`. */
  private save(first: number): void {
    if (this.persist === undefined) return;
    const { model, modelVersion } = this.layout.baseline;
    const key = [model, modelVersion, this.layout.hash] as const;
    const upsert = this.persist.prepare(
      'INSERT INTO window_buckets (model, model_version, layout, bucket_start_ms, rows, data, sample, group_counts) VALUES (?, ?, ?, ?, ?, ?, ?, ?) ON CONFLICT DO UPDATE SET rows = excluded.rows, data = excluded.data, sample = excluded.sample, group_counts = excluded.group_counts',
    );
    this.persist.transaction(() => {
      for (const k of this.held.dirty) {
        const b = this.held.stored(k);
        if (b !== undefined) upsert.run(...key, k * BUCKET_MS, b.rows, b.data, b.sample, b.groupCounts);
      }
      // Buckets of other layouts of this model version belong to older baselines: they go too.
      this.persist!.prepare('DELETE FROM window_buckets WHERE model = ? AND model_version = ? AND (layout <> ? OR bucket_start_ms < ?)').run(model, modelVersion, this.layout.hash, first * BUCKET_MS);
      this.persist!.prepare('DELETE FROM window_cursors WHERE model = ? AND model_version = ? AND layout <> ?').run(...key);
      this.persist!.prepare('INSERT INTO window_cursors (model, model_version, layout, through_seq) VALUES (?, ?, ?, ?) ON CONFLICT DO UPDATE SET through_seq = excluded.through_seq').run(...key, this.lastSeq);
    })();
    this.held.dirty.clear();
    this.saveError = undefined;
  }

  /** Stores what changed since the last store, if anything did (when the evaluation process closes). */
  flush(): void {
    this.store(true);
  }

  private store(force = false): void {
    const error = this.persist === undefined ? undefined : this.schedule.run(() => this.save(this.first), force);
    if (error !== undefined) this.saveError = error;
  }

  refresh(fromMs: number): AggregateWindow {
    const first = Math.floor(fromMs / BUCKET_MS);
    this.first = first;
    if (!this.loaded) this.load(first);
    const dropped = this.held.dropBefore(first);
    const { model, modelVersion } = this.layout.baseline;
    const seqBefore = this.lastSeq;
    const rows = this.select.iterate(this.lastSeq, model, modelVersion, first * BUCKET_MS) as IterableIterator<[number, string, string, number, number, number, string, number]>;
    for (const [seq, id, features, probability, ts, latency, groups, decision] of rows) {
      this.lastSeq = seq;
      this.held.fold(features, probability, ts, latency, id, { json: groups, decision });
    }
    if (this.lastSeq !== seqBefore || dropped) this.schedule.pending = true;
    this.store();
    return this.held.window(first);
  }
}
