/**
 * Isotonic calibration: the non-decreasing step-and-ramp map from a model's score to the
 * observed positive rate, fitted on labelled rows. Equal to scikit-learn 1.2.1's
 * `IsotonicRegression(out_of_bounds='clip').fit(scores, labels).predict(x)` (checked by
 * tools/isotonic_fixtures.py):
 *
 * 1. rows with the same score are merged into one point holding their mean label, weighted
 *    by their count (sklearn's `_make_unique`);
 * 2. pool adjacent violators: neighbouring points whose means decrease are merged into one
 *    block with their weighted mean, until the means never decrease;
 * 3. a score is mapped by linear interpolation between the points (scipy's `interp1d`),
 *    clipped to the fitted score range.
 *
 * The calibrator is a plain object of number arrays so it crosses process boundaries as JSON.
 */

export interface IsotonicCalibrator {
  /** Distinct fitted scores, ascending. */
  readonly x: readonly number[];
  /** The calibrated probability at each of them, non-decreasing. */
  readonly y: readonly number[];
}

/** Fits the calibrator on scores and 0/1 labels of equal length (NaN scores are refused). */
export function fitIsotonic(scores: ArrayLike<number>, labels: ArrayLike<number>): IsotonicCalibrator {
  if (scores.length !== labels.length) throw new RangeError(`scores has ${scores.length} entries but labels has ${labels.length}`);
  if (scores.length === 0) throw new RangeError('cannot fit a calibration on no rows');
  const order = Array.from({ length: scores.length }, (_, i) => i);
  for (let i = 0; i < scores.length; i++) {
    if (Number.isNaN(scores[i]!)) throw new RangeError(`scores[${i}] is NaN`);
    const y = labels[i]!;
    if (y !== 0 && y !== 1) throw new RangeError(`labels[${i}] = ${String(y)} is not 0 or 1`);
  }
  order.sort((a, b) => scores[a]! - scores[b]!);
  // 1. unique scores with their mean label and weight
  const xs: number[] = [];
  const means: number[] = [];
  const weights: number[] = [];
  for (let k = 0; k < order.length; ) {
    const v = scores[order[k]!]!;
    let sum = 0;
    let w = 0;
    while (k < order.length && scores[order[k]!] === v) {
      sum += labels[order[k]!]!;
      w++;
      k++;
    }
    xs.push(v);
    means.push(sum / w);
    weights.push(w);
  }
  // 2. pool adjacent violators, on a stack of blocks
  const blockMean: number[] = [];
  const blockWeight: number[] = [];
  const blockSize: number[] = [];
  for (let i = 0; i < xs.length; i++) {
    let m = means[i]!;
    let w = weights[i]!;
    let size = 1;
    while (blockMean.length > 0 && blockMean[blockMean.length - 1]! >= m) {
      const pm = blockMean.pop()!;
      const pw = blockWeight.pop()!;
      size += blockSize.pop()!;
      m = (pm * pw + m * w) / (pw + w);
      w += pw;
    }
    blockMean.push(m);
    blockWeight.push(w);
    blockSize.push(size);
  }
  const y: number[] = [];
  for (let b = 0; b < blockMean.length; b++) for (let j = 0; j < blockSize[b]!; j++) y.push(blockMean[b]!);
  return { x: xs, y };
}

/** The calibrated probability of one score (NaN stays NaN). */
export function calibrate(c: IsotonicCalibrator, score: number): number {
  const { x, y } = c;
  const n = x.length;
  if (Number.isNaN(score)) return NaN;
  if (n === 1 || score <= x[0]!) return y[0]!;
  if (score >= x[n - 1]!) return y[n - 1]!;
  // searchsorted(x, score, 'left'): the first knot ≥ score
  let lo = 0;
  let hi = n - 1;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (x[mid]! < score) lo = mid + 1;
    else hi = mid;
  }
  const xl = x[lo - 1]!;
  const yl = y[lo - 1]!;
  const slope = (y[lo]! - yl) / (x[lo]! - xl);
  return slope * (score - xl) + yl;
}
