/**
 * Fairness by group: pure functions over per-group counts. No I/O.
 *
 * Definitions (named after the library whose definition each follows):
 * - selection rate: fairlearn `selection_rate` — the share of a group with decision 1
 *   (Aequitas calls it predicted prevalence, `pprev` = PP / group size).
 * - favorable rate: the share of a group with the favorable decision — decision 0 when decision 1
 *   is the action taken against the applicant (credit: intervention, refusal), decision 1
 *   when it is the favorable one (the manifest's `fairness.favorable_decision`).
 * - adverse impact ratio: the group's favorable rate over the reference group's — the EEOC
 *   Uniform Guidelines' impact ratio (29 CFR 1607.4(D)), against a chosen reference group as
 *   Aequitas computes disparities (with favorable decision 1 it is Aequitas `pprev_disparity`).
 *   Judged as Aequitas does, fair when τ ≤ ratio ≤ 1/τ (τ = 0.8: the four-fifths screen).
 * - TPR and FPR: fairlearn `true_positive_rate` / `false_positive_rate` (from sklearn's
 *   confusion matrix) on the labelled matured cohort.
 * - TPR / FPR difference: the group's rate minus the reference group's.
 * - equal opportunity difference: fairlearn `equal_opportunity_difference` — max − min TPR
 *   over the groups (`method='between_groups'`).
 * - equalized odds difference: fairlearn `equalized_odds_difference` — the larger of the
 *   between-groups TPR difference and FPR difference (`agg='worst_case'`).
 * A rate is computed only when its denominator (group size, positives, negatives) reaches the
 * minimum group size; otherwise it is null, "insufficient data", and never enters a verdict.
 */

/** What one group of one attribute counted: over the window (n, selected) and the labelled cohort. */
export interface GroupCounts {
  /** Predictions of the window in the group, and those with decision 1. */
  readonly n: number;
  readonly selected: number;
  /** Labelled matured predictions of the group, by decision and label. */
  readonly tp: number;
  readonly fp: number;
  readonly tn: number;
  readonly fn: number;
}

export const EMPTY_COUNTS: GroupCounts = { n: 0, selected: 0, tp: 0, fp: 0, tn: 0, fn: 0 };

export interface FairnessThresholds {
  /** Adverse impact ratio below this, or above `adverseImpactRatioMax`: warning (four-fifths screen: 0.8 and 1.25). */
  readonly adverseImpactRatioMin: number;
  readonly adverseImpactRatioMax: number;
  /** Between-groups TPR difference above this: warning. */
  readonly equalOpportunityDifferenceWarning: number;
  /** Between-groups max(TPR, FPR) difference above this: warning. */
  readonly equalizedOddsDifferenceWarning: number;
}

export const DEFAULT_FAIRNESS_THRESHOLDS: FairnessThresholds = {
  adverseImpactRatioMin: 0.8,
  adverseImpactRatioMax: 1.25,
  equalOpportunityDifferenceWarning: 0.1,
  equalizedOddsDifferenceWarning: 0.1,
};

type N = number | null;

export interface GroupFairness {
  readonly group: string;
  readonly n: number;
  readonly selection_rate: N;
  readonly favorable_rate: N;
  readonly adverse_impact_ratio: N;
  readonly labelled: number;
  readonly positives: number;
  readonly negatives: number;
  readonly tpr: N;
  readonly fpr: N;
  readonly tpr_difference: N;
  readonly fpr_difference: N;
  /** insufficient_data when the group is below the minimum size in the window. */
  readonly status: 'ok' | 'warning' | 'insufficient_data';
}

export interface AttributeFairness {
  readonly attribute: string;
  readonly reference: string;
  readonly groups: readonly GroupFairness[];
  readonly equal_opportunity_difference: N;
  readonly equalized_odds_difference: N;
  readonly status: 'ok' | 'warning' | 'insufficient_data';
  /** Every warning, in words. */
  readonly warnings: readonly string[];
}

const rate = (num: number, den: number, min: number): N => (den >= min && den > 0 ? num / den : null);
const spread = (xs: readonly N[]): N => {
  const v = xs.filter((x): x is number => x !== null);
  return v.length < 2 ? null : Math.max(...v) - Math.min(...v);
};
const pct = (x: number) => `${(x * 100).toFixed(1)}%`;
/** Ratios of counts carry rounding (160/1000 over 200/1000 is 0.7999…): a limit is crossed only beyond this. */
const TOLERANCE = 1e-9;

/** The fairness of one attribute from its groups' counts. Groups are reported in the order given. */
export function attributeFairness(
  attribute: string,
  reference: string,
  counts: ReadonlyMap<string, GroupCounts>,
  minGroupSize: number,
  favorableDecision: 0 | 1,
  t: FairnessThresholds = DEFAULT_FAIRNESS_THRESHOLDS,
): AttributeFairness {
  const favorable = (c: GroupCounts) => rate(favorableDecision === 1 ? c.selected : c.n - c.selected, c.n, minGroupSize);
  const ref = counts.get(reference) ?? EMPTY_COUNTS;
  const refFavorable = favorable(ref);
  const refTpr = rate(ref.tp, ref.tp + ref.fn, minGroupSize);
  const refFpr = rate(ref.fp, ref.fp + ref.tn, minGroupSize);
  const warnings: string[] = [];
  const groups = [...counts].map(([group, c]): GroupFairness => {
    const selection = rate(c.selected, c.n, minGroupSize);
    const fav = favorable(c);
    const air = fav === null || refFavorable === null || refFavorable === 0 ? null : fav / refFavorable;
    const tpr = rate(c.tp, c.tp + c.fn, minGroupSize);
    const fpr = rate(c.fp, c.fp + c.tn, minGroupSize);
    let status: GroupFairness['status'] = selection === null ? 'insufficient_data' : 'ok';
    if (air !== null && (air < t.adverseImpactRatioMin - TOLERANCE || air > t.adverseImpactRatioMax + TOLERANCE)) {
      status = 'warning';
      warnings.push(`${attribute}=${group}: adverse impact ratio ${air.toFixed(3)} (favorable decision ${favorableDecision} for ${pct(fav!)} against ${pct(refFavorable!)} for ${reference}) is outside ${t.adverseImpactRatioMin}–${t.adverseImpactRatioMax}`);
    }
    return {
      group,
      n: c.n,
      selection_rate: selection,
      favorable_rate: fav,
      adverse_impact_ratio: air,
      labelled: c.tp + c.fp + c.tn + c.fn,
      positives: c.tp + c.fn,
      negatives: c.fp + c.tn,
      tpr,
      fpr,
      tpr_difference: tpr === null || refTpr === null ? null : tpr - refTpr,
      fpr_difference: fpr === null || refFpr === null ? null : fpr - refFpr,
      status,
    };
  });
  const tprSpread = spread(groups.map((g) => g.tpr));
  const fprSpread = spread(groups.map((g) => g.fpr));
  const equalizedOdds = tprSpread === null && fprSpread === null ? null : Math.max(tprSpread ?? 0, fprSpread ?? 0);
  if (tprSpread !== null && tprSpread > t.equalOpportunityDifferenceWarning + TOLERANCE) {
    warnings.push(`${attribute}: equal opportunity difference ${tprSpread.toFixed(3)} (max − min true-positive rate over groups) is above ${t.equalOpportunityDifferenceWarning}`);
  }
  if (equalizedOdds !== null && equalizedOdds > t.equalizedOddsDifferenceWarning + TOLERANCE) {
    warnings.push(`${attribute}: equalized odds difference ${equalizedOdds.toFixed(3)} is above ${t.equalizedOddsDifferenceWarning}`);
  }
  const judged = groups.some((g) => g.status !== 'insufficient_data') || tprSpread !== null || fprSpread !== null;
  return {
    attribute,
    reference,
    groups,
    equal_opportunity_difference: tprSpread,
    equalized_odds_difference: equalizedOdds,
    status: warnings.length > 0 ? 'warning' : judged ? 'ok' : 'insufficient_data',
    warnings,
  };
}
