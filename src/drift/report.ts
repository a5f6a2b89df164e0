import { quantileSorted, sortedFinite, type Baseline } from './baseline.js';
import { evaluateDrift, type DriftEvaluation, type WindowColumns } from './evaluate.js';
import { diagnosisOf } from './diagnosis.js';
import type { DriftThresholds } from './severity.js';
import { aggregateRiskBandShares, evaluateAggregate, latencyQuantile, type WindowAggregateLayout } from './window-aggregate.js';

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

/** A window kept as aggregates: the merged aggregate and the halves of its buckets in time order (for the diagnosis trend). */
export interface AggregateReportWindow {
  readonly layout: WindowAggregateLayout;
  readonly aggregate: Float64Array;
  /** Mean probability of the older and the newer half of the window, split at a bucket boundary. */
  readonly firstHalfMean: number;
  readonly secondHalfMean: number;
}

/**
 * Builds the report of a window kept as aggregates. Pure. The latency percentiles are
 * within 1 % of the rows'; the diagnosis's trend splits the window at the bucket boundary
 * nearest its middle row, and names no carrying features (that needs the rows).
 */
export function buildAggregateReport(ctx: ModelDriftContext, window: AggregateReportWindow, range: { fromMs: number; toMs: number }, now: Date): DriftReport {
  const { layout, aggregate } = window;
  const evaluation = evaluateAggregate(layout, aggregate, ctx.thresholds);
  const n = evaluation.n;
  return {
    ...evaluation,
    evaluated_at: now.toISOString(),
    window: { from: new Date(range.fromMs).toISOString(), to: new Date(range.toMs).toISOString(), length_seconds: (range.toMs - range.fromMs) / 1000, n },
    operational: {
      latency_ms: n === 0 ? null : { p50: latencyQuantile(layout, aggregate, 0.5), p95: latencyQuantile(layout, aggregate, 0.95), p99: latencyQuantile(layout, aggregate, 0.99) },
    },
    diagnosis: diagnosisOf(ctx, evaluation, {
      riskBandShares: aggregateRiskBandShares(layout, aggregate),
      firstHalfMean: window.firstHalfMean,
      secondHalfMean: window.secondHalfMean,
      features: () => [],
    }),
  };
}
