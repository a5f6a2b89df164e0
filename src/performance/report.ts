import { statusOf, type Status } from '../drift/evaluate.js';
import type { Severity } from '../drift/severity.js';
import type { Costs } from './cost.js';
import { estimatePerformance } from './estimate.js';
import type { IsotonicCalibrator } from './isotonic.js';
import { realizedOfAggregate, type CohortAggregateLayout } from './cohort-aggregate.js';
import { realizedPerformance, type RealizedPerformance } from './realized.js';
import { highIsBad, lowIsBad, type PerformanceThresholds } from './thresholds.js';

/** What the performance evaluation needs to know about one model version (crosses to the evaluation process as JSON). */
export interface PerformanceContext {
  readonly threshold: number;
  readonly costs: Costs;
  readonly thresholds: PerformanceThresholds;
  /** A prediction is matured once this long has passed since its event time. */
  readonly labelDelayMs: number;
  /** Length of the matured cohort: predictions whose event time lies in the `windowMs` before maturity. */
  readonly windowMs: number;
  /** Fitted on the labelled reference sample; null when the reference has no usable labels. */
  readonly calibrator: IsotonicCalibrator | null;
}

/** The matured predictions of a cohort: how many, and the labelled ones with their probabilities (read from the rows). */
export interface RowsCohort {
  readonly fromMs: number;
  readonly toMs: number;
  readonly matured: number;
  readonly labels: ArrayLike<number>;
  readonly probabilities: ArrayLike<number>;
}

/** The matured predictions of a cohort read from its hourly aggregates (src/performance/cohort-aggregate.ts), aligned to hours. */
export interface AggregatedCohort {
  readonly fromMs: number;
  readonly toMs: number;
  readonly matured: number;
  readonly layout: CohortAggregateLayout;
  readonly aggregate: Float64Array;
}

export type Cohort = RowsCohort | AggregatedCohort;

/** The event-time range of the matured cohort at `nowMs`: [now − delay − window, now − delay). */
export function cohortRange(ctx: Pick<PerformanceContext, 'labelDelayMs' | 'windowMs'>, nowMs: number): { fromMs: number; toMs: number } {
  const toMs = nowMs - ctx.labelDelayMs + 1;
  return { fromMs: toMs - 1 - ctx.windowMs, toMs };
}

type N = number | null;
const num = (x: number): N => (Number.isFinite(x) ? x : null);
const interval = (i: { lower: number; upper: number }) => ({ lower: num(i.lower), upper: num(i.upper) });
const confusion = (c: { tp: number; fp: number; tn: number; fn: number }) => ({ tp: c.tp, fp: c.fp, tn: c.tn, fn: c.fn });

export type PerformanceMetricName = 'auc' | 'recall' | 'precision' | 'ks_separation' | 'brier_score';

export interface PerformanceReport {
  readonly cohort: {
    readonly from: string;
    readonly to: string;
    readonly matured: number;
    readonly labelled: number;
    readonly positives: number;
    readonly label_coverage: N;
    readonly label_delay_days: number;
    readonly window_days: number;
    /** How the realized metrics were computed: from the labelled rows, or from the cohort's hourly aggregates. */
    readonly path: 'rows' | 'aggregates';
  };
  readonly realized: {
    readonly auc: N; readonly precision: N; readonly recall: N; readonly f1: N; readonly ks_separation: N;
    readonly brier_score: N; readonly log_loss: N; readonly ece: N;
    readonly observed_positive_rate: N; readonly mean_predicted: N;
    readonly intervals: { readonly auc: { lower: N; upper: N }; readonly precision: { lower: N; upper: N }; readonly recall: { lower: N; upper: N } };
    readonly confusion: { tp: number; fp: number; tn: number; fn: number };
    readonly reliability: readonly { lower: number; upper: number; count: number; mean_predicted: N; observed_rate: N }[];
    readonly cost_per_1000: N;
    /** Bounds of |rows' value − reported value| of the rank metrics: 0 from the rows, the score bins' from the aggregates. */
    readonly errors: { readonly auc: N; readonly ks_separation: N };
  } | null;
  readonly estimated: {
    readonly n: number; readonly auc: N; readonly precision: N; readonly recall: N; readonly f1: N;
    readonly expected_positive_rate: N;
    readonly confusion: { tp: number; fp: number; tn: number; fn: number };
    readonly cost_per_1000: N;
  } | null;
  readonly severities: Readonly<Record<PerformanceMetricName, Severity>>;
  /** Every warning and critical verdict, in words. */
  readonly critical: readonly string[];
  readonly warnings: readonly string[];
  readonly status: Status;
}

const DAY_MS = 86_400_000;

/**
 * The performance report of one model version: realized metrics on the labelled matured
 * cohort, their verdicts by the threshold table, and the CBPE estimate on the current
 * window's scores. Pure.
 */
export function buildPerformanceReport(ctx: PerformanceContext, cohort: Cohort, windowScores: ArrayLike<number>): PerformanceReport {
  const t = ctx.thresholds;
  const { labelled, r, errors } = realizedOf(ctx, cohort);
  const nan = Number.NaN;
  const severities: Record<PerformanceMetricName, Severity> = {
    auc: lowIsBad(r?.auc ?? nan, r?.intervals.auc.upper, labelled, t, t.aucWarning, t.aucCritical),
    recall: lowIsBad(r?.recall ?? nan, r?.intervals.recall.upper, labelled, t, t.recallWarning, undefined),
    precision: lowIsBad(r?.precision ?? nan, r?.intervals.precision.upper, labelled, t, t.precisionWarning, undefined),
    ks_separation: lowIsBad(r?.ksSeparation ?? nan, undefined, labelled, t, undefined, t.ksSeparationCritical),
    brier_score: highIsBad(r?.brierScore ?? nan, labelled, t, t.brierWarning),
  };
  const critical: string[] = [];
  const warnings: string[] = [];
  if (r !== undefined) {
    const say = (metric: PerformanceMetricName, text: string) => {
      if (severities[metric] === 'critical') critical.push(text);
      if (severities[metric] === 'warning') warnings.push(text);
    };
    const ci = (i: { lower: number; upper: number }) => `95 % CI ${i.lower.toFixed(3)}–${i.upper.toFixed(3)}`;
    const limit = (metric: PerformanceMetricName, w: number | undefined, c: number | undefined) => (severities[metric] === 'critical' ? c : w);
    say('auc', `AUC ${r.auc.toFixed(3)} (${ci(r.intervals.auc)}) below ${limit('auc', t.aucWarning, t.aucCritical)} on ${labelled} labelled predictions`);
    say('recall', `recall ${r.recall.toFixed(3)} (${ci(r.intervals.recall)}) below ${t.recallWarning}`);
    say('precision', `precision ${r.precision.toFixed(3)} (${ci(r.intervals.precision)}) below ${t.precisionWarning}`);
    say('ks_separation', `KS separation ${r.ksSeparation.toFixed(3)} below ${t.ksSeparationCritical}`);
    say('brier_score', `Brier score ${r.brierScore.toFixed(3)} above ${t.brierWarning}`);
  }
  const e = ctx.calibrator === null || windowScores.length === 0 ? undefined : estimatePerformance(windowScores, ctx.calibrator, ctx.threshold, ctx.costs);
  return {
    cohort: {
      from: new Date(cohort.fromMs).toISOString(),
      to: new Date(cohort.toMs).toISOString(),
      matured: cohort.matured,
      labelled,
      positives: r?.positives ?? 0,
      label_coverage: cohort.matured === 0 ? null : labelled / cohort.matured,
      label_delay_days: ctx.labelDelayMs / DAY_MS,
      window_days: ctx.windowMs / DAY_MS,
      path: 'aggregate' in cohort ? 'aggregates' : 'rows',
    },
    realized: r === undefined ? null : {
      auc: num(r.auc), precision: num(r.precision), recall: num(r.recall), f1: num(r.f1), ks_separation: num(r.ksSeparation),
      brier_score: num(r.brierScore), log_loss: num(r.logLoss), ece: num(r.ece),
      observed_positive_rate: num(r.observedPositiveRate), mean_predicted: num(r.meanPredicted),
      intervals: { auc: interval(r.intervals.auc), precision: interval(r.intervals.precision), recall: interval(r.intervals.recall) },
      confusion: confusion(r.confusion),
      reliability: r.reliability.map((b) => ({ lower: b.lower, upper: b.upper, count: b.count, mean_predicted: num(b.meanPredicted), observed_rate: num(b.observedRate) })),
      cost_per_1000: num(r.costPer1000),
      errors: { auc: num(errors.auc), ks_separation: num(errors.ksSeparation) },
    },
    estimated: e === undefined ? null : {
      n: e.n, auc: num(e.auc), precision: num(e.precision), recall: num(e.recall), f1: num(e.f1),
      expected_positive_rate: num(e.expectedPositiveRate), confusion: confusion(e.confusion), cost_per_1000: num(e.costPer1000),
    },
    severities,
    critical,
    warnings,
    status: statusOf(critical.length, warnings.length),
  };
}

/** The realized metrics of a cohort from its rows (exact) or its aggregate (rank metrics within their errors); undefined without labels. */
function realizedOf(ctx: PerformanceContext, cohort: Cohort): { labelled: number; r: RealizedPerformance | undefined; errors: { auc: number; ksSeparation: number } } {
  if ('aggregate' in cohort) {
    if (cohort.layout.threshold !== ctx.threshold) throw new RangeError(`the cohort's aggregates count the confusion at threshold ${cohort.layout.threshold}, the model's is ${ctx.threshold}`);
    const r = realizedOfAggregate(cohort.layout, cohort.aggregate, ctx.costs);
    return r.n === 0 ? { labelled: 0, r: undefined, errors: r.errors } : { labelled: r.n, r, errors: r.errors };
  }
  const labelled = cohort.labels.length;
  const exact = labelled === 0 ? undefined : realizedPerformance(cohort.labels, cohort.probabilities, ctx.threshold, ctx.costs);
  return { labelled, r: exact, errors: { auc: 0, ksSeparation: 0 } };
}
