import type { CohortGroupCount, WindowGroupCount } from '../fairness/report.js';
import type { SqliteDatabase } from './database.js';

/**
 * Reads the fairness counts of one model version from the audit log, grouped in SQLite so
 * that only one row per (groups, decision[, label]) combination reaches JavaScript: the
 * window's predictions by their groups and decision, and the labelled matured cohort's by
 * groups, decision and label. Runs in the evaluation process, never on the event loop.
 */
export class FairnessCountReader {
  private readonly window;
  private readonly cohort;

  constructor(db: SqliteDatabase) {
    this.window = db.prepare(
      'SELECT groups, decision, count(*) FROM predictions WHERE model = ? AND model_version = ? AND event_ts_ms >= ? AND event_ts_ms < ? GROUP BY groups, decision',
    ).raw();
    this.cohort = db.prepare(
      `SELECT p.groups, p.decision, l.label, count(*) FROM labels l JOIN predictions p ON p.id = l.prediction_id
       WHERE l.model = ? AND l.model_version = ? AND l.event_ts_ms >= ? AND l.event_ts_ms < ? GROUP BY p.groups, p.decision, l.label`,
    ).raw();
  }

  windowCounts(model: string, version: string, fromMs: number, toMs: number): WindowGroupCount[] {
    return this.window.all(model, version, fromMs, toMs) as WindowGroupCount[];
  }

  cohortCounts(model: string, version: string, fromMs: number, toMs: number): CohortGroupCount[] {
    return this.cohort.all(model, version, fromMs, toMs) as CohortGroupCount[];
  }
}
