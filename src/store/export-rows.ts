import type { SqliteDatabase } from './database.js';

/** One prediction as the export reads it, with the label that arrived (null when none). */
export type ExportRow = readonly [
  id: string, eventTsMs: number, tsMs: number, features: string, probability: number, decision: number, band: string,
  threshold: number, bundleHash: string, label: number | null, labelTsMs: number | null,
];

/**
 * Reads the predictions of one model version in an event-time range, oldest first, each
 * with its label if one arrived, as an iterator: one row in memory at a time, whatever the
 * range holds. Reads by the (model, version, event time) index; the label by its key.
 */
export class ExportReader {
  private readonly rows;
  private readonly latest;

  constructor(private readonly db: SqliteDatabase) {
    this.rows = db.prepare(
      `SELECT p.id, p.event_ts_ms, p.ts_ms, p.features, p.probability, p.decision, p.band, p.threshold, p.bundle_hash, l.label, l.label_ts_ms
       FROM predictions p LEFT JOIN labels l ON l.prediction_id = p.id
       WHERE p.model = ? AND p.model_version = ? AND p.event_ts_ms >= ? AND p.event_ts_ms < ?
       ORDER BY p.event_ts_ms, p.seq`,
    ).raw();
    // Shadow rows (scored by a candidate, never answered) do not make their version the latest.
    this.latest = db.prepare('SELECT model_version FROM predictions WHERE model = ? AND shadow_of IS NULL GROUP BY model_version ORDER BY max(event_ts_ms) DESC LIMIT 1').pluck();
  }

  /** The version of `model` with the latest answered prediction, if the log holds any. */
  latestVersion(model: string): string | undefined {
    return this.latest.get(model) as string | undefined;
  }

  iterate(model: string, version: string, fromMs: number, toMs: number): IterableIterator<ExportRow> {
    return this.rows.iterate(model, version, fromMs, toMs) as IterableIterator<ExportRow>;
  }
}
