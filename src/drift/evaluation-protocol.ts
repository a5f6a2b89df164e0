import type { DatabaseTarget } from '../config.js';
import type { ModelContext, ModelReport } from '../report/model-report.js';

/** Messages between the drift monitor and its evaluation process. */
export interface EvaluationInit {
  readonly db: DatabaseTarget;
  /** One entry per served model version, keyed `${model}@${version}`. */
  readonly models: Readonly<Record<string, ModelContext>>;
  /** Windows of at most this many rows are evaluated from the rows, larger ones from the hourly aggregates. */
  readonly exactWindowRows: number;
  /** Matured cohorts of at most this many labels are evaluated from their rows, larger ones from their hourly aggregates. */
  readonly exactCohortLabels: number;
}

/** `term`: the fleet evaluator's leader term, which fences what the evaluation stores (the PostgreSQL window's buckets). */
export type EvaluationRequest = { readonly id: number; readonly key: string; readonly fromMs: number; readonly toMs: number; readonly nowMs: number; readonly term?: number };

export type EvaluationReply =
  | { readonly kind: 'ready' }
  | { readonly kind: 'report'; readonly id: number; readonly report: ModelReport; readonly seconds: number; readonly peakRssBytes: number; readonly path: 'rows' | 'aggregates' }
  | { readonly kind: 'failed'; readonly id: number; readonly error: string; readonly seconds: number };
