import { calibrate, type IsotonicCalibrator } from './isotonic.js';
import { aucOfGroups, precisionRecallF1, type Confusion, type ScoreGroups } from './metrics.js';
import { costPer1000, type Costs } from './cost.js';

/**
 * Performance estimated before the labels arrive: confidence-based performance estimation
 * (CBPE, as NannyML describes it). Each score s of the window is mapped by the calibrator
 * fitted on the labelled reference to q = P(y = 1 | s). If the calibration still holds for
 * the window (the relation between score and outcome did not change: a covariate shift, not
 * a concept shift), then q is the chance that the row is a positive, and
 *
 *   E[TP] = Σ_{s ≥ t} q,   E[FP] = Σ_{s ≥ t} (1 − q),   E[FN] = Σ_{s < t} q,   E[TN] = Σ_{s < t} (1 − q)
 *
 * give the expected confusion matrix at the threshold t, and precision, recall and F1 of
 * these expectations. The estimated ROC AUC is the area under the expected ROC curve: the
 * rows sorted by score, each counting q as a positive and 1 − q as a negative — the
 * Mann–Whitney AUC of these fractional counts, ties counting half.
 */
export interface EstimatedPerformance {
  readonly n: number;
  /** Expected counts (fractional). */
  readonly confusion: Confusion;
  readonly precision: number;
  readonly recall: number;
  readonly f1: number;
  readonly auc: number;
  /** Expected positive rate: the mean calibrated probability. */
  readonly expectedPositiveRate: number;
  readonly costPer1000: number;
}

/** The estimate of a window's performance from its scores (NaN scores are skipped). */
export function estimatePerformance(scores: ArrayLike<number>, calibrator: IsotonicCalibrator, threshold: number, costs: Costs): EstimatedPerformance {
  const sorted = new Float64Array(scores.length);
  let n = 0;
  for (let i = 0; i < scores.length; i++) {
    const s = scores[i]!;
    if (s === s) sorted[n++] = s + 0;
  }
  const window = sorted.subarray(0, n).sort();
  // The calibration is monotone, so tied scores share q: one group per distinct score.
  const values: number[] = [];
  const positives: number[] = [];
  const negatives: number[] = [];
  let tp = 0;
  let fp = 0;
  let fn = 0;
  let tn = 0;
  for (let k = 0; k < n; ) {
    const v = window[k]!;
    let count = 0;
    while (k < n && window[k] === v) {
      count++;
      k++;
    }
    const q = Math.min(1, Math.max(0, calibrate(calibrator, v)));
    values.push(v);
    positives.push(count * q);
    negatives.push(count * (1 - q));
    if (v >= threshold) {
      tp += count * q;
      fp += count * (1 - q);
    } else {
      fn += count * q;
      tn += count * (1 - q);
    }
  }
  const nPositive = tp + fn;
  const nNegative = fp + tn;
  const groups: ScoreGroups = {
    values: Float64Array.from(values),
    positives: Float64Array.from(positives),
    negatives: Float64Array.from(negatives),
    nPositive,
    nNegative,
  };
  const confusion = { tp, fp, tn, fn };
  const prf = n === 0 ? { precision: NaN, recall: NaN, f1: NaN } : precisionRecallF1(confusion);
  return {
    n,
    confusion,
    ...prf,
    auc: n === 0 || nPositive === 0 || nNegative === 0 ? NaN : aucOfGroups(groups),
    expectedPositiveRate: n === 0 ? NaN : nPositive / n,
    costPer1000: costPer1000(confusion, costs),
  };
}
