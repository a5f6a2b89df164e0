import { categoryCodes, bandShares, riskBandShares, type Baseline, type FeatureBaseline, type FeatureColumn } from './baseline.js';
import { ABOVE_MAX, BELOW_MIN, MISSING, UNSEEN, countCategorical, countNumeric } from './bins.js';
import { chiSquareGoodnessOfFit, chiSquareHomogeneity } from './chi2.js';
import { ks2sampAgainstReference } from './ks.js';
import { psi, psiCriticalValue } from './psi.js';
import { highSeverity, type DriftThresholds, type Severity } from './severity.js';
import { correctedVerdicts, featureVerdict, psiVerdict } from './verdict.js';

/**
 * The rows of a window, as columns: NaN for a missing value; scores in time order. The
 * service's windows are numeric; `evaluateDrift` also takes categorical columns of strings.
 */
export interface WindowColumns<C extends FeatureColumn = Float64Array> {
  readonly columns: ReadonlyMap<string, C>;
  readonly scores: Float64Array;
}

export interface FeatureDrift {
  readonly feature: string;
  readonly kind: 'numeric' | 'categorical';
  readonly monitored: boolean;
  readonly n_reference: number;
  readonly n_current: number;
  readonly psi: number | null;
  /** Sample-size-aware critical value of the PSI (chi-square based, alpha 0.05, one feature alone), for reading. */
  readonly psi_critical_value: number | null;
  /**
   * The PSI's sampling-noise guard: the p-value of the chi-square test of homogeneity
   * between the reference's and the window's counts on the PSI's own bins (chi2.ts
   * `chiSquareHomogeneity`, sparse bins merged), raw and adjusted across the model's
   * features (verdict.ts).
   */
  readonly psi_pvalue: number | null;
  readonly psi_pvalue_adjusted: number | null;
  /**
   * On a window kept as aggregates (see window-aggregate.ts), `statistic` is the sketch's
   * D, at most `statistic_error` below the rows' D, and the rows' p-value lies in
   * [`pvalue_lower`, `pvalue`]. Rows-exact windows carry neither field. `pvalue_adjusted`
   * is the p-value after the multiple-testing correction across the model's features: the
   * verdict is taken on it.
   */
  readonly ks: { readonly statistic: number; readonly pvalue: number; readonly pvalue_adjusted: number; readonly method: 'exact' | 'asymp'; readonly statistic_error?: number; readonly pvalue_lower?: number } | null;
  readonly chi2: { readonly statistic: number; readonly dof: number; readonly pvalue: number; readonly pvalue_adjusted: number } | null;
  readonly missing_rate: number;
  readonly out_of_range_rate: number | null;
  readonly unseen_rate: number | null;
  readonly severity: Severity;
  /** What drove the severity, in words. */
  readonly reasons: readonly string[];
  readonly bins: { readonly labels: readonly string[]; readonly reference_share: readonly number[]; readonly current_share: readonly number[] };
  readonly error?: string;
}

export interface PredictionDrift {
  readonly n: number;
  readonly score_psi: number | null;
  /** The score PSI's sample-size p-value, raw and adjusted with the features' PSI p-values. */
  readonly score_psi_pvalue: number | null;
  readonly score_psi_pvalue_adjusted: number | null;
  readonly score_psi_severity: Severity;
  readonly score_ks: { readonly statistic: number; readonly pvalue: number; readonly statistic_error?: number; readonly pvalue_lower?: number } | null;
  readonly mean_probability: number | null;
  readonly baseline_mean_probability: number;
  /** (current − baseline) / baseline. */
  readonly relative_change: number | null;
  readonly mean_change_severity: Severity;
  readonly positive_rate: number | null;
  readonly baseline_positive_rate: number;
  readonly band_shares: Readonly<Record<string, { readonly current: number | null; readonly baseline: number }>>;
  readonly risk_band_shares: readonly number[];
}

/** The verdict of a model; `NO_VERDICT` while the window holds fewer than `min_window` predictions and no signal fired. */
export type Status = 'NO_VERDICT' | 'HEALTHY' | 'ATTENTION' | 'CRITICAL';

export interface DriftEvaluation {
  readonly model: string;
  readonly model_version: string;
  readonly n: number;
  readonly features: readonly FeatureDrift[];
  readonly prediction: PredictionDrift;
  readonly dataset: { readonly monitored: number; readonly drifted: number; readonly drifted_share: number | null };
  readonly summary: { readonly critical: readonly string[]; readonly warnings: readonly string[]; readonly status: Status };
}

const shares = (counts: ArrayLike<number>): number[] => {
  let total = 0;
  for (let i = 0; i < counts.length; i++) total += counts[i]!;
  return Array.from(counts, (c) => (total === 0 ? 0 : c / total));
};
const finiteOrNull = (x: number): number | null => (Number.isFinite(x) ? x : null);

/** The baseline's sorted reference sample as a Float64Array, converted once per baseline object. */
const sampleCache = new WeakMap<object, Float64Array>();
function sortedSample(f: { readonly sample: readonly number[] }): Float64Array {
  let s = sampleCache.get(f);
  if (s === undefined) {
    s = Float64Array.from(f.sample);
    sampleCache.set(f, s);
  }
  return s;
}

/** A KS result as the judges take it: the rows' exact test, or a sketch's with its error. */
export interface KsObservation {
  readonly statistic: number;
  readonly pValue: number;
  readonly method: 'exact' | 'asymp';
  readonly statisticError?: number;
  readonly pValueLower?: number;
}

const ksReport = (ks: KsObservation) => ({
  statistic: ks.statistic, pvalue: ks.pValue,
  ...(ks.statisticError === undefined ? {} : { statistic_error: ks.statisticError, pvalue_lower: ks.pValueLower! }),
});

/**
 * The statistics of a numeric feature from its frozen-bin counts (order of the labels) and
 * its KS, judged alone (p-values unadjusted); `assembleEvaluation` judges it again with
 * the p-values adjusted across the model's features.
 */
export function judgeNumericFeature(f: FeatureBaseline, counts: ArrayLike<number>, ks: KsObservation | null, t: DriftThresholds): FeatureDrift {
  const n = sum(counts);
  const labels = f.bins.labels;
  const missing = counts[labels.indexOf(MISSING)]!;
  const outside = counts[labels.indexOf(BELOW_MIN)]! + counts[labels.indexOf(ABOVE_MAX)]!;
  return judged({
    ...psiFields(f, counts, n), kind: 'numeric',
    ks: ks === null ? null : { ...ksReport(ks), pvalue_adjusted: ks.pValue, method: ks.method }, chi2: null,
    missing_rate: n === 0 ? 0 : missing / n, out_of_range_rate: n === 0 ? 0 : outside / n, unseen_rate: null,
  }, t);
}

const sum = (counts: ArrayLike<number>): number => {
  let n = 0;
  for (let i = 0; i < counts.length; i++) n += counts[i]!;
  return n;
};

/** What every feature reports about its PSI, and its identity. */
function psiFields(f: FeatureBaseline, counts: ArrayLike<number>, n: number) {
  const p = psi(f.refCounts, counts);
  const refN = f.summary.n;
  const bins = Math.max(f.refCounts.filter((c) => c > 0).length, 2);
  const pValue = n > 0 ? finiteOrNull(chiSquareHomogeneity(f.refCounts, counts).pValue) : null;
  return {
    feature: f.name, monitored: f.monitored, n_reference: refN, n_current: n,
    psi: finiteOrNull(p), psi_critical_value: n > 0 ? finiteOrNull(psiCriticalValue(refN, n, bins)) : null,
    psi_pvalue: pValue, psi_pvalue_adjusted: pValue,
    bins: { labels: f.bins.labels, reference_share: shares(f.refCounts), current_share: shares(counts) },
  };
}

/** A feature with its verdict taken on the p-values it carries. */
function judged(f: Omit<FeatureDrift, 'severity' | 'reasons'>, t: DriftThresholds): FeatureDrift {
  const g = { ...f, severity: 'ok' as Severity, reasons: [] };
  return { ...g, ...featureVerdict(g, t) };
}

/** The statistics of a categorical feature from its frozen-bin counts (order of the labels), judged alone as `judgeNumericFeature`. */
export function judgeCategoricalFeature(f: FeatureBaseline, counts: ArrayLike<number>, t: DriftThresholds): FeatureDrift {
  const n = sum(counts);
  const labels = f.bins.labels;
  const missing = counts[labels.indexOf(MISSING)]!;
  const unseen = counts[labels.indexOf(UNSEEN)]!;
  // The chi-square compares the mix over the categories (missing excluded: it has its own rate).
  const observed = Array.from(counts, (c, i) => (labels[i] === MISSING ? 0 : c));
  const expected = f.refCounts.map((c, i) => (labels[i] === MISSING ? 0 : c));
  const chi = observed.some((c) => c > 0) ? chiSquareGoodnessOfFit(observed, expected) : null;
  return judged({
    ...psiFields(f, counts, n), kind: 'categorical',
    ks: null, chi2: chi === null ? null : { statistic: chi.statistic, dof: chi.dof, pvalue: chi.pValue, pvalue_adjusted: chi.pValue },
    missing_rate: n === 0 ? 0 : missing / n, out_of_range_rate: null, unseen_rate: n === 0 ? 0 : unseen / n,
  }, t);
}

function evaluateFeature(f: FeatureBaseline, values: FeatureColumn | undefined, t: DriftThresholds): FeatureDrift {
  if (values === undefined) throw new RangeError(`the window has no column ${f.name}`);
  if (f.kind === 'numeric') {
    if (!(values instanceof Float64Array)) throw new RangeError(`column ${f.name} is numeric in the baseline but holds text`);
    const ks = f.sample.length > 0 ? ks2sampAgainstReference(sortedSample(f), values) : null;
    return judgeNumericFeature(f, countNumeric(f.bins, values), ks, t);
  }
  return judgeCategoricalFeature(f, countCategorical(f.bins, categoryCodes(values)), t);
}

export function failedFeature(f: FeatureBaseline, n: number, err: unknown): FeatureDrift {
  return {
    feature: f.name, kind: f.kind, monitored: f.monitored, n_reference: f.summary.n, n_current: n,
    psi: null, psi_critical_value: null, psi_pvalue: null, psi_pvalue_adjusted: null, ks: null, chi2: null, missing_rate: 0, out_of_range_rate: null, unseen_rate: null,
    severity: 'error', reasons: [], bins: { labels: f.bins.labels, reference_share: shares(f.refCounts), current_share: [] },
    error: (err as Error).message ?? String(err),
  };
}

/** What the prediction drift is judged on: counts and sums over the window's scores. */
export interface ScoreObservation {
  readonly n: number;
  /** Counts in the baseline's frozen score bins. */
  readonly counts: ArrayLike<number>;
  readonly sum: number;
  /** Scores at or above the model's threshold. */
  readonly positives: number;
  /** Shares per decision band (NaN when the window is empty). */
  readonly bandShares: Readonly<Record<string, number>>;
  readonly riskBandShares: readonly number[];
  readonly ks: KsObservation | null;
}

function scoreObservation(baseline: Baseline, scores: Float64Array, bands: readonly { name: string; minProbability: number }[]): ScoreObservation {
  const n = scores.length;
  let sum = 0;
  let positives = 0;
  for (let i = 0; i < n; i++) {
    sum += scores[i]!;
    if (scores[i]! >= baseline.threshold) positives++;
  }
  return {
    n, counts: countNumeric(baseline.score.bins, scores), sum, positives,
    bandShares: bandShares(scores, bands), riskBandShares: riskBandShares(scores),
    ks: n > 0 && baseline.score.sample.length > 0 ? ks2sampAgainstReference(sortedSample(baseline.score), scores) : null,
  };
}

/** The prediction drift (score PSI, mean change, positive rate, bands) of a window's score observation. */
export function judgePrediction(baseline: Baseline, o: ScoreObservation, t: DriftThresholds): PredictionDrift {
  const s = baseline.score;
  const n = o.n;
  const scorePsi = psi(s.refCounts, o.counts);
  const refN = sum(s.refCounts);
  const scorePsiP = n === 0 || refN === 0 ? NaN : chiSquareHomogeneity(s.refCounts, o.counts).pValue;
  const m = n === 0 ? NaN : o.sum / n;
  const change = n === 0 || s.mean === 0 ? NaN : (m - s.mean) / s.mean;
  return {
    n,
    score_psi: finiteOrNull(scorePsi),
    score_psi_pvalue: finiteOrNull(scorePsiP),
    score_psi_pvalue_adjusted: finiteOrNull(scorePsiP),
    score_psi_severity: psiVerdict('score PSI', scorePsi, scorePsiP, n, t.scorePsiWarning, t.scorePsiCritical, t).severity,
    score_ks: o.ks === null ? null : ksReport(o.ks),
    mean_probability: finiteOrNull(m),
    baseline_mean_probability: s.mean,
    relative_change: finiteOrNull(change),
    mean_change_severity: highSeverity(Math.abs(change), n, t.meanChangeWarning, t.meanChangeCritical, t.minWindow),
    positive_rate: n === 0 ? null : o.positives / n,
    baseline_positive_rate: s.positiveRate,
    band_shares: Object.fromEntries(Object.entries(s.bandShares).map(([band, share]) => [band, { current: n === 0 ? null : o.bandShares[band] ?? 0, baseline: share }])),
    risk_band_shares: o.riskBandShares,
  };
}

/**
 * The seed's rule: any critical → CRITICAL; more than three warnings → ATTENTION; else
 * HEALTHY — but only when there was enough data to judge (`judged`): a window of 3
 * predictions is NO_VERDICT, not a green HEALTHY.
 */
export function statusOf(critical: number, warnings: number, judged = true): Status {
  return critical > 0 ? 'CRITICAL' : warnings > 3 ? 'ATTENTION' : judged ? 'HEALTHY' : 'NO_VERDICT';
}

/**
 * Every drift statistic of a window against its baseline. Pure. A feature whose evaluation
 * throws is reported with severity `error` and its message; the others are unaffected.
 */
export function evaluateDrift(baseline: Baseline, window: WindowColumns<FeatureColumn>, bands: readonly { name: string; minProbability: number }[], t: DriftThresholds): DriftEvaluation {
  const n = window.scores.length;
  const features = baseline.features.map((f) => {
    try {
      return evaluateFeature(f, window.columns.get(f.name), t);
    } catch (err) {
      return failedFeature(f, n, err);
    }
  });
  return assembleEvaluation(baseline, features, judgePrediction(baseline, scoreObservation(baseline, window.scores, bands), t), t);
}

/**
 * The evaluation of a window from its judged features and prediction drift: the verdicts
 * taken again on p-values adjusted across the model's features (verdict.ts), the summary
 * and the dataset verdict.
 */
export function assembleEvaluation(baseline: Baseline, judgedFeatures: FeatureDrift[], judgedPrediction: PredictionDrift, t: DriftThresholds): DriftEvaluation {
  const { features, prediction } = correctedVerdicts(judgedFeatures, judgedPrediction, t);
  const n = prediction.n;
  const monitored = features.filter((f) => f.monitored);
  const critical: string[] = [];
  const warnings: string[] = [];
  for (const f of monitored) {
    if (f.severity === 'critical') critical.push(`feature ${f.feature}: ${f.reasons.join('; ')}`);
    if (f.severity === 'warning') warnings.push(`feature ${f.feature}: ${f.reasons.join('; ')}`);
  }
  const sp = prediction.score_psi_severity;
  if (sp === 'critical' || sp === 'warning') (sp === 'critical' ? critical : warnings).push(`score PSI ${prediction.score_psi?.toFixed(3)}`);
  const mc = prediction.mean_change_severity;
  if (mc === 'critical' || mc === 'warning') (mc === 'critical' ? critical : warnings).push(`mean probability ${prediction.mean_probability?.toFixed(3)} vs baseline ${prediction.baseline_mean_probability.toFixed(3)} (${((prediction.relative_change ?? 0) * 100).toFixed(0)} %)`);
  const drifted = monitored.filter((f) => f.severity === 'warning' || f.severity === 'critical').length;
  const judged = monitored.filter((f) => f.severity !== 'insufficient_data' && f.severity !== 'error').length;
  return {
    model: baseline.model,
    model_version: baseline.modelVersion,
    n,
    features,
    prediction,
    dataset: { monitored: monitored.length, drifted, drifted_share: judged === 0 ? null : drifted / judged },
    summary: { critical, warnings, status: statusOf(critical.length, warnings.length, n >= t.minWindow) },
  };
}
