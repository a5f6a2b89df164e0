import type { AttributionReport } from '../explain/attribution-drift.js';
import { severityValue, type DriftThresholds } from '../drift/severity.js';
import type { PerformanceReport } from '../performance/report.js';
import type { BusinessThresholds, PerformanceThresholds } from '../performance/thresholds.js';
import type { ModelReport } from '../report/model-report.js';
import type { FairnessReport } from '../fairness/report.js';
import type { FairnessThresholds } from '../fairness/metrics.js';
import { publishDriftReport } from './drift-metrics.js';
import type { Metrics } from './metrics.js';

const orNaN = (x: number | null | undefined): number => (x === null || x === undefined ? Number.NaN : x);
/** `0.0-0.1`, …, `0.9-1.0`: the reliability bin's label. */
const binLabel = (b: { lower: number; upper: number }) => `${b.lower.toFixed(1)}-${b.upper.toFixed(1)}`;

/** Sets the performance gauges of one model version from its latest report. */
export function publishPerformanceReport(metrics: Metrics, model: { model: string; version: string }, p: PerformanceReport, evaluatedAt: string): void {
  const realized = { ...model, source: 'realized' };
  const estimated = { ...model, source: 'estimated' };
  metrics.performanceCohortPredictions.set(model, p.cohort.matured);
  metrics.performanceLabelledPredictions.set(model, p.cohort.labelled);
  metrics.performancePositiveLabels.set(model, p.cohort.positives);
  metrics.labelCoverage.set(model, orNaN(p.cohort.label_coverage));
  const r = p.realized;
  metrics.performanceAuc.set(realized, orNaN(r?.auc));
  metrics.performancePrecision.set(realized, orNaN(r?.precision));
  metrics.performanceRecall.set(realized, orNaN(r?.recall));
  metrics.performanceF1.set(realized, orNaN(r?.f1));
  metrics.performanceKsSeparation.set(realized, orNaN(r?.ks_separation));
  metrics.performanceBrier.set(realized, orNaN(r?.brier_score));
  metrics.performanceLogLoss.set(realized, orNaN(r?.log_loss));
  metrics.performanceEce.set(realized, orNaN(r?.ece));
  metrics.performanceCost.set(realized, orNaN(r?.cost_per_1000));
  metrics.performanceObservedPositive.set(model, orNaN(r?.observed_positive_rate));
  metrics.performanceMeanPredicted.set(model, orNaN(r?.mean_predicted));
  for (const metric of ['auc', 'precision', 'recall'] as const) {
    metrics.performanceCiLower.set({ ...model, metric }, orNaN(r?.intervals[metric].lower));
    metrics.performanceCiUpper.set({ ...model, metric }, orNaN(r?.intervals[metric].upper));
  }
  for (const b of r?.reliability ?? []) {
    metrics.calibrationObserved.set({ ...model, bin: binLabel(b) }, orNaN(b.observed_rate));
    metrics.calibrationPredicted.set({ ...model, bin: binLabel(b) }, orNaN(b.mean_predicted));
  }
  const e = p.estimated;
  metrics.performanceAuc.set(estimated, orNaN(e?.auc));
  metrics.performancePrecision.set(estimated, orNaN(e?.precision));
  metrics.performanceRecall.set(estimated, orNaN(e?.recall));
  metrics.performanceF1.set(estimated, orNaN(e?.f1));
  metrics.performanceCost.set(estimated, orNaN(e?.cost_per_1000));
  for (const [metric, severity] of Object.entries(p.severities)) metrics.performanceSeverity.set({ ...model, metric }, severityValue(severity));
  metrics.performanceLastEvaluation.set(model, Date.parse(evaluatedAt) / 1000);
}

/**
 * Exports a model's threshold table as `vigia_threshold{signal, severity}`, so alert rules
 * compare each signal with its model's own limits instead of numbers written in the rules.
 */
export function publishThresholds(metrics: Metrics, model: { model: string; version: string }, t: { drift: DriftThresholds; performance: PerformanceThresholds; business: BusinessThresholds }): void {
  const set = (signal: string, severity: string, value: number) => metrics.threshold.set({ ...model, signal, severity }, value);
  const { drift: d, performance: p, business: b } = t;
  set('feature_psi', 'warning', d.psiWarning);
  set('feature_psi', 'critical', d.psiCritical);
  set('feature_psi_pvalue', 'warning', d.psiPValueWarning);
  set('feature_psi_pvalue', 'critical', d.psiPValueCritical);
  set('feature_ks_pvalue', 'warning', d.ksPValueWarning);
  set('feature_ks_pvalue', 'critical', d.ksPValueCritical);
  set('feature_ks_min_statistic', 'guard', d.ksMinStatistic);
  set('feature_chi2_pvalue', 'warning', d.chi2PValueWarning);
  set('feature_chi2_pvalue', 'critical', d.chi2PValueCritical);
  set('score_psi', 'warning', d.scorePsiWarning);
  set('score_psi', 'critical', d.scorePsiCritical);
  set('mean_probability_change', 'warning', d.meanChangeWarning);
  set('mean_probability_change', 'critical', d.meanChangeCritical);
  set('min_window', 'guard', d.minWindow);
  set('auc', 'warning', p.aucWarning);
  set('auc', 'critical', p.aucCritical);
  set('recall', 'warning', p.recallWarning);
  set('precision', 'warning', p.precisionWarning);
  set('ks_separation', 'critical', p.ksSeparationCritical);
  set('brier_score', 'warning', p.brierWarning);
  set('min_labelled', 'guard', p.minLabelled);
  set('approval_rate_min', 'warning', b.approvalRateMin);
  set('approval_rate_max', 'warning', b.approvalRateMax);
  set('high_risk_share_min', 'warning', b.highRiskShareMin);
  set('high_risk_share_max', 'warning', b.highRiskShareMax);
  set('mean_score_min', 'warning', b.meanScoreMin);
  set('mean_score_max', 'warning', b.meanScoreMax);
}

/** Sets the fairness gauges of one model version: every group of every attribute (NaN when insufficient). */
export function publishFairnessReport(metrics: Metrics, model: { model: string; version: string }, f: FairnessReport): void {
  for (const a of f.attributes) {
    const attribute = { ...model, attribute: a.attribute };
    metrics.equalOpportunityDifference.set(attribute, orNaN(a.equal_opportunity_difference));
    metrics.equalizedOddsDifference.set(attribute, orNaN(a.equalized_odds_difference));
    for (const g of a.groups) {
      const group = { ...attribute, group: g.group };
      metrics.groupSize.set(group, g.n);
      metrics.groupSelectionRate.set(group, orNaN(g.selection_rate));
      metrics.groupAdverseImpactRatio.set(group, orNaN(g.adverse_impact_ratio));
      metrics.groupTruePositiveRate.set(group, orNaN(g.tpr));
      metrics.groupFalsePositiveRate.set(group, orNaN(g.fpr));
    }
  }
}

/** Exports a model's fairness thresholds in `vigia_threshold`, as `publishThresholds` does the others. */
export function publishFairnessThresholds(metrics: Metrics, model: { model: string; version: string }, t: FairnessThresholds, minGroupSize: number): void {
  const set = (signal: string, severity: string, value: number) => metrics.threshold.set({ ...model, signal, severity }, value);
  set('adverse_impact_ratio_min', 'warning', t.adverseImpactRatioMin);
  set('adverse_impact_ratio_max', 'warning', t.adverseImpactRatioMax);
  set('equal_opportunity_difference', 'warning', t.equalOpportunityDifferenceWarning);
  set('equalized_odds_difference', 'warning', t.equalizedOddsDifferenceWarning);
  set('min_group_size', 'guard', minGroupSize);
}

/** Sets every gauge of a model report: drift (its drift-only verdicts), performance and fairness. */
export function publishModelReport(metrics: Metrics, r: ModelReport, evaluationSeconds: number): void {
  publishDriftReport(metrics, { ...r, summary: r.drift_summary }, evaluationSeconds);
  if (r.performance !== null) publishPerformanceReport(metrics, { model: r.model, version: r.model_version }, r.performance, r.evaluated_at);
  if (r.fairness !== undefined) publishFairnessReport(metrics, { model: r.model, version: r.model_version }, r.fairness);
  if (r.attribution !== undefined) publishAttribution(metrics, { model: r.model, version: r.model_version }, r.attribution);
}

/** Sets the attribution-drift gauges of one model version. */
function publishAttribution(metrics: Metrics, model: { model: string; version: string }, a: AttributionReport): void {
  for (const f of a.features) {
    metrics.attributionShare.set({ ...model, feature: f.feature, sample: 'window' }, f.window_share);
    metrics.attributionShare.set({ ...model, feature: f.feature, sample: 'reference' }, f.reference_share);
  }
  metrics.attributionShift.set(model, a.shift ?? Number.NaN);
  metrics.attributionRowsExplained.set(model, a.rows_explained);
}
