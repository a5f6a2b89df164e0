/**
 * Realized performance of a binary classifier: labels (0/1) against the predicted probability
 * of class 1, each metric equal to its scikit-learn 1.2.1 counterpart (checked against it by
 * tools/performance_fixtures.py).
 *
 * Every function taking `labels` and `probabilities` checks them first: the same length, every
 * label exactly 0 or 1, every probability in [0, 1] (NaN refused). A RangeError names the first
 * offending index. The inputs are never mutated. With no rows at all the averages (Brier, log
 * loss, calibration, observed vs predicted) are NaN, as is every rank metric.
 *
 * The ranking metrics (AUC, KS) sort the probabilities of each class once (O(n log n)) and walk
 * the distinct values; ties between classes count half, as in sklearn.
 */

/** How a metric reads: 'high' when a larger value is the better model, 'low' when a smaller one is. */
export interface MetricDescriptor {
  readonly name: string;
  readonly better: 'high' | 'low';
}

/** ROC AUC: 1 separates perfectly, 0.5 is chance. */
export const aucMetric = { name: 'auc', better: 'high' } as const satisfies MetricDescriptor;
/** Precision, tp / (tp + fp). */
export const precisionMetric = { name: 'precision', better: 'high' } as const satisfies MetricDescriptor;
/** Recall (true-positive rate), tp / (tp + fn). */
export const recallMetric = { name: 'recall', better: 'high' } as const satisfies MetricDescriptor;
/** F1, the harmonic mean of precision and recall. */
export const f1Metric = { name: 'f1', better: 'high' } as const satisfies MetricDescriptor;
/** KS separation, max(TPR − FPR). */
export const ksMetric = { name: 'ks', better: 'high' } as const satisfies MetricDescriptor;
/** Brier score, the mean squared error of the probabilities. */
export const brierMetric = { name: 'brier', better: 'low' } as const satisfies MetricDescriptor;
/** Log loss (cross-entropy). */
export const logLossMetric = { name: 'log_loss', better: 'low' } as const satisfies MetricDescriptor;
/** Expected calibration error. */
export const eceMetric = { name: 'ece', better: 'low' } as const satisfies MetricDescriptor;

/** Every metric of this module, in a stable order. */
export const performanceMetrics: readonly MetricDescriptor[] = [
  aucMetric,
  precisionMetric,
  recallMetric,
  f1Metric,
  ksMetric,
  brierMetric,
  logLossMetric,
  eceMetric,
];

/** The four cells of a confusion matrix at one threshold. */
export interface Confusion {
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

export interface PrecisionRecallF1 {
  /** tp / (tp + fp); NaN when nothing is predicted positive. */
  readonly precision: number;
  /** tp / (tp + fn); NaN when there is no actual positive. */
  readonly recall: number;
  /** 2·P·R / (P + R), i.e. 2tp / (2tp + fp + fn); NaN only when tp + fp + fn = 0. */
  readonly f1: number;
}

export interface CalibrationBin {
  /** The bin's edges, numpy.linspace(0, 1, bins + 1)'s values (so 0.30000000000000004, not 0.3). */
  readonly lower: number;
  readonly upper: number;
  readonly count: number;
  /** Mean probability in the bin; NaN when the bin is empty. */
  readonly meanPredicted: number;
  /** Fraction of positives in the bin; NaN when the bin is empty. */
  readonly observedRate: number;
}

export interface Calibration {
  /** Σ (count / n)·|observedRate − meanPredicted| over the non-empty bins; NaN without rows. */
  readonly ece: number;
  /** Every bin, empty ones included, from 0 up. */
  readonly bins: readonly CalibrationBin[];
}

/**
 * The distinct probabilities in ascending order, with how many positives and negatives hold
 * each: the form every rank statistic here (AUC, KS, DeLong's placements) is computed from.
 */
export interface ScoreGroups {
  readonly values: Float64Array;
  readonly positives: Float64Array;
  readonly negatives: Float64Array;
  readonly nPositive: number;
  readonly nNegative: number;
}

/**
 * Checks `labels` and `probabilities` as every metric here does (same length; labels 0 or 1;
 * probabilities in [0, 1], not NaN) and throws a RangeError naming the first bad index.
 */
export function checkInputs(labels: ArrayLike<number>, probabilities: ArrayLike<number>): void {
  if (labels.length !== probabilities.length) {
    throw new RangeError(`labels has ${labels.length} entries but probabilities has ${probabilities.length}`);
  }
  for (let i = 0; i < labels.length; i++) {
    const y = labels[i]!;
    if (y !== 0 && y !== 1) throw new RangeError(`labels[${i}] = ${String(y)} is not 0 or 1`);
    const p = probabilities[i]!;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`probabilities[${i}] = ${String(p)} is not a probability in [0, 1]`);
  }
}

/**
 * Groups the rows by distinct probability (see ScoreGroups), after checking the inputs: each
 * class's probabilities are sorted on their own and the two sorted runs merged, O(n log n).
 */
export function scoreGroups(labels: ArrayLike<number>, probabilities: ArrayLike<number>): ScoreGroups {
  checkInputs(labels, probabilities);
  let nPositive = 0;
  for (let i = 0; i < labels.length; i++) nPositive += labels[i]!;
  const nNegative = labels.length - nPositive;
  const pos = new Float64Array(nPositive);
  const neg = new Float64Array(nNegative);
  for (let i = 0, a = 0, b = 0; i < labels.length; i++) {
    // + 0 turns -0 into 0, so the typed-array sort cannot split a tie.
    if (labels[i] === 1) pos[a++] = probabilities[i]! + 0;
    else neg[b++] = probabilities[i]! + 0;
  }
  pos.sort();
  neg.sort();
  const values: number[] = [];
  const positives: number[] = [];
  const negatives: number[] = [];
  let a = 0;
  let b = 0;
  while (a < nPositive || b < nNegative) {
    const v = a < nPositive && (b >= nNegative || pos[a]! <= neg[b]!) ? pos[a]! : neg[b]!;
    let p = 0;
    let q = 0;
    while (a < nPositive && pos[a] === v) {
      a++;
      p++;
    }
    while (b < nNegative && neg[b] === v) {
      b++;
      q++;
    }
    values.push(v);
    positives.push(p);
    negatives.push(q);
  }
  return {
    values: Float64Array.from(values),
    positives: Float64Array.from(positives),
    negatives: Float64Array.from(negatives),
    nPositive,
    nNegative,
  };
}

/**
 * ROC AUC, equal to `sklearn.metrics.roc_auc_score(labels, probabilities)`: the probability
 * that a random positive scores above a random negative, ties counting half — the Mann–Whitney
 * U with midranks divided by nPositive·nNegative, which is the area under sklearn's ROC curve.
 * 2U is summed as an integer, so the result is the correctly rounded ratio (exact integers up
 * to 2^53, i.e. far beyond any realistic window); sklearn's trapezoids agree to ~1e-15. NaN
 * when only one class is present (sklearn raises) or there are no rows. O(n log n).
 */
export function rocAuc(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  return aucOfGroups(scoreGroups(labels, probabilities));
}

/** rocAuc from score groups already built. */
export function aucOfGroups(g: ScoreGroups): number {
  if (g.nPositive === 0 || g.nNegative === 0) return NaN;
  let twiceU = 0;
  let negativesBelow = 0;
  for (let k = 0; k < g.values.length; k++) {
    const q = g.negatives[k]!;
    twiceU += g.positives[k]! * (2 * negativesBelow + q);
    negativesBelow += q;
  }
  return twiceU / (2 * g.nPositive * g.nNegative);
}

/**
 * The confusion matrix when a row is predicted positive iff its probability ≥ threshold —
 * sklearn's `confusion_matrix(labels, probabilities >= threshold)` (note ≥: sklearn users
 * must write `p >= t`, not `p > t`). Any threshold but NaN is accepted: above 1 nothing is
 * predicted positive, at or below 0 everything is.
 */
export function confusionAt(labels: ArrayLike<number>, probabilities: ArrayLike<number>, threshold: number): Confusion {
  if (Number.isNaN(threshold)) throw new RangeError('threshold is NaN');
  checkInputs(labels, probabilities);
  let tp = 0;
  let fp = 0;
  let tn = 0;
  let fn = 0;
  for (let i = 0; i < labels.length; i++) {
    const positive = probabilities[i]! >= threshold;
    if (labels[i] === 1) {
      if (positive) tp++;
      else fn++;
    } else if (positive) fp++;
    else tn++;
  }
  return { tp, fp, tn, fn };
}

/**
 * Precision, recall and F1 of a confusion matrix, equal to sklearn's `precision_score`,
 * `recall_score` and `f1_score` (binary, `zero_division=0`) wherever those are defined, and
 * computed with the same floating-point steps (F1 as (2·P)·R / (P + R)). Where sklearn
 * substitutes `zero_division` this gives NaN instead: precision when tp + fp = 0 (nothing
 * predicted positive), recall when tp + fn = 0 (no actual positive), F1 when tp + fp + fn = 0.
 * F1 is otherwise 2tp / (2tp + fp + fn), so it is 0 whenever tp = 0 — even when precision
 * itself is NaN — which is also sklearn's value there.
 */
export function precisionRecallF1(c: Confusion): PrecisionRecallF1 {
  for (const key of ['tp', 'fp', 'tn', 'fn'] as const) {
    const v = c[key];
    if (!(v >= 0) || !Number.isFinite(v)) throw new RangeError(`${key} = ${String(v)} is not a finite count ≥ 0`);
  }
  const precision = c.tp + c.fp > 0 ? c.tp / (c.tp + c.fp) : NaN;
  const recall = c.tp + c.fn > 0 ? c.tp / (c.tp + c.fn) : NaN;
  let f1: number;
  if (c.tp + c.fp + c.fn === 0) f1 = NaN;
  else if (c.tp === 0) f1 = 0;
  else f1 = (2 * precision * recall) / (precision + recall);
  return { precision, recall, f1 };
}

/**
 * KS separation: the largest TPR − FPR over all thresholds, i.e. `max(tpr - fpr)` over
 * `sklearn.metrics.roc_curve(labels, probabilities)` — the Kolmogorov–Smirnov distance between
 * the two classes' score distributions when the positives score higher (0 when they never do:
 * the curve starts at (0, 0)). TPR and FPR are the same integer ratios as sklearn's, so the
 * value is the same to the last bit but for a possible 1-ulp difference on the points
 * roc_curve drops as collinear. NaN with only one class or no rows.
 */
export function ksSeparation(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  return ksOfGroups(scoreGroups(labels, probabilities));
}

/** ksSeparation from score groups already built. */
export function ksOfGroups(g: ScoreGroups): number {
  if (g.nPositive === 0 || g.nNegative === 0) return NaN;
  let best = 0;
  let tp = g.nPositive;
  let fp = g.nNegative;
  // Ascending: at the k-th distinct value the rows at or above it are predicted positive.
  for (let k = 0; k < g.values.length; k++) {
    const d = tp / g.nPositive - fp / g.nNegative;
    if (d > best) best = d;
    tp -= g.positives[k]!;
    fp -= g.negatives[k]!;
  }
  return best;
}

/**
 * Brier score, the mean of (label − probability)², equal to
 * `sklearn.metrics.brier_score_loss(labels, probabilities)`. The sum is compensated
 * (Neumaier), so it differs from numpy's pairwise sum by a few ulps at most. NaN without rows.
 */
export function brierScore(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkInputs(labels, probabilities);
  const sum = new CompensatedSum();
  for (let i = 0; i < labels.length; i++) {
    const d = labels[i]! - probabilities[i]!;
    sum.add(d * d);
  }
  return sum.value() / labels.length;
}

/** float64 machine epsilon, 2^-52: the clip sklearn 1.2.1's log_loss applies with eps='auto'. */
export const LOG_LOSS_EPSILON = 2 ** -52;

/**
 * Log loss (mean cross-entropy, natural log), equal to
 * `sklearn.metrics.log_loss(labels, probabilities, labels=[0, 1])` in scikit-learn 1.2.1:
 * each probability is clipped to [ε, 1 − ε] with ε = 2^-52 (np.finfo(float64).eps, what
 * eps='auto' means for float64 input), the pair (1 − p, p) is renormalised by its
 * floating-point sum as sklearn does, and the row's loss is −ln of its label's share. So a
 * confidently wrong probability of exactly 0 or 1 costs −ln(2^-52) ≈ 36.04, not Infinity.
 * With one class present this is sklearn's value given `labels=[0, 1]` (without it sklearn
 * raises). The mean is compensated (Neumaier). NaN without rows.
 */
export function logLoss(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  checkInputs(labels, probabilities);
  const sum = new CompensatedSum();
  for (let i = 0; i < labels.length; i++) sum.add(logLossOf(labels[i]!, probabilities[i]!));
  return sum.value() / labels.length;
}

/** One row's log loss, clipped and renormalised as `logLoss` does. */
export function logLossOf(label: number, probability: number): number {
  const p = Math.min(Math.max(probability, LOG_LOSS_EPSILON), 1 - LOG_LOSS_EPSILON);
  const q = 1 - p;
  const total = q + p;
  return -Math.log((label === 1 ? p : q) / total);
}

/**
 * Reliability bins and the expected calibration error over `bins` equal-width bins on [0, 1]
 * (10 by default).
 *
 * Bin membership is that of `sklearn.calibration.calibration_curve(labels, probabilities,
 * n_bins=bins, strategy='uniform')`: the edges are numpy.linspace(0, 1, bins + 1)'s values
 * e_k = k·(1/bins) (so e_3 = 0.30000000000000004 for 10 bins) and a probability goes to the
 * number of interior edges strictly below it (np.searchsorted, side 'left'). The bins are
 * therefore closed on the right: [0, e_1], (e_1, e_2], …, (e_{bins−1}, 1] — a probability of
 * exactly 0.2 falls in the 0.1–0.2 bin, and 0 in the first. Each bin's mean probability is
 * summed in input order, as np.bincount does, so `meanPredicted` and `observedRate` of the
 * non-empty bins equal calibration_curve's prob_pred and prob_true exactly (sklearn drops the
 * empty bins; here they stay, with count 0 and NaN rates).
 *
 * ECE = Σ (count / n)·|observedRate − meanPredicted| over the non-empty bins; NaN without rows.
 */
export function calibration(labels: ArrayLike<number>, probabilities: ArrayLike<number>, bins = 10): Calibration {
  checkBins(bins);
  checkInputs(labels, probabilities);
  const edges = linspaceEdges(bins);
  const counts = new Float64Array(bins);
  const sums = new Float64Array(bins);
  const positives = new Float64Array(bins);
  for (let i = 0; i < labels.length; i++) {
    const p = probabilities[i]!;
    const k = binOf(p, edges);
    counts[k]!++;
    sums[k]! += p;
    positives[k]! += labels[i]!;
  }
  return calibrationOfBins(counts, sums, positives);
}

/**
 * `calibration` from per-bin totals already counted (the matured cohort's aggregates keep
 * them, src/performance/cohort-aggregate.ts): each bin's rows, sum of probabilities and
 * positives, bins as `calibrationBinOf` assigns them.
 */
export function calibrationOfBins(counts: ArrayLike<number>, sums: ArrayLike<number>, positives: ArrayLike<number>): Calibration {
  const bins = counts.length;
  checkBins(bins);
  const edges = linspaceEdges(bins);
  let n = 0;
  for (let k = 0; k < bins; k++) n += counts[k]!;
  let ece = 0;
  const out: CalibrationBin[] = [];
  for (let k = 0; k < bins; k++) {
    const count = counts[k]!;
    const meanPredicted = count > 0 ? sums[k]! / count : NaN;
    const observedRate = count > 0 ? positives[k]! / count : NaN;
    if (count > 0) ece += (count / n) * Math.abs(observedRate - meanPredicted);
    out.push({ lower: edges[k]!, upper: edges[k + 1]!, count, meanPredicted, observedRate });
  }
  return { ece: n > 0 ? ece : NaN, bins: out };
}

/** The edges of `bins` equal-width reliability bins, as `calibration` draws them. */
export function calibrationEdges(bins: number): Float64Array {
  checkBins(bins);
  return linspaceEdges(bins);
}

/** The reliability bin of probability `p` given `calibrationEdges(bins)`, as `calibration` assigns it. */
export function calibrationBinOf(p: number, edges: Float64Array): number {
  return binOf(p, edges);
}

function checkBins(bins: number): void {
  if (!Number.isInteger(bins) || bins < 1) throw new RangeError(`bins must be an integer ≥ 1, got ${String(bins)}`);
}

/** numpy.linspace(0, 1, bins + 1): k·(1/bins), the last exactly 1. */
function linspaceEdges(bins: number): Float64Array {
  const edges = new Float64Array(bins + 1);
  const step = 1 / bins;
  for (let k = 0; k < bins; k++) edges[k] = k * step;
  edges[bins] = 1;
  return edges;
}

/** The number of interior edges e_1 … e_{bins−1} strictly below p. */
function binOf(p: number, edges: Float64Array): number {
  const bins = edges.length - 1;
  let k = Math.min(bins - 1, Math.max(0, Math.ceil(p * bins) - 1));
  while (k > 0 && p <= edges[k]!) k--;
  while (k < bins - 1 && p > edges[k + 1]!) k++;
  return k;
}

/**
 * The fraction of positives and the mean probability over all rows: a calibrated model has
 * them close. Equal to np.mean(labels) and np.mean(probabilities) (compensated sum). NaN
 * without rows.
 */
export function observedVsPredicted(
  labels: ArrayLike<number>,
  probabilities: ArrayLike<number>,
): { observedRate: number; meanPredicted: number } {
  checkInputs(labels, probabilities);
  let positives = 0;
  const sum = new CompensatedSum();
  for (let i = 0; i < labels.length; i++) {
    positives += labels[i]!;
    sum.add(probabilities[i]!);
  }
  return { observedRate: positives / labels.length, meanPredicted: sum.value() / labels.length };
}

/** Neumaier's compensated summation: the error does not grow with the number of terms. */
class CompensatedSum {
  private sum = 0;
  private compensation = 0;

  add(x: number): void {
    const t = this.sum + x;
    if (Math.abs(this.sum) >= Math.abs(x)) this.compensation += this.sum - t + x;
    else this.compensation += x - t + this.sum;
    this.sum = t;
  }

  value(): number {
    return this.sum + this.compensation;
  }
}
