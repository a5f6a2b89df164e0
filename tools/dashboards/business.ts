// Vigia / Business: what the decisions add up to.
import type * as dashboard from '@grafana/grafana-foundation-sdk/dashboard';
import { MODEL, prom, statPanel, timeseriesPanel, vigiaDashboard } from './panels.js';

export function businessDashboard(): dashboard.Dashboard {
  return vigiaDashboard({
    uid: 'vigia-business',
    title: 'Vigia / Business',
    description: 'What is the model deciding? Decisions by band, approval rate, high-risk share and mean score against the model\'s expected ranges.',
    panels: [
      statPanel({
        title: 'Predictions in the last 24 hours', unit: 'short',
        description: 'Predictions the model scored over one day, every replica summed. VigiaLowPredictionVolume warns below 500; the design expects more than 1,000.',
        query: prom(`sum(increase(vigia_predictions_total{${MODEL}}[1d]))`, 'predictions', 'A'),
        steps: [{ value: null, color: 'red' }, { value: 500, color: 'orange' }, { value: 1000, color: 'green' }],
      }),
      statPanel({
        title: 'Approval rate, last hour', unit: 'percentunit',
        description: 'Share of decisions below the model\'s threshold. Colours at the design range 25 % to 55 %.',
        query: prom(`model:vigia_decisions_approved:ratio_rate1h{${MODEL}}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'orange' }, { value: 0.25, color: 'green' }, { value: 0.55, color: 'orange' }],
      }),
      statPanel({
        title: 'High-risk share, last hour', unit: 'percentunit',
        description: 'Share of predictions with a probability of 0.5 or more. Colours at the design range 15 % to 30 %.',
        query: prom(`model:vigia_high_risk_predictions:ratio_rate1h{${MODEL}}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'orange' }, { value: 0.15, color: 'green' }, { value: 0.3, color: 'orange' }],
      }),
      statPanel({
        title: 'Mean score of the window', unit: 'none',
        description: 'Mean predicted probability of the drift window. Colours at the design range 0.15 to 0.35.',
        query: prom(`vigia_mean_probability{${MODEL}}`, '{{version}}', 'A'),
        steps: [{ value: null, color: 'orange' }, { value: 0.15, color: 'green' }, { value: 0.35, color: 'orange' }],
      }),
      timeseriesPanel({
        title: 'Predictions by band', unit: 'reqps', stacked: true,
        description: 'Predictions per second in each decision band (critical: account manager, moderate: digital offer, low: none), every replica summed.',
        queries: [prom(`model_band:vigia_predictions:rate5m{${MODEL}}`, '{{band}}', 'A')],
      }),
      timeseriesPanel({
        title: 'Decisions: approved and acted on', unit: 'reqps', stacked: true,
        description: 'Decisions per second: 0 below the threshold (approved), 1 at or above it (act).',
        queries: [prom(`sum by (decision) (rate(vigia_decisions_total{${MODEL}}[$__rate_interval]))`, 'decision {{decision}}', 'A')],
      }),
      timeseriesPanel({
        title: 'Approval rate', unit: 'percentunit',
        description: 'Share of the last hour\'s decisions that were approvals. Dashed: the model\'s approval_rate_min and _max, outside which VigiaApprovalRateLow / High warn.',
        queries: [prom(`model:vigia_decisions_approved:ratio_rate1h{${MODEL}}`, 'approval rate', 'A')],
        modelThresholds: ['approval_rate_min', 'approval_rate_max'],
      }),
      timeseriesPanel({
        title: 'High-risk share', unit: 'percentunit',
        description: 'Share of the last hour\'s predictions with a probability of 0.5 or more. Dashed: the model\'s high_risk_share_min and _max.',
        queries: [prom(`model:vigia_high_risk_predictions:ratio_rate1h{${MODEL}}`, 'high-risk share', 'A')],
        modelThresholds: ['high_risk_share_min', 'high_risk_share_max'],
      }),
      timeseriesPanel({
        title: 'Mean score', unit: 'none',
        description: 'Mean predicted probability of the drift window. Dashed: the model\'s mean_score_min and _max.',
        queries: [prom(`vigia_mean_probability{${MODEL}}`, 'mean score', 'A')],
        modelThresholds: ['mean_score_min', 'mean_score_max'],
      }),
      timeseriesPanel({
        title: 'Expected cost per 1,000 decisions', unit: 'short',
        description: 'Business cost of the errors per 1,000 decisions, from the model\'s false-negative and false-positive costs: realized on the labelled cohort, estimated on the window.',
        queries: [prom(`vigia_performance_expected_cost_per_1000{${MODEL}}`, '{{source}}', 'A')],
      }),
    ],
  });
}
