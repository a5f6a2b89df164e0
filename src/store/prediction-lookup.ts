import type { Reason } from '../explain/reasons.js';
import type { SqliteDatabase } from './database.js';

/** A logged decision, as `GET /v1/predictions/{id}` answers it. */
export interface LoggedPrediction {
  readonly prediction_id: string;
  readonly request_id: string;
  readonly model: string;
  readonly model_version: string;
  /** When the decision was made (server clock), ISO 8601. */
  readonly decided_at: string;
  /** The event time the window and the cohort use (the client's `event_time`, else `decided_at`). */
  readonly event_time: string;
  /** The input as validated (null for a missing value). */
  readonly features: unknown;
  readonly probability: number;
  readonly decision: 0 | 1;
  readonly band: string;
  readonly threshold: number;
  readonly latency_ms: number;
  readonly trace_id: string;
  /** The reasons answered with the decision; empty when it had none. */
  readonly reasons: readonly Reason[];
  /** The outcome, once a label arrived. */
  readonly label: { readonly value: 0 | 1; readonly label_time: string; readonly received_at: string } | null;
}

/** The seam around reading one logged decision. */
export interface PredictionLookup {
  get(id: string): LoggedPrediction | undefined;
}

type Row = [string, string, number, string, string, string, number, number, string, number, number, string, number, string | null, number | null, number | null, number | null];

const iso = (ms: number): string => new Date(ms).toISOString();

/**
 * Reads one decision and its label from the audit log by id (the UNIQUE index on
 * `predictions.id` and the primary key of `labels`): a point read of microseconds, made on
 * the connection the service already holds. A decision still queued for commit is not
 * found, and the client was not answered for it yet either.
 */
export class SqlitePredictionLookup implements PredictionLookup {
  private readonly select;

  constructor(db: SqliteDatabase) {
    this.select = db
      .prepare(
        `SELECT p.id, p.request_id, p.ts_ms, p.model, p.model_version, p.features, p.probability, p.decision, p.band,
                p.threshold, p.latency_ms, p.trace_id, p.event_ts_ms, p.reasons, l.label, l.label_ts_ms, l.received_ts_ms
           FROM predictions p LEFT JOIN labels l ON l.prediction_id = p.id
          WHERE p.id = ?`,
      )
      .raw();
  }

  get(id: string): LoggedPrediction | undefined {
    const r = this.select.get(id) as Row | undefined;
    if (r === undefined) return undefined;
    const [pid, requestId, tsMs, model, version, features, probability, decision, band, threshold, latencyMs, traceId, eventTsMs, reasons, label, labelTs, receivedTs] = r;
    return {
      prediction_id: pid,
      request_id: requestId,
      model,
      model_version: version,
      decided_at: iso(tsMs),
      event_time: iso(eventTsMs),
      features: JSON.parse(features) as unknown,
      probability,
      decision: decision === 1 ? 1 : 0,
      band,
      threshold,
      latency_ms: latencyMs,
      trace_id: traceId,
      reasons: reasons === null ? [] : (JSON.parse(reasons) as Reason[]),
      label: label === null ? null : { value: label === 1 ? 1 : 0, label_time: iso(labelTs!), received_at: iso(receivedTs!) },
    };
  }
}
