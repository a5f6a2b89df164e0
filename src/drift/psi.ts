import { chiSquareIsf } from './chi2.js';

/**
 * Population stability index of a current window against its reference, over the same
 * frozen bins: PSI = Σ (cur% - ref%)·ln(cur% / ref%).
 */

/** PSI is the verdict, and a large one means drift. */
export const psiStatistic = { name: 'psi', drifts: 'high' } as const;

/** The default floor on a bin's proportion; see `psi`. */
export const PSI_EPSILON = 1e-4;

/**
 * PSI between reference and current counts per bin (same bins, same order). Each bin's
 * proportion, in the reference and in the current window alike, is replaced by
 * max(proportion, epsilon) (1e-4 by default) before the difference and the log, without
 * renormalising, so a bin empty on one side adds a large but finite term and a bin empty
 * on both sides adds 0. NaN when either side has no observations at all.
 */
export function psi(refCounts: ArrayLike<number>, curCounts: ArrayLike<number>, opts: { epsilon?: number } = {}): number {
  const epsilon = opts.epsilon ?? PSI_EPSILON;
  if (!(epsilon > 0 && epsilon < 1)) throw new RangeError(`epsilon must be in (0, 1), got ${String(epsilon)}`);
  if (refCounts.length !== curCounts.length) {
    throw new RangeError(`refCounts has ${refCounts.length} bins but curCounts has ${curCounts.length}`);
  }
  const refTotal = total(refCounts, 'refCounts');
  const curTotal = total(curCounts, 'curCounts');
  if (refTotal === 0 || curTotal === 0) return NaN;
  let sum = 0;
  for (let i = 0; i < refCounts.length; i++) {
    const r = Math.max(refCounts[i]! / refTotal, epsilon);
    const c = Math.max(curCounts[i]! / curTotal, epsilon);
    sum += (c - r) * Math.log(c / r);
  }
  return sum;
}

function total(counts: ArrayLike<number>, name: string): number {
  let sum = 0;
  for (let i = 0; i < counts.length; i++) {
    const c = counts[i]!;
    if (!(c >= 0) || !Number.isFinite(c)) throw new RangeError(`${name}[${i}] = ${String(c)} is not a finite count ≥ 0`);
    sum += c;
  }
  return sum;
}

/**
 * The PSI that a window of nCur rows drawn from the reference distribution exceeds with
 * probability alpha, over `bins` bins: under no drift PSI / (1/nRef + 1/nCur) is
 * approximately χ²(bins - 1), so the critical value is χ²_{1-α, bins-1}·(1/nRef + 1/nCur).
 * Count only the bins the reference populates: the always-empty below_min, above_max and
 * __unseen__ bins add no degree of freedom. Reference: B. Yurdakul, "Statistical properties
 * of population stability index", PhD dissertation, Western Michigan University, 2018.
 */
export function psiCriticalValue(nRef: number, nCur: number, bins: number, alpha = 0.05): number {
  if (!(nRef > 0) || !Number.isFinite(nRef)) throw new RangeError(`nRef must be a finite number > 0, got ${String(nRef)}`);
  if (!(nCur > 0) || !Number.isFinite(nCur)) throw new RangeError(`nCur must be a finite number > 0, got ${String(nCur)}`);
  if (!Number.isInteger(bins) || bins < 2) throw new RangeError(`bins must be an integer ≥ 2, got ${String(bins)}`);
  if (!(alpha > 0 && alpha < 1)) throw new RangeError(`alpha must be in (0, 1), got ${String(alpha)}`);
  return chiSquareIsf(alpha, bins - 1) * (1 / nRef + 1 / nCur);
}
