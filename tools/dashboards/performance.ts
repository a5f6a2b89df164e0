// Vigia / Model performance: realized on the labelled matured cohort, estimated before labels.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { MODEL, prom, statPanel, tablePanel, timeseriesPanel, vigiaDashboard } from './panels.js';

/** A metric realized and estimated, its 95 % interval, and the model's thresholds for it. */
function withInterval(title: string, metric: string, signal: string, description: string) {
  return timeseriesPanel({
    title, unit: 'percentunit', description,
    queries: [
      prom(`vigia_performance_${metric}{${MODEL}}`, '{{source}}', 'A'),
      prom(`vigia_performance_ci_lower{${MODEL}, metric="${metric}"}`, '95 % interval, lower', 'B'),
      prom(`vigia_performance_ci_upper{${MODEL}, metric="${metric}"}`, '95 % interval, upper', 'C'),
    ],
    modelThresholds: [signal],
  });
}

export function performanceDashboard(): dashboard.Dashboard {
  return vigiaDashboard({
    uid: 'vigia-performance',
    title: 'Vigia / Model performance',
    description: 'Does the model still predict well? Realized metrics on the matured cohort once labels arrive, estimated ones on the window before, with the model\'s thresholds.',
    panels: [
      statPanel({
        title: 'Labelled matured predictions', unit: 'short',
        description: 'The sample size of the realized metrics. Below min_labelled (100 by default) they are NaN and no performance alert fires.',
        query: prom(`vigia_performance_labelled_predictions{${MODEL}}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'orange' }, { value: 100, color: 'green' }],
      }),
      statPanel({
        title: 'Label coverage', unit: 'percentunit',
        description: 'Labelled matured predictions over matured predictions. Low coverage makes the realized metrics a biased sample.',
        query: prom(`vigia_label_coverage_ratio{${MODEL}}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'orange' }, { value: 0.5, color: 'green' }],
      }),
      statPanel({
        title: 'Realized AUC', unit: 'none',
        description: 'ROC AUC on the labelled matured cohort. Colours at the default thresholds 0.75 (critical) and 0.78 (warning).',
        query: prom(`vigia_performance_auc{${MODEL}, source="realized"}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'red' }, { value: 0.75, color: 'orange' }, { value: 0.78, color: 'green' }],
      }),
      statPanel({
        title: 'Performance evaluation age', unit: 's',
        description: 'Time since the last successful performance evaluation (run with the drift evaluation).',
        query: prom(`time() - vigia_performance_last_evaluation_timestamp_seconds{${MODEL}}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'green' }, { value: 900, color: 'red' }],
      }),
      timeseriesPanel({
        title: 'AUC, realized and estimated', unit: 'none',
        description: 'Realized AUC on the labelled cohort with its 95 % DeLong interval, and the estimate (CBPE) on the window before labels arrive. Dashed: the model\'s auc thresholds; only the realized value alerts.',
        queries: [
          prom(`vigia_performance_auc{${MODEL}}`, '{{source}}', 'A'),
          prom(`vigia_performance_ci_lower{${MODEL}, metric="auc"}`, '95 % interval, lower', 'B'),
          prom(`vigia_performance_ci_upper{${MODEL}, metric="auc"}`, '95 % interval, upper', 'C'),
        ],
        modelThresholds: ['auc'],
      }),
      withInterval('Recall at the threshold', 'recall', 'recall', 'Share of the real positives the model flags at its decision threshold, realized (95 % Wilson interval) and estimated. Dashed: the model\'s recall threshold.'),
      withInterval('Precision at the threshold', 'precision', 'precision', 'Share of the flagged predictions that are real positives, realized (95 % Wilson interval) and estimated. Dashed: the model\'s precision threshold.'),
      timeseriesPanel({
        title: 'KS separation', unit: 'none',
        description: 'max(TPR - FPR) on the labelled cohort: how far apart the scores of positives and negatives are. Dashed: the model\'s ks_separation threshold (critical).',
        queries: [prom(`vigia_performance_ks_separation{${MODEL}}`, 'KS separation', 'A')],
        modelThresholds: ['ks_separation'],
      }),
      timeseriesPanel({
        title: 'Brier score', unit: 'none',
        description: 'Mean squared error of the probabilities on the labelled cohort (lower is better). Dashed: the model\'s brier_score threshold.',
        queries: [prom(`vigia_performance_brier_score{${MODEL}}`, 'Brier', 'A')],
        modelThresholds: ['brier_score'],
      }),
      timeseriesPanel({
        title: 'Log loss and calibration error', unit: 'none',
        description: 'Log loss and expected calibration error (10 equal-width bins) on the labelled cohort.',
        queries: [prom(`vigia_performance_log_loss{${MODEL}}`, 'log loss', 'A'), prom(`vigia_performance_expected_calibration_error{${MODEL}}`, 'ECE', 'B')],
      }),
      timeseriesPanel({
        title: 'Observed positive rate against mean probability', unit: 'percentunit',
        description: 'Share of positive labels in the cohort against the mean predicted probability of the same rows: apart means miscalibrated.',
        queries: [prom(`vigia_performance_observed_positive_ratio{${MODEL}}`, 'observed', 'A'), prom(`vigia_performance_mean_predicted_probability{${MODEL}}`, 'predicted', 'B')],
      }),
      timeseriesPanel({
        title: 'Cohort', unit: 'short',
        description: 'Matured predictions (old enough for their label delay), labelled ones and positive labels. Dashed: min_labelled.',
        queries: [
          prom(`vigia_performance_cohort_predictions{${MODEL}}`, 'matured', 'A'),
          prom(`vigia_performance_labelled_predictions{${MODEL}}`, 'labelled', 'B'),
          prom(`vigia_performance_positive_labels{${MODEL}}`, 'positive', 'C'),
        ],
        modelThresholds: ['min_labelled'],
      }),
      tablePanel({
        title: 'Reliability bins',
        description: 'For each probability bin of the labelled cohort: the mean predicted probability and the observed share of positives. A calibrated model has them equal.',
        columns: [
          { name: 'predicted', expr: `vigia_performance_calibration_predicted_ratio{${MODEL}}` },
          { name: 'observed', expr: `vigia_performance_calibration_observed_ratio{${MODEL}}` },
        ],
        hide: ['__name__', 'job', 'instance', 'model'],
      }),
      timeseriesPanel({
        title: 'Label delay p50 and p90', unit: 's',
        description: 'Time from a prediction to its label, over the labels accepted in the time range.',
        queries: [
          prom(`histogram_quantile(0.5, sum by (le) (increase(vigia_label_delay_seconds_bucket{${MODEL}}[$__range])))`, 'p50', 'A'),
          prom(`histogram_quantile(0.9, sum by (le) (increase(vigia_label_delay_seconds_bucket{${MODEL}}[$__range])))`, 'p90', 'B'),
        ],
      }),
      timeseriesPanel({
        title: 'Fairness: adverse impact ratio by group', unit: 'none',
        description: 'Favorable-decision rate of each group of each fairness attribute over the drift window, divided by the reference group\'s. Dashed: the model\'s range (the four-fifths screen, 0.8–1.25, by default): a screen that asks a person to look, not a legal test. No line: the group is below the minimum size.',
        queries: [prom(`vigia_group_adverse_impact_ratio{${MODEL}}`, '{{attribute}}={{group}}', 'A')],
        modelThresholds: ['adverse_impact_ratio_min', 'adverse_impact_ratio_max'],
      }),
      timeseriesPanel({
        title: 'Fairness: equal opportunity and equalized odds', unit: 'none',
        description: 'Per attribute, on the labelled matured cohort: max − min true-positive rate over its groups (equal opportunity), and the larger of the TPR and FPR spreads (equalized odds), as fairlearn defines them. Dashed: the model\'s thresholds.',
        queries: [
          prom(`vigia_group_equal_opportunity_difference{${MODEL}}`, '{{attribute}} equal opportunity', 'A'),
          prom(`vigia_group_equalized_odds_difference{${MODEL}}`, '{{attribute}} equalized odds', 'B'),
        ],
        modelThresholds: ['equal_opportunity_difference', 'equalized_odds_difference'],
      }),
      tablePanel({
        title: 'Fairness: groups',
        description: 'Each group of each fairness attribute: predictions in the window, selection rate (decision 1), adverse impact ratio, and true- and false-positive rates on the matured cohort. Empty: below the minimum group size (insufficient data).',
        columns: [
          { name: 'predictions', expr: `vigia_group_window_predictions{${MODEL}}` },
          { name: 'selection rate', expr: `vigia_group_selection_rate{${MODEL}}` },
          { name: 'adverse impact ratio', expr: `vigia_group_adverse_impact_ratio{${MODEL}}` },
          { name: 'TPR', expr: `vigia_group_true_positive_rate{${MODEL}}` },
          { name: 'FPR', expr: `vigia_group_false_positive_rate{${MODEL}}` },
        ],
        hide: ['__name__', 'job', 'instance', 'model'],
      }),
      timeseriesPanel({
        title: 'Performance verdicts', unit: 'none',
        description: 'Verdict of each realized metric by the threshold table: -1 insufficient data, 0 ok, 1 warning, 2 critical.',
        queries: [prom(`vigia_performance_severity{${MODEL}}`, '{{metric}}', 'A')],
        lines: [{ value: 1, color: 'orange' }, { value: 2, color: 'red' }],
      }),
    ],
  });
}
