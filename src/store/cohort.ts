import type { SqliteDatabase } from './database.js';

/** The matured predictions of one model version in an event-time range: how many, and the labelled ones. */
export interface CohortRows {
  readonly matured: number;
  readonly labels: Float64Array;
  readonly probabilities: Float64Array;
}

/**
 * Reads a cohort from the audit log: the count of predictions whose event time lies in
 * [fromMs, toMs), and the labels of those that have one with their probabilities (read from
 * the labels table alone, which carries them, by its (model, version, event time) index).
 * Runs in the evaluation process, never on the event loop that serves /predict.
 */
export class CohortReader {
  private readonly count;
  private readonly labelled;

  constructor(db: SqliteDatabase) {
    this.count = db.prepare('SELECT count(*) FROM predictions WHERE model = ? AND model_version = ? AND event_ts_ms >= ? AND event_ts_ms < ?').pluck();
    this.labelled = db.prepare('SELECT label, probability FROM labels WHERE model = ? AND model_version = ? AND event_ts_ms >= ? AND event_ts_ms < ?').raw();
  }

  read(model: string, version: string, fromMs: number, toMs: number): CohortRows {
    const matured = this.count.get(model, version, fromMs, toMs) as number;
    let labels = new Float64Array(1024);
    let probabilities = new Float64Array(1024);
    let n = 0;
    for (const [label, probability] of this.labelled.iterate(model, version, fromMs, toMs) as IterableIterator<[number, number]>) {
      if (n === labels.length) {
        const grow = (a: Float64Array) => {
          const b = new Float64Array(a.length * 2);
          b.set(a);
          return b;
        };
        labels = grow(labels);
        probabilities = grow(probabilities);
      }
      labels[n] = label;
      probabilities[n] = probability;
      n++;
    }
    return { matured, labels: labels.subarray(0, n), probabilities: probabilities.subarray(0, n) };
  }
}
