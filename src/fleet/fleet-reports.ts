import type pg from 'pg';
import type { ModelReport } from '../report/model-report.js';

/** A report as the fleet's evaluator stored it. */
export interface StoredReport {
  readonly report: ModelReport;
  /** How long the evaluation took, s. */
  readonly seconds: number;
  readonly term: number;
  readonly replica: string;
}

export interface Evaluation {
  readonly model: string;
  readonly version: string;
  readonly startedMs: number;
  readonly finishedMs: number;
}

/**
 * Stores a report the leader computed, in one transaction on the leader's own connection
 * (see `LeaderElection.asLeader`): the evaluation is recorded with the leader's term (the
 * record that shows one evaluator at a time), and the report replaces the stored one unless
 * a later term already wrote it. The report is kept as `json`, byte for byte, so every
 * replica serves the same text.
 */
export async function publishReport(client: pg.ClientBase, term: number, replica: string, evaluation: Evaluation, report: ModelReport, seconds: number): Promise<void> {
  await client.query('BEGIN');
  try {
    await client.query('INSERT INTO evaluations (term, replica, model, model_version, started_ms, finished_ms) VALUES ($1, $2, $3, $4, $5, $6)',
      [term, replica, evaluation.model, evaluation.version, evaluation.startedMs, evaluation.finishedMs]);
    await client.query(
      `INSERT INTO fleet_reports (model, model_version, term, replica, seconds, report) VALUES ($1, $2, $3, $4, $5, $6::json)
       ON CONFLICT (model, model_version) DO UPDATE SET term = EXCLUDED.term, replica = EXCLUDED.replica, seconds = EXCLUDED.seconds,
         report = EXCLUDED.report, published_at = clock_timestamp()
       WHERE fleet_reports.term <= EXCLUDED.term`,
      [evaluation.model, evaluation.version, term, replica, seconds, JSON.stringify(report)]);
    await client.query('COMMIT');
  } catch (err) {
    await client.query('ROLLBACK').catch(() => undefined);
    throw err;
  }
}

/** The stored report of every model version, keyed `model@version`. */
export async function readReports(db: pg.Pool | pg.ClientBase): Promise<Map<string, StoredReport>> {
  const rows = (await db.query<{ model: string; model_version: string; report: ModelReport; seconds: number; term: string; replica: string }>(
    'SELECT model, model_version, report, seconds, term, replica FROM fleet_reports')).rows;
  return new Map(rows.map((r) => [`${r.model}@${r.model_version}`, { report: r.report, seconds: r.seconds, term: Number(r.term), replica: r.replica }]));
}

/** The stored report of one model version, if the evaluator published one. */
export async function readReport(db: pg.Pool | pg.ClientBase, model: string, version: string): Promise<StoredReport | undefined> {
  const r = (await db.query<{ report: ModelReport; seconds: number; term: string; replica: string }>(
    'SELECT report, seconds, term, replica FROM fleet_reports WHERE model = $1 AND model_version = $2', [model, version])).rows[0];
  return r === undefined ? undefined : { report: r.report, seconds: r.seconds, term: Number(r.term), replica: r.replica };
}
