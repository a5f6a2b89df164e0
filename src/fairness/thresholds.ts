import { DEFAULT_FAIRNESS_THRESHOLDS, type FairnessThresholds } from './metrics.js';

/** Manifest keys (snake_case) of `thresholds` read here, the fields they set, and their range. */
export const FAIRNESS_MANIFEST_KEYS: Readonly<Record<string, { field: keyof FairnessThresholds; max: number }>> = {
  adverse_impact_ratio_min: { field: 'adverseImpactRatioMin', max: 1 },
  adverse_impact_ratio_max: { field: 'adverseImpactRatioMax', max: 1000 },
  equal_opportunity_difference_warning: { field: 'equalOpportunityDifferenceWarning', max: 1 },
  equalized_odds_difference_warning: { field: 'equalizedOddsDifferenceWarning', max: 1 },
};

/** A model's fairness thresholds: the defaults (four-fifths screen, 0.1 differences) with the manifest's overrides. */
export function fairnessThresholds(overrides: Readonly<Record<string, unknown>>, base = DEFAULT_FAIRNESS_THRESHOLDS): FairnessThresholds {
  const out: Record<string, number> = { ...base };
  for (const [key, { field, max }] of Object.entries(FAIRNESS_MANIFEST_KEYS)) {
    const v = overrides[key];
    if (v === undefined) continue;
    if (typeof v !== 'number' || !Number.isFinite(v) || v < 0 || v > max) throw new RangeError(`thresholds.${key} must be a number from 0 to ${max}, got ${JSON.stringify(v)}`);
    out[field] = v;
  }
  const t = out as unknown as FairnessThresholds;
  if (t.adverseImpactRatioMin > 1 || t.adverseImpactRatioMax < 1) throw new RangeError(`thresholds: adverse_impact_ratio_min (${t.adverseImpactRatioMin}) must be at most 1 and adverse_impact_ratio_max (${t.adverseImpactRatioMax}) at least 1`);
  return t;
}
