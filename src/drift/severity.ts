import { P_VALUE_CORRECTIONS, type PValueCorrection } from './multiple-testing.js';

/**
 * Verdicts from the design's threshold table, with the guards that keep big and small
 * windows honest: below `minWindow` rows a statistic is `insufficient_data`, never drift;
 * a KS p-value only counts when the effect D is at least `ksMinStatistic`, because on a
 * window of a million rows a shift nobody would act on is still "significant"; and a PSI
 * only counts when it is beyond what sampling noise gives a window of its size (the
 * chi-square test of homogeneity on its bins, chi2.ts), because on a window of a hundred
 * rows a PSI of 0.25 happens under no drift at all. The p-values are judged after a multiple-testing
 * correction across the features of the model (`correction`, see multiple-testing.ts).
 */

export type Severity = 'ok' | 'warning' | 'critical' | 'insufficient_data' | 'error';

/** Ordered for "worst of": error and insufficient data never outrank a real verdict. */
export const SEVERITY_RANK: Readonly<Record<Severity, number>> = { error: -2, insufficient_data: -1, ok: 0, warning: 1, critical: 2 };

/** The number exported as `vigia_*_severity`: -1 insufficient data (or error), 0 ok, 1 warning, 2 critical. */
export const severityValue = (s: Severity): number => (s === 'error' ? -1 : Math.max(SEVERITY_RANK[s], -1));

export function worst(severities: readonly Severity[]): Severity {
  let out: Severity = 'ok';
  let any = false;
  for (const s of severities) {
    if (!any || SEVERITY_RANK[s] > SEVERITY_RANK[out]) out = s;
    any = true;
  }
  return out;
}

/** Drift thresholds: the design's defaults, overridable per model (manifest `thresholds`). */
export interface DriftThresholds {
  readonly psiWarning: number;
  readonly psiCritical: number;
  readonly ksPValueWarning: number;
  readonly ksPValueCritical: number;
  /** Minimum KS statistic D for a p-value verdict (the effect-size guard). */
  readonly ksMinStatistic: number;
  readonly chi2PValueWarning: number;
  readonly chi2PValueCritical: number;
  readonly scorePsiWarning: number;
  readonly scorePsiCritical: number;
  /** Relative change of the mean probability vs the baseline (0.2 = 20 %). */
  readonly meanChangeWarning: number;
  readonly meanChangeCritical: number;
  /** Fewer rows than this in the window: insufficient data. */
  readonly minWindow: number;
  /**
   * The sample-size guard of PSI: a PSI at a threshold counts only when the p-value of the
   * chi-square test of homogeneity on its bins (after the correction) is below this level:
   * the warning level for a warning, the critical level for a critical.
   */
  readonly psiPValueWarning: number;
  readonly psiPValueCritical: number;
  /** How the p-values of one evaluation are adjusted across the model's features. */
  readonly correction: PValueCorrection;
}

export const DEFAULT_DRIFT_THRESHOLDS: DriftThresholds = {
  psiWarning: 0.1,
  psiCritical: 0.25,
  ksPValueWarning: 0.05,
  ksPValueCritical: 0.01,
  ksMinStatistic: 0.1,
  chi2PValueWarning: 0.05,
  chi2PValueCritical: 0.01,
  scorePsiWarning: 0.1,
  scorePsiCritical: 0.25,
  meanChangeWarning: 0.2,
  meanChangeCritical: 0.5,
  minWindow: 100,
  psiPValueWarning: 0.05,
  psiPValueCritical: 0.01,
  correction: 'holm',
};

/** The manifest keys of `thresholds`, snake_case, and the fields they set. */
export const DRIFT_MANIFEST_KEYS: Readonly<Record<string, keyof DriftThresholds>> = {
  psi_warning: 'psiWarning',
  psi_critical: 'psiCritical',
  ks_pvalue_warning: 'ksPValueWarning',
  ks_pvalue_critical: 'ksPValueCritical',
  ks_min_statistic: 'ksMinStatistic',
  chi2_pvalue_warning: 'chi2PValueWarning',
  chi2_pvalue_critical: 'chi2PValueCritical',
  score_psi_warning: 'scorePsiWarning',
  score_psi_critical: 'scorePsiCritical',
  mean_change_warning: 'meanChangeWarning',
  mean_change_critical: 'meanChangeCritical',
  min_window: 'minWindow',
  psi_pvalue_warning: 'psiPValueWarning',
  psi_pvalue_critical: 'psiPValueCritical',
  pvalue_correction: 'correction',
};

/**
 * The drift thresholds of a model: `base` (the service defaults) with the manifest's
 * overrides. Unknown keys are left for other parts of the product (performance thresholds);
 * a known key with a bad value throws naming `thresholds.<key>` and the value.
 */
export function driftThresholds(overrides: Readonly<Record<string, unknown>>, base: DriftThresholds = DEFAULT_DRIFT_THRESHOLDS): DriftThresholds {
  const out: Record<string, unknown> = { ...base };
  for (const [key, field] of Object.entries(DRIFT_MANIFEST_KEYS)) {
    const v = overrides[key];
    if (v === undefined) continue;
    if (field === 'correction') {
      out[field] = pValueCorrection(v, `thresholds.${key}`);
      continue;
    }
    const ok = typeof v === 'number' && Number.isFinite(v) && v >= 0 && (field === 'minWindow' ? Number.isInteger(v) : true);
    if (!ok) throw new RangeError(`thresholds.${key} must be a ${field === 'minWindow' ? 'non-negative integer' : 'non-negative number'}, got ${JSON.stringify(v)}`);
    out[field] = v;
  }
  const t = out as unknown as DriftThresholds;
  for (const [warn, crit, dir] of [['psiWarning', 'psiCritical', 'high'], ['scorePsiWarning', 'scorePsiCritical', 'high'], ['meanChangeWarning', 'meanChangeCritical', 'high'], ['ksPValueWarning', 'ksPValueCritical', 'low'], ['chi2PValueWarning', 'chi2PValueCritical', 'low'], ['psiPValueWarning', 'psiPValueCritical', 'low']] as const) {
    if (dir === 'high' ? t[warn] > t[crit] : t[warn] < t[crit]) throw new RangeError(`thresholds: ${warn} (${t[warn]}) and ${crit} (${t[crit]}) are in the wrong order`);
  }
  return t;
}

/** A p-value correction named in a setting (`holm`, `bh` or `none`); anything else throws naming `name` and the value. */
export function pValueCorrection(v: unknown, name: string): PValueCorrection {
  if (typeof v === 'string' && (P_VALUE_CORRECTIONS as readonly string[]).includes(v)) return v as PValueCorrection;
  throw new RangeError(`${name} must be one of ${P_VALUE_CORRECTIONS.join(', ')}, got ${JSON.stringify(v)}`);
}

/** A statistic that drifts when high (PSI, relative change): warning at ≥ w, critical at ≥ c. */
export function highSeverity(value: number, n: number, warning: number, critical: number, minWindow: number): Severity {
  if (n < minWindow) return 'insufficient_data';
  if (!Number.isFinite(value)) return Number.isNaN(value) ? 'insufficient_data' : 'critical';
  return value >= critical ? 'critical' : value >= warning ? 'warning' : 'ok';
}

/** A p-value: warning below w, critical below c, and only when the effect `d` reaches `minEffect`. */
export function pValueSeverity(p: number, n: number, warning: number, critical: number, minWindow: number, effect?: { d: number; minEffect: number }): Severity {
  if (n < minWindow || Number.isNaN(p)) return 'insufficient_data';
  if (effect !== undefined && effect.d < effect.minEffect) return 'ok';
  return p < critical ? 'critical' : p < warning ? 'warning' : 'ok';
}
