import type pg from 'pg';
import type { CohortGroupCount, WindowGroupCount } from '../fairness/report.js';

/**
 * PostgreSQL's FairnessCountReader (src/store/fairness-counts.ts): the same two GROUP BYs, so
 * only one row per (groups, decision[, label]) combination leaves the server, and the same
 * counts for the same rows. The cohort joins each label to its prediction on the id and the
 * event time, both partitions' keys, so each month's labels meet only that month's predictions.
 * Runs in the evaluation process, on its own connection.
 */
export class PgFairnessCountReader {
  constructor(private readonly client: () => Promise<pg.ClientBase>) {}

  async windowCounts(model: string, version: string, fromMs: number, toMs: number): Promise<WindowGroupCount[]> {
    const r = await (await this.client()).query<[string, number, number]>({
      text: `SELECT groups, decision, count(*)::float8 FROM predictions
             WHERE model = $1 AND model_version = $2 AND event_ts_ms >= $3 AND event_ts_ms < $4 GROUP BY groups, decision`,
      values: [model, version, fromMs, toMs],
      rowMode: 'array',
    });
    return r.rows;
  }

  async cohortCounts(model: string, version: string, fromMs: number, toMs: number): Promise<CohortGroupCount[]> {
    const r = await (await this.client()).query<[string, number, number, number]>({
      text: `SELECT p.groups, p.decision, l.label, count(*)::float8 FROM labels l JOIN predictions p ON p.id = l.prediction_id AND p.event_ts_ms = l.event_ts_ms
             WHERE l.model = $1 AND l.model_version = $2 AND l.event_ts_ms >= $3 AND l.event_ts_ms < $4 GROUP BY p.groups, p.decision, l.label`,
      values: [model, version, fromMs, toMs],
      rowMode: 'array',
    });
    return r.rows;
  }
}
