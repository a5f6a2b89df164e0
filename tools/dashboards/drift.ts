// Vigia / Model drift: the inputs and the scores of the window against the reference.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { MODEL, prom, statPanel, tablePanel, thresholdSeries, timeseriesPanel, valueNames, vigiaDashboard, type Step } from './panels.js';

/** -1 insufficient data, 0 ok, 1 warning, 2 critical: vigia_feature_drift_severity. */
const SEVERITY = valueNames({
  '-1': { text: 'insufficient data', color: 'text' },
  0: { text: 'ok', color: 'green' },
  1: { text: 'warning', color: 'orange' },
  2: { text: 'critical', color: 'red' },
});
const PSI_STEPS: readonly Step[] = [{ value: null, color: 'green' }, { value: 0.1, color: 'orange' }, { value: 0.25, color: 'red' }];
const P_STEPS: readonly Step[] = [{ value: null, color: 'red' }, { value: 0.01, color: 'orange' }, { value: 0.05, color: 'green' }];

export function driftDashboard(): dashboard.Dashboard {
  return vigiaDashboard({
    uid: 'vigia-drift',
    title: 'Vigia / Model drift',
    description: 'Has what the model sees moved away from what it was trained on? Feature and score drift of the window against the frozen reference, with the model\'s own thresholds.',
    panels: [
      statPanel({
        title: 'Drift status', unit: 'none',
        description: 'The seed rule over the last evaluation: any critical verdict is CRITICAL, more than three warnings ATTENTION, otherwise HEALTHY; NO VERDICT YET while the window holds fewer than min_window predictions.',
        query: prom(`vigia_drift_status{${MODEL}}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'green' }, { value: 1, color: 'orange' }, { value: 2, color: 'red' }],
        mappings: [valueNames({ [-1]: { text: 'NO VERDICT YET', color: 'text' }, 0: { text: 'HEALTHY', color: 'green' }, 1: { text: 'ATTENTION', color: 'orange' }, 2: { text: 'CRITICAL', color: 'red' } })],
      }),
      statPanel({
        title: 'Worst feature PSI', unit: 'none',
        description: 'The largest PSI among the model\'s features (model:vigia_feature_psi:max). Colours at the default thresholds 0.10 and 0.25; the PSI panel draws the model\'s own.',
        query: prom(`model:vigia_feature_psi:max{${MODEL}}`, '{{version}}', 'A'),
        steps: PSI_STEPS,
      }),
      statPanel({
        title: 'Drifted features', unit: 'percentunit',
        description: 'Share of the monitored features judged warning or critical at the last evaluation (the dataset verdict).',
        query: prom(`vigia_drifted_features_ratio{${MODEL}}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'green' }, { value: 0.01, color: 'orange' }],
      }),
      statPanel({
        title: 'Evaluation age', unit: 's',
        description: 'Time since the last successful drift evaluation. VigiaDriftEvaluationStale warns past 15 minutes: the gauges below are then old.',
        query: prom(`time() - vigia_drift_last_evaluation_timestamp_seconds{${MODEL}}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'green' }, { value: 900, color: 'red' }],
      }),
      timeseriesPanel({
        title: 'PSI per feature', unit: 'none',
        description: 'PSI of each feature over the window, on the frozen reference bins. Dashed: the model\'s warning and critical thresholds (vigia_threshold feature_psi), which the alerts use. NaN (no line) below the minimum window.',
        queries: [prom(`vigia_feature_psi{${MODEL}}`, '{{feature}}', 'A')],
        modelThresholds: ['feature_psi'],
      }),
      timeseriesPanel({
        title: 'Score PSI', unit: 'none',
        description: 'PSI of the predicted probabilities against the reference scores (CSI). Dashed: the model\'s score_psi thresholds.',
        queries: [prom(`vigia_score_psi{${MODEL}}`, 'score PSI {{version}}', 'A')],
        modelThresholds: ['score_psi'],
      }),
      tablePanel({
        title: 'Features now',
        description: 'Every monitored feature at the last evaluation: verdict, PSI, KS D and p-value (numeric), chi-square p-value (categorical), rows and missing share. Colours at the default thresholds; the report gives the reasons.',
        columns: [
          { name: 'severity', expr: `vigia_feature_drift_severity{${MODEL}}` },
          { name: 'PSI', expr: `vigia_feature_psi{${MODEL}}` },
          { name: 'KS D', expr: `vigia_feature_ks_statistic{${MODEL}}` },
          { name: 'KS p', expr: `vigia_feature_ks_pvalue{${MODEL}}` },
          { name: 'chi-square p', expr: `vigia_feature_chi2_pvalue{${MODEL}}` },
          { name: 'rows', expr: `vigia_feature_window_size{${MODEL}}` },
          { name: 'missing', expr: `vigia_feature_missing_ratio{${MODEL}}` },
        ],
        hide: ['__name__', 'job', 'instance', 'model'],
        coloured: { severity: { mappings: [SEVERITY] }, PSI: { steps: PSI_STEPS }, 'KS p': { steps: P_STEPS }, 'chi-square p': { steps: P_STEPS } },
      }),
      timeseriesPanel({
        title: 'KS p-value per numeric feature', unit: 'none', logScale: true,
        description: 'Two-sample KS p-value of each numeric feature (log scale). Dashed: the model\'s feature_ks_pvalue thresholds. An alert also needs D at or above the effect-size guard (next panel).',
        queries: [prom(`vigia_feature_ks_pvalue{${MODEL}}`, '{{feature}}', 'A')],
        modelThresholds: ['feature_ks_pvalue'],
      }),
      timeseriesPanel({
        title: 'KS statistic D per numeric feature', unit: 'none',
        description: 'The KS effect size D: the largest gap between the two cumulative distributions. Dashed: the guard feature_ks_min_statistic below which a p-value is ignored.',
        queries: [prom(`vigia_feature_ks_statistic{${MODEL}}`, '{{feature}}', 'A')],
        modelThresholds: ['feature_ks_min_statistic'],
      }),
      timeseriesPanel({
        title: 'Chi-square p-value per categorical feature', unit: 'none', logScale: true,
        description: 'Goodness-of-fit p-value of each categorical feature\'s mix (log scale). Dashed: the model\'s thresholds; an alert also needs the feature\'s PSI at its warning threshold.',
        queries: [prom(`vigia_feature_chi2_pvalue{${MODEL}}`, '{{feature}}', 'A')],
        modelThresholds: ['feature_chi2_pvalue'],
      }),
      timeseriesPanel({
        title: 'Score distribution: share of each band', unit: 'percentunit', stacked: true,
        description: 'Share of the window\'s predictions in each decision band, and at or above the decision threshold.',
        queries: [prom(`vigia_band_ratio{${MODEL}}`, '{{band}}', 'A'), prom(`vigia_positive_decision_ratio{${MODEL}}`, 'at or above the threshold', 'B')],
      }),
      timeseriesPanel({
        title: 'Mean probability against the baseline', unit: 'none',
        description: 'Mean predicted probability of the window and of the reference sample. Dashed: the model\'s expected range (mean_score_min and _max).',
        queries: [prom(`vigia_mean_probability{${MODEL}}`, 'window', 'A'), prom(`vigia_baseline_mean_probability{${MODEL}}`, 'baseline', 'B')],
        modelThresholds: ['mean_score_min', 'mean_score_max'],
      }),
      timeseriesPanel({
        title: 'Mean probability change', unit: 'percentunit',
        description: '(window mean - baseline mean) / baseline mean. Dashed: the model\'s mean_probability_change thresholds on both sides (the alerts compare the absolute change); past the critical one the report carries a diagnosis.',
        queries: [prom(`vigia_mean_probability_change_ratio{${MODEL}}`, 'change', 'A'), thresholdSeries(['mean_probability_change'], 'threshold below', '-')],
        modelThresholds: ['mean_probability_change'],
        thresholdRefIds: ['threshold below'],
      }),
      timeseriesPanel({
        title: 'Missing values by feature', unit: 'percentunit',
        description: 'Share of window rows with the feature missing (null). A jump is usually an upstream field that stopped arriving.',
        queries: [prom(`vigia_feature_missing_ratio{${MODEL}}`, '{{feature}}', 'A')],
      }),
      timeseriesPanel({
        title: 'Out-of-range values by feature', unit: 'percentunit',
        description: 'Share of window rows where a numeric feature is below the reference minimum or above its maximum: a unit change or a new population.',
        queries: [prom(`vigia_feature_out_of_range_ratio{${MODEL}}`, '{{feature}}', 'A')],
      }),
      timeseriesPanel({
        title: 'Unseen categories by feature', unit: 'percentunit',
        description: 'Share of window rows where a categorical feature has a code the reference never had (scored as unseen, not rejected).',
        queries: [prom(`vigia_feature_unseen_ratio{${MODEL}}`, '{{feature}}', 'A')],
      }),
      timeseriesPanel({
        title: 'Window size', unit: 'short',
        description: 'Predictions in the drift window at each evaluation. Dashed: min_window, below which every statistic is insufficient data and no drift alert fires.',
        queries: [prom(`vigia_drift_window_size{${MODEL}}`, 'window {{version}}', 'A')],
        modelThresholds: ['min_window'],
      }),
      timeseriesPanel({
        title: 'Evaluation duration', unit: 's',
        description: 'Duration of the last drift evaluation (window read and statistics), in its own process off the request path.',
        queries: [prom(`vigia_drift_evaluation_duration_seconds{${MODEL}}`, '{{version}}', 'A')],
      }),
    ],
  });
}
