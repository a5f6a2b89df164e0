import type { DriftReport } from '../drift/report.js';
import { severityValue } from '../drift/severity.js';
import type { Metrics } from './metrics.js';

const STATUS_VALUE = { NO_VERDICT: -1, HEALTHY: 0, ATTENTION: 1, CRITICAL: 2 } as const;
const orNaN = (x: number | null | undefined): number => (x === null || x === undefined ? Number.NaN : x);

/** Sets the drift gauges of one model version from its latest report. */
export function publishDriftReport(metrics: Metrics, report: DriftReport, evaluationSeconds: number): void {
  const model = { model: report.model, version: report.model_version };
  for (const f of report.features) {
    const labels = { ...model, feature: f.feature };
    metrics.featurePsi.set(labels, orNaN(f.psi));
    metrics.featurePsiPValueAdjusted.set(labels, orNaN(f.psi_pvalue_adjusted));
    metrics.featureSeverity.set(labels, severityValue(f.severity));
    metrics.featureWindowSize.set(labels, f.n_current);
    metrics.featureMissingRatio.set(labels, f.missing_rate);
    if (f.kind === 'numeric') {
      metrics.featureKsStatistic.set(labels, orNaN(f.ks?.statistic));
      metrics.featureKsPValue.set(labels, orNaN(f.ks?.pvalue));
      metrics.featureKsPValueAdjusted.set(labels, orNaN(f.ks?.pvalue_adjusted));
      metrics.featureOutOfRangeRatio.set(labels, orNaN(f.out_of_range_rate));
    } else {
      metrics.featureChi2PValue.set(labels, orNaN(f.chi2?.pvalue));
      metrics.featureChi2PValueAdjusted.set(labels, orNaN(f.chi2?.pvalue_adjusted));
      metrics.featureUnseenRatio.set(labels, orNaN(f.unseen_rate));
    }
  }
  const p = report.prediction;
  metrics.scorePsi.set(model, orNaN(p.score_psi));
  metrics.scorePsiPValueAdjusted.set(model, orNaN(p.score_psi_pvalue_adjusted));
  metrics.meanProbability.set(model, orNaN(p.mean_probability));
  metrics.baselineMeanProbability.set(model, p.baseline_mean_probability);
  metrics.meanProbabilityChange.set(model, orNaN(p.relative_change));
  metrics.positiveRatio.set(model, orNaN(p.positive_rate));
  for (const [band, share] of Object.entries(p.band_shares)) metrics.bandRatio.set({ ...model, band }, orNaN(share.current));
  metrics.driftWindowSize.set(model, report.n);
  metrics.driftStatus.set(model, STATUS_VALUE[report.summary.status]);
  metrics.driftedFeaturesRatio.set(model, orNaN(report.dataset.drifted_share));
  metrics.driftEvaluationDuration.set(model, evaluationSeconds);
  metrics.driftLastEvaluation.set(model, Date.parse(report.evaluated_at) / 1000);
}
