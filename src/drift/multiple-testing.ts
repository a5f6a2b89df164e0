/**
 * Multiple-testing corrections: adjusted p-values for a family of tests judged together, so
 * that the false-alarm rate is controlled for the whole family (one drift evaluation of a
 * model) and not for each test alone. With 23 features each tested at 0.01, a window of
 * stable traffic has about one chance in five of some p-value under 0.01.
 *
 * - Holm (1979), step-down: sort the m p-values ascending, p(1) ≤ … ≤ p(m);
 *   adjusted p(i) = max over j ≤ i of min(1, (m − j + 1)·p(j)). Rejecting the hypotheses whose
 *   adjusted p-value is below α keeps the family-wise error rate (the chance of any false
 *   rejection) at most α, whatever the dependence between the tests.
 * - Benjamini–Hochberg (1995), step-up: adjusted p(i) = min over j ≥ i of min(1, m·p(j)/j).
 *   Keeps the false discovery rate (the expected share of false rejections among the
 *   rejections) at most α for independent or positively dependent tests; when no hypothesis
 *   is false it equals the family-wise rate.
 * - none: the p-values as they are.
 *
 * A NaN p-value (a test that could not run) stays NaN and is not counted in m. Equal to
 * statsmodels' `multipletests(method='holm' | 'fdr_bh')[1]` and scipy ≥ 1.11's
 * `false_discovery_control(method='bh')` (checked by tools/multiple_testing_fixtures.py).
 */

export type PValueCorrection = 'holm' | 'bh' | 'none';

export const P_VALUE_CORRECTIONS: readonly PValueCorrection[] = ['holm', 'bh', 'none'];

/** The finite p-values' indices, in ascending order of p (stable for ties); checks every value. */
function ascending(pValues: ArrayLike<number>): number[] {
  const idx: number[] = [];
  for (let i = 0; i < pValues.length; i++) {
    const p = pValues[i]!;
    if (Number.isNaN(p)) continue;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`pValues[${i}] = ${String(p)} is not a p-value in [0, 1]`);
    idx.push(i);
  }
  return idx.sort((a, b) => pValues[a]! - pValues[b]! || a - b);
}

/** Holm's step-down adjusted p-values (family-wise error rate). */
export function holm(pValues: ArrayLike<number>): number[] {
  const out = Array.from(pValues, () => NaN);
  const order = ascending(pValues);
  const m = order.length;
  let running = 0;
  order.forEach((i, rank) => {
    running = Math.max(running, Math.min(1, (m - rank) * pValues[i]!));
    out[i] = running;
  });
  return out;
}

/** Benjamini–Hochberg's step-up adjusted p-values (false discovery rate). */
export function benjaminiHochberg(pValues: ArrayLike<number>): number[] {
  const out = Array.from(pValues, () => NaN);
  const order = ascending(pValues);
  const m = order.length;
  let running = 1;
  for (let rank = m - 1; rank >= 0; rank--) {
    const i = order[rank]!;
    running = Math.min(running, (m * pValues[i]!) / (rank + 1));
    out[i] = running;
  }
  return out;
}

/** The adjusted p-values of a family under `method`; `none` checks and copies them. */
export function adjustPValues(pValues: ArrayLike<number>, method: PValueCorrection): number[] {
  if (method === 'holm') return holm(pValues);
  if (method === 'bh') return benjaminiHochberg(pValues);
  ascending(pValues);
  return Array.from(pValues);
}
