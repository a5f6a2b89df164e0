import type { Severity } from '../drift/severity.js';

/**
 * The performance and business rows of the design's threshold table: defaults from the
 * credit-risk seed, overridable per model in the manifest's `thresholds`.
 */
export interface PerformanceThresholds {
  readonly aucWarning: number;
  readonly aucCritical: number;
  readonly recallWarning: number;
  readonly precisionWarning: number;
  readonly ksSeparationCritical: number;
  readonly brierWarning: number;
  /** Fewer labelled matured predictions than this: the realized metrics are insufficient data. */
  readonly minLabelled: number;
}

/** Business signals of the window; alert rules read them from `vigia_threshold`. */
export interface BusinessThresholds {
  readonly approvalRateMin: number;
  readonly approvalRateMax: number;
  readonly highRiskShareMin: number;
  readonly highRiskShareMax: number;
  readonly meanScoreMin: number;
  readonly meanScoreMax: number;
}

export const DEFAULT_PERFORMANCE_THRESHOLDS: PerformanceThresholds = {
  aucWarning: 0.78,
  aucCritical: 0.75,
  recallWarning: 0.8,
  precisionWarning: 0.25,
  ksSeparationCritical: 0.35,
  brierWarning: 0.18,
  minLabelled: 100,
};

export const DEFAULT_BUSINESS_THRESHOLDS: BusinessThresholds = {
  approvalRateMin: 0.25,
  approvalRateMax: 0.55,
  highRiskShareMin: 0.15,
  highRiskShareMax: 0.3,
  meanScoreMin: 0.15,
  meanScoreMax: 0.35,
};

/** Manifest keys (snake_case) of `thresholds` read here, and the fields they set. */
export const PERFORMANCE_MANIFEST_KEYS: Readonly<Record<string, keyof PerformanceThresholds>> = {
  auc_warning: 'aucWarning',
  auc_critical: 'aucCritical',
  recall_warning: 'recallWarning',
  precision_warning: 'precisionWarning',
  ks_separation_critical: 'ksSeparationCritical',
  brier_warning: 'brierWarning',
  min_labelled: 'minLabelled',
};

export const BUSINESS_MANIFEST_KEYS: Readonly<Record<string, keyof BusinessThresholds>> = {
  approval_rate_min: 'approvalRateMin',
  approval_rate_max: 'approvalRateMax',
  high_risk_share_min: 'highRiskShareMin',
  high_risk_share_max: 'highRiskShareMax',
  mean_score_min: 'meanScoreMin',
  mean_score_max: 'meanScoreMax',
};

function read<T extends object>(overrides: Readonly<Record<string, unknown>>, keys: Readonly<Record<string, keyof T>>, base: T, integerKeys: readonly string[]): T {
  const out: Record<string, number> = { ...(base as Record<string, number>) };
  for (const [key, field] of Object.entries(keys)) {
    const v = overrides[key];
    if (v === undefined) continue;
    const integer = integerKeys.includes(key);
    const ok = typeof v === 'number' && Number.isFinite(v) && v >= 0 && (integer ? Number.isInteger(v) : v <= 1);
    if (!ok) throw new RangeError(`thresholds.${key} must be ${integer ? 'a non-negative integer' : 'a number from 0 to 1'}, got ${JSON.stringify(v)}`);
    out[field as string] = v;
  }
  return out as T;
}

/** A model's performance thresholds: defaults with the manifest's overrides; a bad value names `thresholds.<key>`. */
export function performanceThresholds(overrides: Readonly<Record<string, unknown>>, base = DEFAULT_PERFORMANCE_THRESHOLDS): PerformanceThresholds {
  const t = read(overrides, PERFORMANCE_MANIFEST_KEYS, base, ['min_labelled']);
  if (t.aucCritical > t.aucWarning) throw new RangeError(`thresholds: auc_warning (${t.aucWarning}) must not be below auc_critical (${t.aucCritical})`);
  return t;
}

/** What a model does on its own reference sample: the rates its business limits are centred on. */
export interface ReferenceBusinessRates {
  /** Share of reference scores below the decision threshold (approved). */
  readonly approvalRate: number;
  /** Share of reference scores at or above 0.5 (the high-risk counter's cut). */
  readonly highRiskShare: number;
  readonly meanScore: number;
}

/**
 * How far a business rate may stray from the model's own reference rate before its alert
 * fires: ±0.10 (ten percentage points of approvals or high-risk share, 0.10 of mean score).
 * Wide enough that an hour of stable traffic never crosses it, narrow enough that a model
 * approving 66 % on its reference and 80 % today is flagged.
 */
export const BUSINESS_TOLERANCE = 0.1;

/**
 * The business limits that fit a model: its reference rates ± `BUSINESS_TOLERANCE`, clamped to
 * 0–1. The design's absolute defaults (approval 25–55 %, ...) fit no particular model: the demo
 * model approves 66 % of its own reference sample, so they fired on stable traffic for ever.
 * A rate that cannot be computed keeps the default. The manifest overrides any key.
 */
export function referenceBusinessThresholds(rates: ReferenceBusinessRates, tolerance = BUSINESS_TOLERANCE): BusinessThresholds {
  const round = (x: number) => Math.round(x * 10_000) / 10_000;
  const around = (rate: number, lo: number, hi: number): [number, number] =>
    Number.isFinite(rate) ? [round(Math.max(0, rate - tolerance)), round(Math.min(1, rate + tolerance))] : [lo, hi];
  const d = DEFAULT_BUSINESS_THRESHOLDS;
  const [approvalRateMin, approvalRateMax] = around(rates.approvalRate, d.approvalRateMin, d.approvalRateMax);
  const [highRiskShareMin, highRiskShareMax] = around(rates.highRiskShare, d.highRiskShareMin, d.highRiskShareMax);
  const [meanScoreMin, meanScoreMax] = around(rates.meanScore, d.meanScoreMin, d.meanScoreMax);
  return { approvalRateMin, approvalRateMax, highRiskShareMin, highRiskShareMax, meanScoreMin, meanScoreMax };
}

/** A model's business thresholds: defaults (or the model's reference limits) with the manifest's overrides. */
export function businessThresholds(overrides: Readonly<Record<string, unknown>>, base = DEFAULT_BUSINESS_THRESHOLDS): BusinessThresholds {
  const t = read(overrides, BUSINESS_MANIFEST_KEYS, base, []);
  for (const [lo, hi] of [['approvalRateMin', 'approvalRateMax'], ['highRiskShareMin', 'highRiskShareMax'], ['meanScoreMin', 'meanScoreMax']] as const) {
    if (t[lo] > t[hi]) throw new RangeError(`thresholds: ${lo} (${t[lo]}) is above ${hi} (${t[hi]})`);
  }
  return t;
}

/**
 * A metric that is good when high (AUC, precision, recall, KS separation) judged on the upper
 * end of its confidence interval when there is one: a verdict only when even the optimistic
 * end is below the threshold, so a small cohort does not page on noise.
 */
export function lowIsBad(value: number, upper: number | undefined, labelled: number, t: PerformanceThresholds, warning: number | undefined, critical: number | undefined): Severity {
  if (labelled < t.minLabelled || Number.isNaN(value)) return 'insufficient_data';
  const judged = upper === undefined || Number.isNaN(upper) ? value : upper;
  if (critical !== undefined && judged < critical) return 'critical';
  if (warning !== undefined && judged < warning) return 'warning';
  return 'ok';
}

/** A metric that is bad when high (Brier score). */
export function highIsBad(value: number, labelled: number, t: PerformanceThresholds, warning: number): Severity {
  if (labelled < t.minLabelled || Number.isNaN(value)) return 'insufficient_data';
  return value > warning ? 'warning' : 'ok';
}
