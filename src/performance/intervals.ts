import { aucOfGroups, scoreGroups, type ScoreGroups } from './metrics.js';

/**
 * Confidence intervals for the realized performance metrics: DeLong's for the ROC AUC and
 * Wilson's score interval for proportions (precision, recall), both on the normal
 * approximation, with the standard normal quantile they need.
 */

/** A two-sided confidence interval; both ends NaN when the data cannot give one. */
export interface Interval {
  readonly lower: number;
  readonly upper: number;
}

/**
 * The standard normal quantile Φ⁻¹(p), as scipy.stats.norm.ppf: Wichura's algorithm AS 241
 * (PPND16, Applied Statistics 37(3), 1988), rational approximations good to about 1 part in
 * 10^16 — within 1e-12 relative of scipy over p from 1e-300 to 1 − 1e-15, so no refinement
 * step is needed. −Infinity at 0, Infinity at 1; a RangeError outside [0, 1] or for NaN.
 */
export function normalQuantile(p: number): number {
  if (!(p >= 0 && p <= 1)) throw new RangeError(`p must be in [0, 1], got ${String(p)}`);
  if (p === 0) return -Infinity;
  if (p === 1) return Infinity;
  const q = p - 0.5;
  if (Math.abs(q) <= 0.425) {
    const r = 0.180625 - q * q;
    const num =
      (((((((2509.0809287301226727 * r + 33430.575583588128105) * r + 67265.770927008700853) * r + 45921.953931549871457) * r +
        13731.693765509461125) *
        r +
        1971.5909503065514427) *
        r +
        133.14166789178437745) *
        r +
        3.387132872796366608) *
      q;
    const den =
      ((((((5226.495278852854561 * r + 28729.085735721942674) * r + 39307.89580009271061) * r + 21213.794301586595867) * r +
        5394.1960214247511077) *
        r +
        687.1870074920579083) *
        r +
        42.313330701600911252) *
        r +
      1;
    return num / den;
  }
  // The tail: p itself below ½, 1 − p (exact for p ≥ ½) above.
  let r = Math.sqrt(-Math.log(q <= 0 ? p : 1 - p));
  let x: number;
  if (r <= 5) {
    r -= 1.6;
    const num =
      ((((((7.7454501427834140764e-4 * r + 2.27238449892691845833e-2) * r + 2.4178072517745061177e-1) * r +
        1.27045825245236838258) *
        r +
        3.64784832476320460504) *
        r +
        5.7694972214606914055) *
        r +
        4.6303378461565452959) *
        r +
      1.42343711074968357734;
    const den =
      ((((((1.05075007164441684324e-9 * r + 5.475938084995344946e-4) * r + 1.51986665636164571966e-2) * r +
        1.4810397642748007459e-1) *
        r +
        6.8976733498510000455e-1) *
        r +
        1.6763848301838038494) *
        r +
        2.05319162663775882187) *
        r +
      1;
    x = num / den;
  } else {
    r -= 5;
    const num =
      ((((((2.01033439929228813265e-7 * r + 2.71155556874348757815e-5) * r + 1.2426609473880784386e-3) * r +
        2.6532189526576123093e-2) *
        r +
        2.9656057182850489123e-1) *
        r +
        1.7848265399172913358) *
        r +
        5.4637849111641143699) *
        r +
      6.6579046435011037772;
    const den =
      ((((((2.04426310338993978564e-15 * r + 1.4215117583164458887e-7) * r + 1.8463183175100546818e-5) * r +
        7.868691311456132591e-4) *
        r +
        1.4875361290850614852e-2) *
        r +
        1.3692988092273580531e-1) *
        r +
        5.9983220655588793769e-1) *
        r +
      1;
    x = num / den;
  }
  return q < 0 ? -x : x;
}

/** The two-sided critical value z = Φ⁻¹(1 − α/2), computed as −Φ⁻¹(α/2) (scipy's norm.isf(α/2)). */
function critical(level: number): number {
  if (!(level > 0 && level < 1)) throw new RangeError(`level must be in (0, 1), got ${String(level)}`);
  return -normalQuantile((1 - level) / 2);
}

/**
 * DeLong's variance of the ROC AUC (DeLong, DeLong & Clarke-Pearson, Biometrics 44, 1988),
 * by the midrank algorithm of Sun & Xu (IEEE Signal Processing Letters 21, 2014), O(n log n).
 * Each positive's placement is the fraction of negatives scoring below it (ties count half),
 * each negative's the fraction of positives scoring above it; their means are the AUC, and
 * var = S10/m + S01/n with S10, S01 the sample variances (n − 1 denominator) of the m
 * positives' and n negatives' placements. NaN when either class has fewer than 2 rows (a
 * sample variance needs two). Labels and probabilities are checked as in metrics.ts.
 */
export function aucVariance(labels: ArrayLike<number>, probabilities: ArrayLike<number>): number {
  return delong(labels, probabilities).variance;
}

function delong(labels: ArrayLike<number>, probabilities: ArrayLike<number>): { auc: number; variance: number } {
  return delongOfGroups(scoreGroups(labels, probabilities));
}

function delongOfGroups(g: ScoreGroups): { auc: number; variance: number } {
  const m = g.nPositive;
  const n = g.nNegative;
  const auc = aucOfGroups(g);
  if (m < 2 || n < 2) return { auc, variance: NaN };
  // Placements are constant within a group of tied scores: one term per group, times its size.
  let s10 = 0;
  let s01 = 0;
  let negativesBelow = 0;
  let positivesAbove = m;
  for (let k = 0; k < g.values.length; k++) {
    const p = g.positives[k]!;
    const q = g.negatives[k]!;
    positivesAbove -= p;
    if (p > 0) {
      const d = (negativesBelow + q / 2) / n - auc;
      s10 += p * d * d;
    }
    if (q > 0) {
      const d = (positivesAbove + p / 2) / m - auc;
      s01 += q * d * d;
    }
    negativesBelow += q;
  }
  return { auc, variance: s10 / (m - 1) / m + s01 / (n - 1) / n };
}

/**
 * Confidence interval of the ROC AUC at `level` (0.95 by default) by DeLong's method: AUC ±
 * z·sqrt(var) with var from `aucVariance` and z = Φ⁻¹(1 − (1 − level)/2), the normal
 * approximation, clipped to [0, 1]. NaN ends when the AUC or the variance is undefined (one
 * class, or fewer than 2 rows of a class). When every placement is equal — perfect
 * separation, or a constant model — the variance is 0 and the interval collapses to the AUC.
 */
export function aucInterval(labels: ArrayLike<number>, probabilities: ArrayLike<number>, level = 0.95): Interval {
  return aucIntervalOfGroups(scoreGroups(labels, probabilities), level);
}

/** aucInterval from score groups already built. */
export function aucIntervalOfGroups(g: ScoreGroups, level = 0.95): Interval {
  const z = critical(level);
  const { auc, variance } = delongOfGroups(g);
  if (Number.isNaN(variance)) return { lower: NaN, upper: NaN };
  const half = z * Math.sqrt(variance);
  return { lower: Math.max(0, auc - half), upper: Math.min(1, auc + half) };
}

/**
 * Wilson score interval for a proportion `successes` of `trials` at `level` (0.95 by default) —
 * for precision pass tp of tp + fp, for recall tp of tp + fn. With p̂ = s/n and
 * z = Φ⁻¹(1 − (1 − level)/2): (p̂ + z²/2n) / (1 + z²/n) ± z·sqrt(p̂(1 − p̂)/n + z²/4n²) / (1 + z²/n),
 * in the order statsmodels' `proportion_confint(method='wilson')` writes it. The lower end is
 * exactly 0 when s = 0 and the upper exactly 1 when s = n (the formula leaves a rounding
 * residue such as 3e-17 there); otherwise the ends are clipped to [0, 1]. NaN ends when
 * trials = 0. Counts must be integers with 0 ≤ successes ≤ trials.
 */
export function proportionInterval(successes: number, trials: number, level = 0.95): Interval {
  if (!Number.isInteger(trials) || trials < 0) throw new RangeError(`trials must be an integer ≥ 0, got ${String(trials)}`);
  if (!Number.isInteger(successes) || successes < 0 || successes > trials) {
    throw new RangeError(`successes must be an integer in [0, trials = ${trials}], got ${String(successes)}`);
  }
  const z = critical(level);
  if (trials === 0) return { lower: NaN, upper: NaN };
  const z2 = z * z;
  const p = successes / trials;
  const denom = 1 + z2 / trials;
  const center = (p + z2 / (2 * trials)) / denom;
  const dist = (z * Math.sqrt((p * (1 - p)) / trials + z2 / (4 * trials ** 2))) / denom;
  return {
    lower: successes === 0 ? 0 : Math.max(0, center - dist),
    upper: successes === trials ? 1 : Math.min(1, center + dist),
  };
}
