import type { FeatureDrift, PredictionDrift } from './evaluate.js';
import { adjustPValues } from './multiple-testing.js';
import { highSeverity, pValueSeverity, worst, type DriftThresholds, type Severity } from './severity.js';

/**
 * The verdicts of one evaluation, taken on p-values adjusted across the features of the
 * model, so that the false-alarm rate is that of the whole evaluation, not of each test.
 * Every p-value that can raise a verdict is one family, adjusted with `t.correction`: per
 * monitored feature its test's (KS for numeric, chi-square for categorical) and its PSI's
 * sampling-noise p-value (the chi-square test of homogeneity on the PSI's bins, chi2.ts
 * `chiSquareHomogeneity`), and the score PSI's. So with Holm the chance
 * that stable traffic raises any verdict in an evaluation is at most the level, whatever
 * the dependence between the tests (two statistics of one feature are strongly dependent).
 *
 * A feature that is not monitored is judged alone, on its raw p-values. Pure.
 */

const fmt = (p: number): string => p.toExponential(2);

/**
 * A PSI's verdict: at a threshold (effect size) and beyond the sampling noise of its window
 * at that level (adjusted p-value below `psiPValueCritical` for critical, `psiPValueWarning`
 * for warning). `what` names it in the reasons.
 */
export function psiVerdict(what: string, value: number, pAdjusted: number, n: number, warning: number, critical: number, t: DriftThresholds): { severity: Severity; reasons: string[] } {
  const raw = highSeverity(value, n, warning, critical, t.minWindow);
  if (raw !== 'warning' && raw !== 'critical') return { severity: raw, reasons: [] };
  const significant = (alpha: number) => !(pAdjusted >= alpha); // NaN (no p-value) does not veto
  const severity: Severity = raw === 'critical' && significant(t.psiPValueCritical) ? 'critical' : significant(t.psiPValueWarning) ? 'warning' : 'ok';
  const reasons: string[] = [];
  if (severity !== 'ok') reasons.push(`${what} ${value.toFixed(3)} ≥ ${severity === 'critical' ? critical : warning}`);
  if (severity !== raw) {
    const level = severity === 'warning' ? t.psiPValueCritical : t.psiPValueWarning;
    reasons.push(`${what} ${value.toFixed(3)} ≥ ${raw === 'critical' ? critical : warning} ignored: within the sampling noise of ${n} rows (adjusted p=${fmt(pAdjusted)} ≥ ${level})`);
  }
  return { severity, reasons };
}

/** A feature's severity and reasons from its statistics and their adjusted p-values. */
export function featureVerdict(f: FeatureDrift, t: DriftThresholds): { severity: Severity; reasons: string[] } {
  if (f.severity === 'error') return { severity: 'error', reasons: [] };
  const n = f.n_current;
  const psi = psiVerdict('PSI', f.psi ?? NaN, f.psi_pvalue_adjusted ?? NaN, n, t.psiWarning, t.psiCritical, t);
  const reasons = psi.reasons.filter((r) => !r.includes('ignored'));
  const notes = psi.reasons.filter((r) => r.includes('ignored'));
  if (f.kind === 'numeric') {
    const ks = f.ks;
    const nKs = n - Math.round(f.missing_rate * n);
    const p = ks?.pvalue_adjusted ?? NaN;
    const ksSev = ks === null ? 'insufficient_data' : pValueSeverity(p, nKs, t.ksPValueWarning, t.ksPValueCritical, t.minWindow, { d: ks.statistic, minEffect: t.ksMinStatistic });
    if (ksSev === 'warning' || ksSev === 'critical') reasons.push(`KS p=${fmt(ks!.pvalue)} (adjusted ${fmt(p)}) with D=${ks!.statistic.toFixed(3)} ≥ ${t.ksMinStatistic}`);
    if (ks !== null && p < t.ksPValueWarning && ks.statistic < t.ksMinStatistic && n >= t.minWindow) notes.push(`KS p=${fmt(ks.pvalue)} (adjusted ${fmt(p)}) ignored: D=${ks.statistic.toFixed(3)} below the effect-size guard ${t.ksMinStatistic}`);
    return { severity: worst([psi.severity, ksSev]), reasons: [...reasons, ...notes] };
  }
  // PSI is the verdict for categories; the chi-square, like KS, flags everything on a big
  // window, so it only escalates a feature whose PSI reached the warning threshold.
  const chi = f.chi2;
  const p = chi?.pvalue_adjusted ?? NaN;
  const chiSev = chi === null ? 'insufficient_data' : pValueSeverity(p, n, t.chi2PValueWarning, t.chi2PValueCritical, t.minWindow);
  // "Moved" is the PSI's own verdict, sample-size guard included: Pearson's chi-square is
  // anti-conservative on the rare categories of a small window (one row of a category the
  // reference holds at 0.04 % is a χ² term of 24 on 100 rows).
  const moved = psi.severity === 'warning' || psi.severity === 'critical';
  const severity = !moved && chiSev !== 'insufficient_data' ? worst([psi.severity, 'ok']) : worst([psi.severity, chiSev]);
  if (moved && (chiSev === 'warning' || chiSev === 'critical')) reasons.push(`chi-square p=${fmt(chi!.pvalue)} (adjusted ${fmt(p)})`);
  return { severity, reasons: [...reasons, ...notes] };
}

/** The p-value of a feature's own test: KS for numeric, chi-square for categorical (NaN when none). */
const testPValue = (f: FeatureDrift): number => (f.ks?.pvalue ?? f.chi2?.pvalue ?? NaN);

/**
 * The features and the prediction drift of one evaluation with their p-values adjusted
 * across the monitored features (`t.correction`) and their verdicts taken on them.
 */
export function correctedVerdicts(features: readonly FeatureDrift[], prediction: PredictionDrift, t: DriftThresholds): { features: FeatureDrift[]; prediction: PredictionDrift } {
  const family = features.flatMap((f, i) => (f.monitored && f.severity !== 'error' ? [i] : []));
  const m = family.length;
  const all = adjustPValues([...family.map((i) => testPValue(features[i]!)), ...family.map((i) => features[i]!.psi_pvalue ?? NaN), prediction.score_psi_pvalue ?? NaN], t.correction);
  const adjusted = new Map(family.map((i, k) => [i, { test: all[k]!, psi: all[m + k]! }]));
  const out = features.map((f, i) => {
    const a = adjusted.get(i);
    if (a === undefined) return f.severity === 'error' ? f : { ...f, ...featureVerdict(f, t) };
    const g: FeatureDrift = {
      ...f,
      psi_pvalue_adjusted: orNull(a.psi),
      ks: f.ks === null ? null : { ...f.ks, pvalue_adjusted: a.test },
      chi2: f.chi2 === null ? null : { ...f.chi2, pvalue_adjusted: a.test },
    };
    return { ...g, ...featureVerdict(g, t) };
  });
  const scoreAdjusted = all[2 * m]!;
  const score = psiVerdict('score PSI', prediction.score_psi ?? NaN, scoreAdjusted, prediction.n, t.scorePsiWarning, t.scorePsiCritical, t);
  return { features: out, prediction: { ...prediction, score_psi_pvalue_adjusted: orNull(scoreAdjusted), score_psi_severity: score.severity } };
}

const orNull = (x: number): number | null => (Number.isFinite(x) ? x : null);
