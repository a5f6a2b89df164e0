import type { Confusion } from './metrics.js';

/** What a wrong decision costs, in the model owner's unit (a missed default vs a needless intervention). */
export interface Costs {
  readonly falseNegative: number;
  readonly falsePositive: number;
}

/** Errors cost 1 each when a bundle says nothing: the cost is then errors per 1,000 decisions. */
export const DEFAULT_COSTS: Costs = { falseNegative: 1, falsePositive: 1 };

/** Cost per 1,000 decisions of a confusion matrix (counts may be expected, fractional ones); NaN without rows. */
export function costPer1000(c: Confusion, costs: Costs): number {
  const n = c.tp + c.fp + c.tn + c.fn;
  return n === 0 ? NaN : ((costs.falseNegative * c.fn + costs.falsePositive * c.fp) / n) * 1000;
}
