import { quantileSorted, sortedFinite, type Baseline } from './baseline.js';
import { evaluateDrift, type DriftEvaluation, type WindowColumns } from './evaluate.js';
import type { DriftThresholds } from './severity.js';

/** The drift report of one window: the evaluation plus its window and service latency. */
export interface DriftReport extends DriftEvaluation {
  readonly evaluated_at: string;
  readonly window: { readonly from: string; readonly to: string; readonly length_seconds: number; readonly n: number };
  readonly operational: { readonly latency_ms: { readonly p50: number; readonly p95: number; readonly p99: number } | null };
  /** Set when the mean probability moved more than the critical change (design: 50 %). */
  readonly diagnosis: unknown;
}

/** What the evaluation needs to know about one model version. */
export interface ModelDriftContext {
  readonly baseline: Baseline;
  readonly bands: readonly { readonly name: string; readonly minProbability: number }[];
  readonly thresholds: DriftThresholds;
}

export interface ReportWindow extends WindowColumns {
  readonly latencyMs: Float64Array;
}

/** Optional diagnosis hook (see diagnosis.ts), kept as a parameter so this file stays small. */
export type Diagnose = (ctx: ModelDriftContext, window: ReportWindow, evaluation: DriftEvaluation) => unknown;

/** Builds the report of a window. Pure: `now` and the window are given. */
export function buildReport(ctx: ModelDriftContext, window: ReportWindow, range: { fromMs: number; toMs: number }, now: Date, diagnose?: Diagnose): DriftReport {
  const evaluation = evaluateDrift(ctx.baseline, window, ctx.bands, ctx.thresholds);
  const latency = sortedFinite(window.latencyMs);
  return {
    ...evaluation,
    evaluated_at: now.toISOString(),
    window: { from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString(), length_seconds: (range.toMs - range.fromMs) / 1000, n: evaluation.n },
    operational: {
      latency_ms: latency.length === 0 ? null : { p50: quantileSorted(latency, 0.5), p95: quantileSorted(latency, 0.95), p99: quantileSorted(latency, 0.99) },
    },
    diagnosis: diagnose === undefined ? null : diagnose(ctx, window, evaluation),
  };
}
