import { emptyCohortAggregate, foldLabel, labelledCount, mergeCohortInto, type CohortAggregateLayout } from '../performance/cohort-aggregate.js';
import type { CohortGroupCount } from '../fairness/report.js';
import { addToCell, cellKey, cohortEntries, mergeCells, parseCells, type GroupCells } from './group-counts.js';
import type { SqliteDatabase } from './database.js';
import { AGGREGATE_SAVE_INTERVAL_MS, SaveSchedule } from './save-schedule.js';
import { BUCKET_MS } from './window-buckets.js';

/** A matured cohort read from its hourly aggregates: what the evaluation of a large cohort reads. */
export interface AggregateCohort {
  /** The cohort aligned to hours: [fromMs, toMs), from the hour holding the cohort's start to the last hour wholly matured. */
  readonly fromMs: number;
  readonly toMs: number;
  /** Predictions of the cohort's hours (labelled or not). */
  readonly matured: number;
  /** Labelled predictions of the cohort's hours. */
  readonly labelled: number;
  /** The merged aggregate of their labels (src/performance/cohort-aggregate.ts). */
  readonly aggregate: Float64Array;
  /** Their labelled predictions by groups, decision and label: fairness's TPR and FPR read them instead of a GROUP BY over the cohort. */
  readonly groupCounts: readonly CohortGroupCount[];
}

/** One hour: its predictions counted, its labels aggregated and counted by groups, decision and label (none until a label of the hour arrives). */
interface Hour {
  matured: number;
  labels: Float64Array | undefined;
  groups: GroupCells | undefined;
}

/**
 * The hourly cohort buckets of one model version held in memory, as either engine's store
 * folds them: per hour of event time, the predictions counted and the labels aggregated. A
 * label lands in the hour of its prediction's event time, whenever it arrives. `dirty` names
 * the hours changed since they were last stored.
 */
export class HourlyCohort {
  private readonly hours = new Map<number, Hour>();
  readonly dirty = new Set<number>();
  /** Labels folded into the hours held now. */
  labelled = 0;
  /** Predictions counted in the hours held now. */
  matured = 0;

  constructor(readonly layout: CohortAggregateLayout) {}

  private hour(k: number): Hour {
    let h = this.hours.get(k);
    if (h === undefined) this.hours.set(k, (h = { matured: 0, labels: undefined, groups: undefined }));
    this.dirty.add(k);
    return h;
  }

  /** Counts `count` predictions of hour `k` (`Math.floor(event time / BUCKET_MS)`). */
  addPredictions(k: number, count: number): void {
    this.hour(k).matured += count;
    this.matured += count;
  }

  /**
   * Folds one label into the hour of its prediction's event time, and counts it in the cell of
   * its prediction's `groups` and `decision` (null when retention removed the prediction: the
   * label stays in the metrics, in no fairness cell, as the exact GROUP BY's join leaves it out).
   */
  foldLabel(eventTsMs: number, label: number, probability: number, groups: string | null, decision: number | null): void {
    const h = this.hour(Math.floor(eventTsMs / BUCKET_MS));
    h.labels ??= emptyCohortAggregate(this.layout);
    h.groups ??= new Map();
    foldLabel(this.layout, h.labels, label, probability);
    if (groups !== null && decision !== null) addToCell(h.groups, cellKey(groups, decision === 1 ? 1 : 0, label));
    this.labelled++;
  }

  /**
   * A stored hour (`data`: the aggregate's bytes, or null before its first label;
   * `groupCounts`: its labels by groups, decision and label, JSON); false when its size is not
   * this layout's, or its labels have no valid counts (stored before they were kept): the
   * caller folds the hours again from the audit log.
   */
  load(k: number, matured: number, data: Uint8Array | null, groupCounts: string | null): boolean {
    let labels: Float64Array | undefined;
    let groups: GroupCells | undefined;
    if (data !== null) {
      if (data.byteLength !== this.layout.size * 8) return false;
      labels = new Float64Array(this.layout.size);
      new Uint8Array(labels.buffer).set(data);
      // A label whose prediction retention removed is in no cell (see foldLabel): the cells may count fewer.
      const cells = parseCells(groupCounts, 2);
      if (cells === undefined || cells.total > labelledCount(labels)) return false;
      groups = cells.cells;
      this.labelled += labelledCount(labels);
    }
    this.hours.set(k, { matured, labels, groups });
    this.matured += matured;
    return true;
  }

  /** Hour `k` as stored: its predictions, its labels, their aggregate's bytes and their group counts' JSON (both null without labels); undefined when dropped. */
  stored(k: number): { matured: number; labelled: number; data: Buffer | null; groupCounts: string | null } | undefined {
    const h = this.hours.get(k);
    if (h === undefined) return undefined;
    const l = h.labels;
    return {
      matured: h.matured,
      labelled: l === undefined ? 0 : labelledCount(l),
      data: l === undefined ? null : Buffer.from(l.buffer, l.byteOffset, l.byteLength),
      groupCounts: l === undefined ? null : JSON.stringify(cohortEntries(h.groups ?? new Map())),
    };
  }

  /** Drops the hours before `first`; true when there were some. */
  dropBefore(first: number): boolean {
    let dropped = false;
    for (const [k, h] of this.hours) {
      if (k >= first) continue;
      this.matured -= h.matured;
      if (h.labels !== undefined) this.labelled -= labelledCount(h.labels);
      this.hours.delete(k);
      this.dirty.delete(k);
      dropped = true;
    }
    return dropped;
  }

  clear(): void {
    this.hours.clear();
    this.dirty.clear();
    this.labelled = 0;
    this.matured = 0;
  }

  /** The cohort of hours [first, end): their predictions and merged labels. */
  cohort(first: number, end: number): AggregateCohort {
    const aggregate = emptyCohortAggregate(this.layout);
    const groups: GroupCells[] = [];
    let matured = 0;
    for (const [k, h] of this.hours) {
      if (k < first || k >= end) continue;
      matured += h.matured;
      if (h.labels !== undefined) mergeCohortInto(aggregate, h.labels);
      if (h.groups !== undefined) groups.push(h.groups);
    }
    return { fromMs: first * BUCKET_MS, toMs: end * BUCKET_MS, matured, labelled: labelledCount(aggregate), aggregate, groupCounts: cohortEntries(mergeCells(groups)) };
  }
}

/** The hours [first, end) of the cohort [fromMs, toMs): from the hour holding its start to the last hour wholly matured. */
export function cohortHours(fromMs: number, toMs: number): { first: number; end: number } {
  return { first: Math.floor(fromMs / BUCKET_MS), end: Math.floor(toMs / BUCKET_MS) };
}

/**
 * A model version's matured cohort as hourly aggregates built from the SQLite audit log by
 * the evaluation process, off the request path. Each `refresh` counts the predictions and
 * folds the labels committed since the last one, each by its own commit-ordered cursor:
 * predictions by `seq` (their rowid, see SqliteWindowBuckets for why a rowid is commit order
 * here), labels by `labels.seq` (AUTOINCREMENT, so a number is never reused even when
 * retention deletes the newest label). A label is never overwritten (a second one for the
 * same prediction is refused), so each label row is folded exactly once, into the hour of its
 * prediction, however late it arrives. Hours before the cohort's first are dropped; the
 * hours after it (predictions not matured yet) are kept, to join the cohort as it moves.
 *
 * With `persist` (a writable connection), the changed hours and both cursors are written in
 * one transaction (`cohort_buckets`, `cohort_cursors`): at the first change, then at most once
 * per `saveEveryMs` and at `flush` (src/store/save-schedule.ts says why). A new process
 * loads them, checks their counts against the audit log (the rows stay the source of truth)
 * and rebuilds from the rows when they disagree or are missing.
 */
export class SqliteCohortBuckets {
  private predictionSeq = 0;
  private labelSeq = 0;
  private readonly held: HourlyCohort;
  private readonly read;
  private loaded = false;
  /** The stored hours are not these buckets' (rebuilt from the rows): the next save replaces them all. */
  private replaceStored = false;
  /** Why the last store of the buckets failed, if it did (the cohort itself is unaffected). */
  saveError: string | undefined;
  /** How the buckets were obtained at the first refresh (for tests and the benchmark). */
  origin: 'rows' | 'stored' | 'rebuilt' = 'rows';
  private readonly schedule: SaveSchedule;
  /** The cohort's first hour at the last refresh: what a deferred store drops before. */
  private first = 0;

  constructor(
    private readonly db: SqliteDatabase,
    private readonly model: string,
    private readonly version: string,
    readonly layout: CohortAggregateLayout,
    private readonly persist?: SqliteDatabase,
    saveEveryMs = AGGREGATE_SAVE_INTERVAL_MS,
  ) {
    this.schedule = new SaveSchedule(saveEveryMs);
    this.held = new HourlyCohort(layout);
    // The unary + keeps SQLite off the (model, version, event time) indexes, which would walk
    // the whole cohort: the seq ranges read only the rows committed since the cursors.
    const predictions = db.prepare(
      `SELECT event_ts_ms / ${BUCKET_MS}, count(*) FROM predictions
       WHERE seq > ? AND seq <= ? AND +model = ? AND +model_version = ? AND +event_ts_ms >= ? GROUP BY 1`).raw();
    // Each label with its prediction's groups and decision (by its primary key), for fairness's counts.
    const labels = db.prepare(
      `SELECT l.event_ts_ms, l.label, l.probability, p.groups, p.decision FROM labels l LEFT JOIN predictions p ON p.id = l.prediction_id
       WHERE l.seq > ? AND l.seq <= ? AND +l.model = ? AND +l.model_version = ? AND +l.event_ts_ms >= ?`).raw();
    const lastPrediction = db.prepare('SELECT coalesce(max(seq), 0) FROM predictions').pluck();
    const lastLabel = db.prepare('SELECT coalesce(max(seq), 0) FROM labels').pluck();
    // One read transaction: both cursors' ends and the rows up to them come from one snapshot.
    this.read = db.transaction((first: number): boolean => {
      const toPrediction = lastPrediction.get() as number;
      const toLabel = lastLabel.get() as number;
      const fromMs = first * BUCKET_MS;
      for (const [k, n] of predictions.iterate(this.predictionSeq, toPrediction, this.model, this.version, fromMs) as IterableIterator<[number, number]>) this.held.addPredictions(k, n);
      for (const [ts, label, p, groups, decision] of labels.iterate(this.labelSeq, toLabel, this.model, this.version, fromMs) as IterableIterator<[number, number, number, string | null, number | null]>) {
        this.held.foldLabel(ts, label, p, groups, decision);
      }
      const moved = toPrediction !== this.predictionSeq || toLabel !== this.labelSeq;
      this.predictionSeq = toPrediction;
      this.labelSeq = toLabel;
      return moved;
    });
  }

  /** Labels folded into the hours held now. */
  get labelled(): number {
    return this.held.labelled;
  }

  private get key(): [string, string] {
    return [this.model, this.version];
  }

  /** Loads the stored hours of this layout from `first` on, if their counts agree with the audit log. */
  private load(first: number): void {
    this.loaded = true;
    if (this.persist === undefined) return;
    const cursor = this.persist.prepare('SELECT layout, through_prediction_seq, through_label_seq FROM cohort_cursors WHERE model = ? AND model_version = ?').raw().get(...this.key) as [string, number, number] | undefined;
    if (cursor === undefined) return;
    const [layout, throughPrediction, throughLabel] = cursor;
    this.replaceStored = true;
    if (layout !== this.layout.hash) {
      this.origin = 'rebuilt';
      return;
    }
    const stored = this.persist.prepare('SELECT bucket_start_ms, matured, labelled, data, group_counts FROM cohort_buckets WHERE model = ? AND model_version = ? AND bucket_start_ms >= ?').raw().all(...this.key, first * BUCKET_MS) as [number, number, number, Buffer | null, string | null][];
    let matured = 0;
    let labelled = 0;
    for (const [, m, l] of stored) {
      matured += m;
      labelled += l;
    }
    const fromMs = first * BUCKET_MS;
    const inLog = this.db.prepare('SELECT count(*) FROM predictions WHERE model = ? AND model_version = ? AND event_ts_ms >= ? AND seq <= ?').pluck().get(...this.key, fromMs, throughPrediction) as number;
    const labelsInLog = this.db.prepare('SELECT count(*) FROM labels WHERE model = ? AND model_version = ? AND event_ts_ms >= ? AND seq <= ?').pluck().get(...this.key, fromMs, throughLabel) as number;
    if (inLog !== matured || labelsInLog !== labelled) {
      this.origin = 'rebuilt';
      return;
    }
    for (const [startMs, m, , data, groupCounts] of stored) {
      if (!this.held.load(startMs / BUCKET_MS, m, data, groupCounts)) {
        this.held.clear();
        this.origin = 'rebuilt';
        return;
      }
    }
    this.predictionSeq = throughPrediction;
    this.labelSeq = throughLabel;
    this.replaceStored = false;
    this.origin = 'stored';
  }

  /** Writes the changed hours and both cursors in one transaction; drops stored hours before `first`. */
  private save(first: number): void {
    const db = this.persist!;
    const upsert = db.prepare(`INSERT INTO cohort_buckets (model, model_version, bucket_start_ms, matured, labelled, data, group_counts) VALUES (?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT DO UPDATE SET matured = excluded.matured, labelled = excluded.labelled, data = excluded.data, group_counts = excluded.group_counts`);
    db.transaction(() => {
      // Hours rebuilt from the rows (another layout, or counts that disagreed) replace every stored one.
      if (this.replaceStored) db.prepare('DELETE FROM cohort_buckets WHERE model = ? AND model_version = ?').run(...this.key);
      for (const k of this.held.dirty) {
        const h = this.held.stored(k);
        if (h !== undefined) upsert.run(...this.key, k * BUCKET_MS, h.matured, h.labelled, h.data, h.groupCounts);
      }
      db.prepare('DELETE FROM cohort_buckets WHERE model = ? AND model_version = ? AND bucket_start_ms < ?').run(...this.key, first * BUCKET_MS);
      db.prepare(`INSERT INTO cohort_cursors (model, model_version, layout, through_prediction_seq, through_label_seq) VALUES (?, ?, ?, ?, ?)
        ON CONFLICT DO UPDATE SET layout = excluded.layout, through_prediction_seq = excluded.through_prediction_seq, through_label_seq = excluded.through_label_seq`)
        .run(...this.key, this.layout.hash, this.predictionSeq, this.labelSeq);
    })();
    this.held.dirty.clear();
    this.replaceStored = false;
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

  /** Brings the hours up to date with every committed prediction and label; returns the cohort [fromMs, toMs) aligned to hours. */
  refresh(fromMs: number, toMs: number): AggregateCohort {
    const { first, end } = cohortHours(fromMs, toMs);
    if (!this.loaded) this.load(first);
    const dropped = this.held.dropBefore(first);
    this.first = first;
    const moved = this.read(first);
    if (moved || dropped) this.schedule.pending = true;
    this.store();
    return this.held.cohort(first, end);
  }
}
