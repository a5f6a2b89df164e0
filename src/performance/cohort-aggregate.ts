import { costPer1000, type Costs } from './cost.js';
import { aucIntervalOfGroups, proportionInterval } from './intervals.js';
import { aucOfGroups, calibrationBinOf, calibrationEdges, calibrationOfBins, ksOfGroups, logLossOf, precisionRecallF1, type Confusion, type ScoreGroups } from './metrics.js';
import type { RealizedPerformance } from './realized.js';

/**
 * The labelled predictions of a matured cohort as a mergeable aggregate: a flat vector of
 * counts and sums, one per (model version, hour of event time) in the stores, summed
 * element-wise over the hours of the cohort (and over the replicas of a fleet). Every
 * realized metric of the report follows from it (`realizedOfAggregate`), so evaluating a
 * cohort costs its hours, not its labels.
 *
 * Per class (negatives first, then positives), at offsets of `CLASS_ENTRIES`:
 *
 * | entries | holds | gives |
 * | --- | --- | --- |
 * | 1 | rows | labelled, positives, observed rate |
 * | 1 | Σ p | mean predicted (exact but for the order of the float sum) |
 * | 1 | Σ (y − p)² | Brier score (idem) |
 * | 1 | Σ log loss of the row (clipped as sklearn) | log loss (idem) |
 * | 1 | rows with p ≥ threshold | the confusion matrix at the threshold: exact |
 * | 2·10 | rows and Σ p per reliability bin | reliability bins and ECE (idem) |
 * | SCORE_BINS | rows per score bin [k/B, (k+1)/B) | AUC, its DeLong interval, KS separation, within the stated error |
 *
 * Pure: no I/O.
 */

/** Equal-width bins of the probability for the rank metrics: width 1/4096 ≈ 0.00024. */
export const SCORE_BINS = 4096;
/** The report's reliability bins (calibration_curve's uniform strategy). */
export const RELIABILITY_BINS = 10;

const ROWS = 0;
const SUM_P = 1;
const SUM_SQUARED_ERROR = 2;
const SUM_LOG_LOSS = 3;
const AT_OR_ABOVE_THRESHOLD = 4;
const RELIABILITY = 5;
const HISTOGRAM = RELIABILITY + 2 * RELIABILITY_BINS;
/** Entries per class. */
const CLASS_ENTRIES = HISTOGRAM + SCORE_BINS;

/** How a model version's cohort aggregates are laid out: its threshold decides the confusion counts. */
export interface CohortAggregateLayout {
  readonly threshold: number;
  /** Float64 entries of one aggregate. */
  readonly size: number;
  /** Names the layout in the stores: aggregates of another layout (another threshold) are never merged. */
  readonly hash: string;
  readonly reliabilityEdges: Float64Array;
}

export function cohortAggregateLayout(threshold: number): CohortAggregateLayout {
  if (!(threshold >= 0 && threshold <= 1)) throw new RangeError(`threshold = ${String(threshold)} is not a probability in [0, 1]`);
  return {
    threshold,
    size: 2 * CLASS_ENTRIES,
    hash: `cohort-v1 t=${threshold} bins=${SCORE_BINS} reliability=${RELIABILITY_BINS}`,
    reliabilityEdges: calibrationEdges(RELIABILITY_BINS),
  };
}

export function emptyCohortAggregate(layout: CohortAggregateLayout): Float64Array {
  return new Float64Array(layout.size);
}

/** The score bin of probability p: ⌊p·B⌋, 1 in the last bin. */
export function scoreBinOf(p: number): number {
  return Math.min(SCORE_BINS - 1, Math.floor(p * SCORE_BINS));
}

/** Folds one labelled prediction; a RangeError names a label not 0 or 1 or a probability outside [0, 1]. */
export function foldLabel(layout: CohortAggregateLayout, aggregate: Float64Array, label: number, p: number): void {
  if (label !== 0 && label !== 1) throw new RangeError(`label = ${String(label)} is not 0 or 1`);
  if (!(p >= 0 && p <= 1)) throw new RangeError(`probability = ${String(p)} is not a probability in [0, 1]`);
  const base = label * CLASS_ENTRIES;
  const d = label - p;
  aggregate[base + ROWS]! += 1;
  aggregate[base + SUM_P]! += p;
  aggregate[base + SUM_SQUARED_ERROR]! += d * d;
  aggregate[base + SUM_LOG_LOSS]! += logLossOf(label, p);
  if (p >= layout.threshold) aggregate[base + AT_OR_ABOVE_THRESHOLD]! += 1;
  const r = calibrationBinOf(p, layout.reliabilityEdges);
  aggregate[base + RELIABILITY + 2 * r]! += 1;
  aggregate[base + RELIABILITY + 2 * r + 1]! += p;
  aggregate[base + HISTOGRAM + scoreBinOf(p)]! += 1;
}

/** Adds `from` into `into` (both of one layout). */
export function mergeCohortInto(into: Float64Array, from: Float64Array): void {
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
}

/** Labelled predictions in an aggregate. */
export function labelledCount(aggregate: Float64Array): number {
  return aggregate[ROWS]! + aggregate[CLASS_ENTRIES + ROWS]!;
}

/**
 * The score bins as ScoreGroups (the non-empty bins, each at its lower edge), so the rank
 * metrics of the rows path run on them unchanged: rows in one bin count as tied.
 */
export function histogramGroups(aggregate: Float64Array): ScoreGroups {
  const values: number[] = [];
  const positives: number[] = [];
  const negatives: number[] = [];
  for (let k = 0; k < SCORE_BINS; k++) {
    const q = aggregate[HISTOGRAM + k]!;
    const p = aggregate[CLASS_ENTRIES + HISTOGRAM + k]!;
    if (p === 0 && q === 0) continue;
    values.push(k / SCORE_BINS);
    positives.push(p);
    negatives.push(q);
  }
  return {
    values: Float64Array.from(values),
    positives: Float64Array.from(positives),
    negatives: Float64Array.from(negatives),
    nPositive: aggregate[CLASS_ENTRIES + ROWS]!,
    nNegative: aggregate[ROWS]!,
  };
}

/**
 * The error of the rank metrics read from the score bins, both computed from the bins:
 *
 * - AUC: pairs of a positive and a negative in different bins are ordered as the rows
 *   order them; a pair in one bin counts ½ where the rows count 0, ½ or 1. So
 *   |AUC − AUC_bins| ≤ ½ · Σ_k pos_k·neg_k / (P·N), half the share of the pairs that share a bin.
 * - KS separation: the bins' thresholds are thresholds of the rows, so KS_bins ≤ KS; inside
 *   bin k TPR − FPR exceeds its value at the bin's lower edge by at most neg_k/N and at its
 *   upper edge by at most pos_k/P, so KS ≤ KS_bins + max_k min(pos_k/P, neg_k/N).
 *
 * NaN with only one class.
 */
export function rankErrors(g: ScoreGroups): { auc: number; ksSeparation: number } {
  const P = g.nPositive;
  const N = g.nNegative;
  if (P === 0 || N === 0) return { auc: NaN, ksSeparation: NaN };
  let pairs = 0;
  let ks = 0;
  for (let k = 0; k < g.values.length; k++) {
    const p = g.positives[k]!;
    const q = g.negatives[k]!;
    pairs += p * q;
    ks = Math.max(ks, Math.min(p / P, q / N));
  }
  return { auc: pairs / (2 * P * N), ksSeparation: ks };
}

/** Realized metrics from an aggregate, and the error bounds of its rank metrics. */
export interface AggregateRealizedPerformance extends RealizedPerformance {
  readonly errors: { readonly auc: number; readonly ksSeparation: number };
}

/**
 * Every realized metric of `realizedPerformance` from a cohort's aggregate: the confusion
 * matrix at the threshold and what follows from it (precision, recall, F1, Wilson intervals,
 * cost) exactly; Brier, log loss, the reliability bins, ECE, observed rate and mean predicted
 * equal but for the order of the float sums (1e-12 relative); AUC and KS separation from the
 * score bins within `errors` (see rankErrors); DeLong's interval on the binned scores (rows
 * sharing a bin counted as tied), which moves it by about the AUC's error.
 */
export function realizedOfAggregate(layout: CohortAggregateLayout, aggregate: Float64Array, costs: Costs): AggregateRealizedPerformance {
  if (aggregate.length !== layout.size) throw new RangeError(`a cohort aggregate has ${layout.size} entries, got ${aggregate.length}`);
  const neg = 0;
  const pos = CLASS_ENTRIES;
  const nNegative = aggregate[neg + ROWS]!;
  const nPositive = aggregate[pos + ROWS]!;
  const n = nNegative + nPositive;
  const tp = aggregate[pos + AT_OR_ABOVE_THRESHOLD]!;
  const fp = aggregate[neg + AT_OR_ABOVE_THRESHOLD]!;
  const confusion: Confusion = { tp, fp, tn: nNegative - fp, fn: nPositive - tp };
  const { precision, recall, f1 } = precisionRecallF1(confusion);
  const counts = new Float64Array(RELIABILITY_BINS);
  const sums = new Float64Array(RELIABILITY_BINS);
  const positives = new Float64Array(RELIABILITY_BINS);
  for (let k = 0; k < RELIABILITY_BINS; k++) {
    const at = RELIABILITY + 2 * k;
    counts[k] = aggregate[neg + at]! + aggregate[pos + at]!;
    sums[k] = aggregate[neg + at + 1]! + aggregate[pos + at + 1]!;
    positives[k] = aggregate[pos + at]!;
  }
  const cal = calibrationOfBins(counts, sums, positives);
  const groups = histogramGroups(aggregate);
  return {
    n,
    positives: nPositive,
    confusion,
    auc: aucOfGroups(groups),
    precision,
    recall,
    f1,
    ksSeparation: ksOfGroups(groups),
    brierScore: (aggregate[neg + SUM_SQUARED_ERROR]! + aggregate[pos + SUM_SQUARED_ERROR]!) / n,
    logLoss: (aggregate[neg + SUM_LOG_LOSS]! + aggregate[pos + SUM_LOG_LOSS]!) / n,
    ece: cal.ece,
    reliability: cal.bins,
    observedPositiveRate: nPositive / n,
    meanPredicted: (aggregate[neg + SUM_P]! + aggregate[pos + SUM_P]!) / n,
    intervals: {
      auc: aucIntervalOfGroups(groups),
      precision: proportionInterval(tp, tp + fp),
      recall: proportionInterval(tp, tp + confusion.fn),
    },
    costPer1000: costPer1000(confusion, costs),
    errors: rankErrors(groups),
  };
}
