import type { SqliteDatabase } from './database.js';

/** The rows of one model version's window, as columns, in time order. */
export interface WindowRows {
  readonly n: number;
  /** One column per requested feature; NaN where the value was null or absent. */
  readonly columns: Map<string, Float64Array>;
  readonly scores: Float64Array;
  readonly tsMs: Float64Array;
  readonly latencyMs: Float64Array;
}

export interface WindowQuery {
  readonly model: string;
  readonly version: string;
  /** Inclusive lower bound, ms since epoch. */
  readonly fromMs: number;
  /** Exclusive upper bound, ms since epoch. */
  readonly toMs: number;
  readonly features: readonly string[];
}

/**
 * Reads a window of the audit log into columns. The audit log is the window: nothing is
 * kept elsewhere, so the window survives restarts. Runs on the evaluation thread, never on
 * the event loop that serves /predict.
 */
export function readWindow(db: SqliteDatabase, q: WindowQuery): WindowRows {
  const { n } = db
    .prepare('SELECT count(*) AS n FROM predictions WHERE model = ? AND model_version = ? AND ts_ms >= ? AND ts_ms < ?')
    .get(q.model, q.version, q.fromMs, q.toMs) as { n: number };
  const columns = new Map<string, Float64Array>(q.features.map((f) => [f, new Float64Array(n).fill(Number.NaN)]));
  const targets = q.features.map((f) => columns.get(f)!);
  const scores = new Float64Array(n);
  const tsMs = new Float64Array(n);
  const latencyMs = new Float64Array(n);
  const rows = db
    .prepare('SELECT features, probability, ts_ms, latency_ms FROM predictions WHERE model = ? AND model_version = ? AND ts_ms >= ? AND ts_ms < ? ORDER BY model, model_version, ts_ms')
    .raw()
    .iterate(q.model, q.version, q.fromMs, q.toMs) as IterableIterator<[string, number, number, number]>;
  let i = 0;
  for (const [features, probability, ts, latency] of rows) {
    if (i >= n) break; // rows committed after the count: they belong to the next evaluation
    const values = JSON.parse(features) as Record<string, unknown>;
    for (let j = 0; j < q.features.length; j++) {
      const v = values[q.features[j]!];
      if (typeof v === 'number') targets[j]![i] = v;
    }
    scores[i] = probability;
    tsMs[i] = ts;
    latencyMs[i] = latency;
    i++;
  }
  const cut = (a: Float64Array) => (i === n ? a : a.subarray(0, i));
  for (const [k, v] of columns) columns.set(k, cut(v));
  return { n: i, columns, scores: cut(scores), tsMs: cut(tsMs), latencyMs: cut(latencyMs) };
}
