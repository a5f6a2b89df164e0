import type { ReasonGroup } from '../model/manifest.js';

/** One principal reason for a decision: a group of features and how far it pushed the score up. */
export interface Reason {
  readonly code: string;
  readonly reason: string;
  /** The group's summed contribution to the margin (positive: toward the positive class). */
  readonly contribution: number;
}

/**
 * Ranks reason groups by their summed contribution: the groups that pushed the score toward
 * the positive class most come first; groups that pushed it down are never reasons.
 */
export class ReasonRanker {
  private readonly groupOf: Int32Array;
  private readonly sums: Float64Array;

  constructor(
    featureNames: readonly string[],
    private readonly groups: readonly ReasonGroup[],
    private readonly maxReasons: number,
  ) {
    const index = new Map<string, number>();
    groups.forEach((g, i) => g.features.forEach((f) => index.set(f, i)));
    this.groupOf = Int32Array.from(featureNames, (f) => {
      const g = index.get(f);
      if (g === undefined) throw new Error(`feature ${f} is in no reason group`);
      return g;
    });
    this.sums = new Float64Array(groups.length);
  }

  /** The top reasons for one row's contributions (one per feature, manifest order). */
  top(contributions: ArrayLike<number>): Reason[] {
    const sums = this.sums;
    sums.fill(0);
    for (let j = 0; j < this.groupOf.length; j++) sums[this.groupOf[j]!]! += contributions[j]!;
    const ranked: number[] = [];
    for (let g = 0; g < sums.length; g++) if (sums[g]! > 0) ranked.push(g);
    ranked.sort((a, b) => sums[b]! - sums[a]! || a - b);
    return ranked.slice(0, this.maxReasons).map((g) => ({ code: this.groups[g]!.code, reason: this.groups[g]!.text, contribution: sums[g]! }));
  }
}
