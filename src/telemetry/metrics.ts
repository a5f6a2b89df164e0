import type { Attributes, Histogram as OtelHistogram } from '@opentelemetry/api';
import { PrometheusExporter, PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { MeterProvider } from '@opentelemetry/sdk-metrics';
import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';
import type { CheckpointPass } from '../store/wal-checkpoint-protocol.js';
import type { Logger } from './logger.js';

/** Latency buckets (seconds): every SLO edge of the design's table is a bucket boundary. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5];
/** Inference is sub-millisecond for tree ensembles; finer buckets at the low end. */
export const INFERENCE_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
export const COMMIT_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

/**
 * Every metric Vigia exports, in one place, registered on an injected registry.
 * The metric table of docs/metrics.md documents this list; label values are bounded (routes from
 * the router, model names and bands from the bundles, reasons from a fixed list).
 */
const FEATURE_LABELS = ['model', 'version', 'feature'] as const;
const MODEL_LABELS = ['model', 'version'] as const;
const PERFORMANCE_LABELS = ['model', 'version', 'source'] as const;
const GROUP_LABELS = ['model', 'version', 'attribute', 'group'] as const;
const ATTRIBUTE_LABELS = ['model', 'version', 'attribute'] as const;
/** Label delays (seconds): 1 h, 6 h, 1, 3, 7, 14, 30, 60, 90, 180 days. */
export const LABEL_DELAY_BUCKETS = [3600, 21600, 86400, 259200, 604800, 1209600, 2592000, 5184000, 7776000, 15552000];

export function createMetrics(registry: Registry) {
  const registers = [registry];
  /** Called before each scrape of vigia_feature_bin_predictions_total: the hot path counts in plain arrays (see reference-bins.ts). */
  const referenceBinFlushers = new Set<() => void>();
  return {
    /** The OpenTelemetry semantic-convention HTTP server metrics, exported on the same /metrics. */
    otel: createOtelHttpMetrics(),
    referenceBinFlushers,
    // Fleet drift in PromQL (docs/drift.md): per frozen reference bin of each feature, the
    // predictions answered and the reference's share; prometheus/rules/fleet.rules.yml sums
    // the counters over replicas into a fleet PSI. Series: 2 × Σ bins over features, per version.
    featureBinPredictions: new Counter({
      name: 'vigia_feature_bin_predictions_total',
      help: 'Predictions answered whose feature value fell in a frozen reference bin (the labels of the baseline: missing, below_min, [a, b), above_max, categories), by model, version, feature and bin; every bin starts at 0.',
      labelNames: ['model', 'version', 'feature', 'bin'] as const,
      registers,
      collect() {
        for (const flush of referenceBinFlushers) flush();
      },
    }),
    featureBinReferenceRatio: new Gauge({
      name: 'vigia_feature_bin_reference_ratio',
      help: 'Share of the reference sample in each frozen bin of a feature (the expected share of vigia_feature_bin_predictions_total), by model, version, feature and bin.',
      labelNames: ['model', 'version', 'feature', 'bin'] as const,
      registers,
    }),
    httpRequestDuration: new Histogram({
      name: 'vigia_http_request_duration_seconds',
      help: 'Time from receiving an HTTP request to finishing its response, by route, method and status code.',
      labelNames: ['route', 'method', 'status'] as const,
      buckets: HTTP_DURATION_BUCKETS,
      registers,
    }),
    httpRequests: new Counter({
      name: 'vigia_http_requests_total',
      help: 'HTTP requests answered, by route and status class (2xx, 4xx, 5xx).',
      labelNames: ['route', 'status_class'] as const,
      registers,
    }),
    predictions: new Counter({
      name: 'vigia_predictions_total',
      help: 'Predictions answered (each row of a batch counts), by model, version and decision band.',
      labelNames: ['model', 'version', 'band'] as const,
      registers,
    }),
    decisions: new Counter({
      name: 'vigia_decisions_total',
      help: 'Predictions answered, by model, version and decision: 0 below the threshold (approved), 1 at or above it (act).',
      labelNames: ['model', 'version', 'decision'] as const,
      registers,
    }),
    highRiskPredictions: new Counter({
      name: 'vigia_high_risk_predictions_total',
      help: 'Predictions with a probability of 0.5 or more (the design table high-risk share), by model and version.',
      labelNames: ['model', 'version'] as const,
      registers,
    }),
    inferenceDuration: new Histogram({
      name: 'vigia_inference_duration_seconds',
      help: 'Time of one ONNX inference call (a whole batch is one call), by model and version.',
      labelNames: ['model', 'version'] as const,
      buckets: INFERENCE_DURATION_BUCKETS,
      registers,
    }),
    explanationDuration: new Histogram({
      name: 'vigia_explanation_duration_seconds',
      help: 'Time of TreeSHAP per explained row (mean over the rows of one request), by model and version.',
      labelNames: ['model', 'version'] as const,
      buckets: INFERENCE_DURATION_BUCKETS,
      registers,
    }),
    rejectedInputs: new Counter({
      name: 'vigia_rejected_inputs_total',
      help: 'Requests rejected before scoring, by model (empty when unknown) and reason.',
      labelNames: ['model', 'reason'] as const,
      registers,
    }),
    unseenCategories: new Counter({
      name: 'vigia_unseen_categories_total',
      help: 'Category codes not seen in training, scored as unseen, by model, version and feature.',
      labelNames: ['model', 'version', 'feature'] as const,
      registers,
    }),
    modelInfo: new Gauge({
      name: 'vigia_model_info',
      help: 'Always 1 for each loaded model; labels carry its version, input width and decision threshold.',
      labelNames: ['model', 'version', 'features', 'threshold', 'default'] as const,
      registers,
    }),
    modelLoadFailures: new Counter({
      name: 'vigia_model_load_failures_total',
      help: 'Model bundles that failed to load, at start or on a live load (the service keeps serving the others).',
      registers,
    }),
    // Model lifecycle (issue 11): every version's state and role, and the shadow's agreement with stable.
    modelVersionState: new Gauge({ name: 'vigia_model_version_state', help: 'State of a model version: 1 for its current state (loading, ready, failed, unloaded), 0 for the others.', labelNames: ['model', 'version', 'state'] as const, registers }),
    modelVersionRole: new Gauge({ name: 'vigia_model_version_role', help: 'Role of a ready model version: 1 for its role (stable, previous, canary, shadow, none), 0 for the others.', labelNames: ['model', 'version', 'role'] as const, registers }),
    canaryPercent: new Gauge({ name: 'vigia_model_canary_percent', help: 'Share of the model traffic, in percent, answered by the canary version (0 when none).', labelNames: MODEL_LABELS, registers }),
    modelLoadDuration: new Gauge({ name: 'vigia_model_load_duration_seconds', help: 'Time to load a model version: session, parity check and baseline.', labelNames: MODEL_LABELS, registers }),
    shadowDecisions: new Counter({ name: 'vigia_shadow_decisions_total', help: 'Rows scored by a shadow version after the answer, by whether its decision agreed with the answered one (agree, disagree).', labelNames: ['model', 'version', 'agreement'] as const, registers }),
    shadowAgreement: new Gauge({ name: 'vigia_shadow_decision_agreement_ratio', help: 'Share of shadow-scored rows whose decision equals the answered (stable or canary) decision, since the shadow started.', labelNames: MODEL_LABELS, registers }),
    shadowScorePsi: new Gauge({ name: 'vigia_shadow_score_psi', help: 'PSI between the answered probabilities and the shadow version probabilities of the same rows (10 equal-width bins), since the shadow started.', labelNames: MODEL_LABELS, registers }),
    shadowInferenceDuration: new Histogram({ name: 'vigia_shadow_inference_duration_seconds', help: 'Time of one shadow inference call (after the answer was sent), by shadow model and version.', labelNames: MODEL_LABELS, buckets: INFERENCE_DURATION_BUCKETS, registers }),
    shadowFailures: new Counter({ name: 'vigia_shadow_failures_total', help: 'Shadow scorings that failed or were dropped (the answer was not affected).', labelNames: MODEL_LABELS, registers }),
    adminActions: new Counter({ name: 'vigia_admin_actions_total', help: 'Admin API calls, by action (load, promote, rollback, canary, shadow, unload) and outcome (ok, refused, failed, unauthorized).', labelNames: ['action', 'outcome'] as const, registers }),
    auditCommitDuration: new Histogram({
      name: 'vigia_audit_commit_duration_seconds',
      help: 'Time of one audit-log group commit (one SQLite transaction).',
      buckets: COMMIT_DURATION_BUCKETS,
      registers,
    }),
    auditRows: new Counter({
      name: 'vigia_audit_rows_total',
      help: 'Prediction rows committed to the audit log.',
      registers,
    }),
    fleetEvaluator: new Gauge({
      name: 'vigia_fleet_evaluator',
      help: 'Whether this replica evaluates drift and performance: 1 for the elected evaluator of a fleet (or a process on SQLite), 0 for the other replicas; the value of vigia_fleet_evaluator_term says its term.',
      registers,
    }),
    fleetEvaluatorTerm: new Gauge({ name: 'vigia_fleet_evaluator_term', help: 'The leadership term this replica evaluates under (0 when it does not; a process on SQLite has none).', registers }),
    attributionShare: new Gauge({ name: 'vigia_attribution_share', help: 'A feature\'s share of the mean absolute SHAP value (0-1), on the window sample or the reference sample (tree models).', labelNames: [...FEATURE_LABELS, 'sample'] as const, registers }),
    attributionShift: new Gauge({ name: 'vigia_attribution_shift', help: 'Total variation distance between the window\'s and the reference\'s attribution shares, 0-1 (NaN below the minimum window; tree models).', labelNames: ['model', 'version'] as const, registers }),
    attributionRowsExplained: new Gauge({ name: 'vigia_attribution_rows_explained', help: 'Window rows the attribution shares were taken over at the last evaluation (a sample of the window, at most 2,000).', labelNames: ['model', 'version'] as const, registers }),
    featurePsi: new Gauge({ name: 'vigia_feature_psi', help: 'PSI of a feature over the drift window against its frozen reference bins (NaN below the minimum window).', labelNames: FEATURE_LABELS, registers }),
    featureKsStatistic: new Gauge({ name: 'vigia_feature_ks_statistic', help: 'Two-sample KS statistic D of a numeric feature, window against reference.', labelNames: FEATURE_LABELS, registers }),
    featureKsPValue: new Gauge({ name: 'vigia_feature_ks_pvalue', help: 'KS p-value of a numeric feature (scipy ks_2samp, method auto); judged only when D reaches the effect-size guard.', labelNames: FEATURE_LABELS, registers }),
    featureChi2PValue: new Gauge({ name: 'vigia_feature_chi2_pvalue', help: 'Chi-square goodness-of-fit p-value of a categorical feature against the reference mix.', labelNames: FEATURE_LABELS, registers }),
    featureKsPValueAdjusted: new Gauge({ name: 'vigia_feature_ks_pvalue_adjusted', help: 'KS p-value of a numeric feature after the multiple-testing correction across the model\'s features (VIGIA_PVALUE_CORRECTION); the verdict and the alerts use it.', labelNames: FEATURE_LABELS, registers }),
    featureChi2PValueAdjusted: new Gauge({ name: 'vigia_feature_chi2_pvalue_adjusted', help: 'Chi-square p-value of a categorical feature after the multiple-testing correction across the model\'s features; the verdict and the alerts use it.', labelNames: FEATURE_LABELS, registers }),
    featurePsiPValueAdjusted: new Gauge({ name: 'vigia_feature_psi_pvalue_adjusted', help: 'Chance of a PSI this high from sampling noise alone for the window size (chi-square approximation), after the multiple-testing correction: a PSI at a threshold counts only when this is below the feature_psi_pvalue threshold.', labelNames: FEATURE_LABELS, registers }),
    featureSeverity: new Gauge({ name: 'vigia_feature_drift_severity', help: 'Drift verdict of a feature: -1 insufficient data or error, 0 ok, 1 warning, 2 critical.', labelNames: FEATURE_LABELS, registers }),
    featureWindowSize: new Gauge({ name: 'vigia_feature_window_size', help: 'Rows of the drift window the feature statistics were computed on.', labelNames: FEATURE_LABELS, registers }),
    featureMissingRatio: new Gauge({ name: 'vigia_feature_missing_ratio', help: 'Share of window rows where the feature is missing (null).', labelNames: FEATURE_LABELS, registers }),
    featureOutOfRangeRatio: new Gauge({ name: 'vigia_feature_out_of_range_ratio', help: 'Share of window rows where a numeric feature is below the reference minimum or above its maximum.', labelNames: FEATURE_LABELS, registers }),
    featureUnseenRatio: new Gauge({ name: 'vigia_feature_unseen_ratio', help: 'Share of window rows where a categorical feature holds a category never seen in the reference.', labelNames: FEATURE_LABELS, registers }),
    scorePsi: new Gauge({ name: 'vigia_score_psi', help: 'PSI of the predicted probabilities (CSI) over the drift window against the reference scores.', labelNames: MODEL_LABELS, registers }),
    scorePsiPValueAdjusted: new Gauge({ name: 'vigia_score_psi_pvalue_adjusted', help: 'Chance of a score PSI this high from sampling noise alone, after the multiple-testing correction with the features\' p-values.', labelNames: MODEL_LABELS, registers }),
    meanProbability: new Gauge({ name: 'vigia_mean_probability', help: 'Mean predicted probability over the drift window.', labelNames: MODEL_LABELS, registers }),
    baselineMeanProbability: new Gauge({ name: 'vigia_baseline_mean_probability', help: 'Mean predicted probability on the reference sample.', labelNames: MODEL_LABELS, registers }),
    meanProbabilityChange: new Gauge({ name: 'vigia_mean_probability_change_ratio', help: 'Relative change of the mean probability against the baseline: (window - baseline) / baseline.', labelNames: MODEL_LABELS, registers }),
    positiveRatio: new Gauge({ name: 'vigia_positive_decision_ratio', help: 'Share of window predictions at or above the decision threshold.', labelNames: MODEL_LABELS, registers }),
    bandRatio: new Gauge({ name: 'vigia_band_ratio', help: 'Share of window predictions in each decision band.', labelNames: ['model', 'version', 'band'] as const, registers }),
    driftWindowSize: new Gauge({ name: 'vigia_drift_window_size', help: 'Predictions in the drift window at the last evaluation.', labelNames: MODEL_LABELS, registers }),
    driftStatus: new Gauge({ name: 'vigia_drift_status', help: 'Overall drift status by the seed rule: -1 NO_VERDICT (fewer than min_window predictions), 0 HEALTHY, 1 ATTENTION, 2 CRITICAL.', labelNames: MODEL_LABELS, registers }),
    driftedFeaturesRatio: new Gauge({ name: 'vigia_drifted_features_ratio', help: 'Share of monitored features judged warning or critical (the dataset verdict).', labelNames: MODEL_LABELS, registers }),
    driftEvaluationDuration: new Gauge({ name: 'vigia_drift_evaluation_duration_seconds', help: 'Duration of the last drift evaluation (window read and statistics, off the event loop).', labelNames: MODEL_LABELS, registers }),
    driftLastEvaluation: new Gauge({ name: 'vigia_drift_last_evaluation_timestamp_seconds', help: 'Unix time of the last successful drift evaluation.', labelNames: MODEL_LABELS, registers }),
    driftEvaluationFailures: new Counter({ name: 'vigia_drift_evaluation_failures_total', help: 'Drift evaluations that failed (the service keeps serving).', labelNames: MODEL_LABELS, registers }),
    labels: new Counter({ name: 'vigia_labels_received_total', help: 'Labels received on POST /v1/labels, by outcome: accepted, duplicate (same label again), conflicting (the other label: not stored), unknown (no such prediction).', labelNames: ['outcome'] as const, registers }),
    // Performance on the matured cohort (realized) and on the drift window (estimated, CBPE).
    // `source` is realized | estimated; metrics with no estimate carry source="realized" only.
    performanceCohortPredictions: new Gauge({ name: 'vigia_performance_cohort_predictions', help: 'Matured predictions in the performance window: old enough that their label delay has passed.', labelNames: MODEL_LABELS, registers }),
    performanceLabelledPredictions: new Gauge({ name: 'vigia_performance_labelled_predictions', help: 'Matured predictions with a label: the sample size of the realized metrics.', labelNames: MODEL_LABELS, registers }),
    performancePositiveLabels: new Gauge({ name: 'vigia_performance_positive_labels', help: 'Positive labels (1) among the labelled matured predictions.', labelNames: MODEL_LABELS, registers }),
    labelCoverage: new Gauge({ name: 'vigia_label_coverage_ratio', help: 'Labelled matured predictions over matured predictions (0-1).', labelNames: MODEL_LABELS, registers }),
    labelDelay: new Histogram({ name: 'vigia_label_delay_seconds', help: 'Time from a prediction to its label time, observed when the label is accepted.', labelNames: MODEL_LABELS, buckets: LABEL_DELAY_BUCKETS, registers }),
    performanceAuc: new Gauge({ name: 'vigia_performance_auc', help: 'ROC AUC: realized on the labelled matured cohort, or estimated (CBPE) on the drift window before labels arrive.', labelNames: PERFORMANCE_LABELS, registers }),
    performancePrecision: new Gauge({ name: 'vigia_performance_precision', help: 'Precision at the model threshold, realized or estimated.', labelNames: PERFORMANCE_LABELS, registers }),
    performanceRecall: new Gauge({ name: 'vigia_performance_recall', help: 'Recall at the model threshold, realized or estimated.', labelNames: PERFORMANCE_LABELS, registers }),
    performanceF1: new Gauge({ name: 'vigia_performance_f1', help: 'F1 at the model threshold, realized or estimated.', labelNames: PERFORMANCE_LABELS, registers }),
    performanceKsSeparation: new Gauge({ name: 'vigia_performance_ks_separation', help: 'KS separation, max(TPR - FPR), on the labelled matured cohort.', labelNames: PERFORMANCE_LABELS, registers }),
    performanceBrier: new Gauge({ name: 'vigia_performance_brier_score', help: 'Brier score (mean squared error of the probability) on the labelled matured cohort.', labelNames: PERFORMANCE_LABELS, registers }),
    performanceLogLoss: new Gauge({ name: 'vigia_performance_log_loss', help: 'Log loss on the labelled matured cohort.', labelNames: PERFORMANCE_LABELS, registers }),
    performanceEce: new Gauge({ name: 'vigia_performance_expected_calibration_error', help: 'Expected calibration error over 10 equal-width bins on the labelled matured cohort.', labelNames: PERFORMANCE_LABELS, registers }),
    performanceCost: new Gauge({ name: 'vigia_performance_expected_cost_per_1000', help: 'Business cost per 1,000 decisions from the false-negative and false-positive costs of the model, realized or estimated.', labelNames: PERFORMANCE_LABELS, registers }),
    performanceCiLower: new Gauge({ name: 'vigia_performance_ci_lower', help: 'Lower end of the 95 % confidence interval of a realized metric (auc: DeLong; precision, recall: Wilson).', labelNames: ['model', 'version', 'metric'] as const, registers }),
    performanceCiUpper: new Gauge({ name: 'vigia_performance_ci_upper', help: 'Upper end of the 95 % confidence interval of a realized metric (auc: DeLong; precision, recall: Wilson).', labelNames: ['model', 'version', 'metric'] as const, registers }),
    calibrationObserved: new Gauge({ name: 'vigia_performance_calibration_observed_ratio', help: 'Reliability bin: share of positives among the labelled matured predictions whose probability falls in the bin.', labelNames: ['model', 'version', 'bin'] as const, registers }),
    calibrationPredicted: new Gauge({ name: 'vigia_performance_calibration_predicted_ratio', help: 'Reliability bin: mean predicted probability of the labelled matured predictions in the bin.', labelNames: ['model', 'version', 'bin'] as const, registers }),
    performanceObservedPositive: new Gauge({ name: 'vigia_performance_observed_positive_ratio', help: 'Share of positive labels in the labelled matured cohort.', labelNames: MODEL_LABELS, registers }),
    performanceMeanPredicted: new Gauge({ name: 'vigia_performance_mean_predicted_probability', help: 'Mean predicted probability of the labelled matured cohort (compare with the observed positive ratio).', labelNames: MODEL_LABELS, registers }),
    performanceSeverity: new Gauge({ name: 'vigia_performance_severity', help: 'Performance verdict of a realized metric by the threshold table: -1 insufficient data, 0 ok, 1 warning, 2 critical.', labelNames: ['model', 'version', 'metric'] as const, registers }),
    performanceLastEvaluation: new Gauge({ name: 'vigia_performance_last_evaluation_timestamp_seconds', help: 'Unix time of the last successful performance evaluation.', labelNames: MODEL_LABELS, registers }),
    // Fairness by group: attribute names and group labels come from the manifest (bounded:
    // at most 32 groups per attribute), never from the caller. NaN below the minimum group size.
    groupSize: new Gauge({ name: 'vigia_group_window_predictions', help: 'Predictions of the drift window in a group of a fairness attribute: the sample size of its selection rate.', labelNames: GROUP_LABELS, registers }),
    groupSelectionRate: new Gauge({ name: 'vigia_group_selection_rate', help: 'Share of a group\'s predictions of the window with decision 1 (fairlearn selection_rate); NaN below the minimum group size.', labelNames: GROUP_LABELS, registers }),
    groupAdverseImpactRatio: new Gauge({ name: 'vigia_group_adverse_impact_ratio', help: 'Selection rate of a group over that of the attribute\'s reference group (Aequitas pprev_disparity); the four-fifths screen flags it outside 0.8-1.25. NaN below the minimum group size.', labelNames: GROUP_LABELS, registers }),
    groupTruePositiveRate: new Gauge({ name: 'vigia_group_true_positive_rate', help: 'True-positive rate of a group on the labelled matured cohort (fairlearn true_positive_rate); NaN below the minimum positives.', labelNames: GROUP_LABELS, registers }),
    groupFalsePositiveRate: new Gauge({ name: 'vigia_group_false_positive_rate', help: 'False-positive rate of a group on the labelled matured cohort (fairlearn false_positive_rate); NaN below the minimum negatives.', labelNames: GROUP_LABELS, registers }),
    equalOpportunityDifference: new Gauge({ name: 'vigia_group_equal_opportunity_difference', help: 'Max minus min true-positive rate over the groups of an attribute with enough positives (fairlearn equal_opportunity_difference).', labelNames: ATTRIBUTE_LABELS, registers }),
    equalizedOddsDifference: new Gauge({ name: 'vigia_group_equalized_odds_difference', help: 'The larger of the between-groups TPR and FPR differences of an attribute (fairlearn equalized_odds_difference).', labelNames: ATTRIBUTE_LABELS, registers }),
    // The threshold table of each model (defaults with the manifest's overrides), so alert
    // rules join it instead of hard-coding numbers.
    threshold: new Gauge({ name: 'vigia_threshold', help: 'A threshold of the model, by signal and severity: the design table with the bundle overrides; alert rules compare against it.', labelNames: ['model', 'version', 'signal', 'severity'] as const, registers }),
    auditLogWritable: new Gauge({
      name: 'vigia_audit_log_writable',
      help: '1 while audit-log commits succeed; 0 after a failed commit (disk full, I/O error) until a commit or a probe write succeeds. At 0, predictions answer 503.',
      registers,
    }),
    auditDiskFreeBytes: new Gauge({
      name: 'vigia_audit_disk_free_bytes',
      help: 'Bytes available to Vigia on the filesystem of the audit-log database, sampled every few seconds.',
      registers,
    }),
    auditDiskMinFreeBytes: new Gauge({
      name: 'vigia_audit_disk_min_free_bytes',
      help: 'VIGIA_DISK_MIN_FREE: below this free space /readyz answers 503 and VigiaAuditDiskLow fires.',
      registers,
    }),
    auditArchivedRows: new Counter({
      name: 'vigia_audit_archived_rows_total',
      help: 'Audit-log rows past retention archived (with their labels) then removed from the database.',
      registers,
    }),
    auditWalPendingPages: new Gauge({
      name: 'vigia_audit_wal_pending_pages',
      help: 'SQLite: pages of the write-ahead log not yet copied into the database file after the last checkpoint pass (every second, on its own thread). Near 0 normally; the audit-log writer checkpoints inline, on the request path, from 10,000.',
      registers,
    }),
    auditWalCheckpointFailures: new Counter({
      name: 'vigia_audit_wal_checkpoint_failures_total',
      help: 'SQLite: checkpoint passes that failed. Nothing is lost (the write-ahead log keeps the pages); the log grows until a pass succeeds or the writer checkpoints inline.',
      registers,
    }),
    auditRetentionFailures: new Counter({
      name: 'vigia_audit_retention_failures_total',
      help: 'Retention passes that failed (archive not written, or rows not removed); nothing is removed before its archive is on disk.',
      registers,
    }),
    // Predictions made elsewhere: the ingest API (channel="api") and KServe's payload logger
    // (channel="kserve"). A row is received, then committed, a duplicate or rejected.
    ingestReceived: new Counter({ name: 'vigia_ingest_received_total', help: 'Observations received by the ingest, by model and channel: rows of POST .../observations (api), CloudEvent halves (kserve).', labelNames: ['model', 'channel'] as const, registers }),
    ingestCommitted: new Counter({ name: 'vigia_ingest_committed_total', help: 'Observation rows newly committed to the audit log, by model and channel (a KServe pair commits its rows when its second half arrives).', labelNames: ['model', 'channel'] as const, registers }),
    ingestDuplicates: new Counter({ name: 'vigia_ingest_duplicates_total', help: 'Observations already committed by an earlier try (same prediction_id, or the same CloudEvent half again): answered as before, not logged twice.', labelNames: ['model', 'channel'] as const, registers }),
    ingestRejected: new Counter({ name: 'vigia_ingest_rejected_total', help: 'Observations not committed, by model, channel and reason: invalid (4xx), conflict (an id of another model), mismatch (a pair whose row counts differ), overloaded (503: the queue was full), unavailable (503: the audit log failed).', labelNames: ['model', 'channel', 'reason'] as const, registers }),
    ingestUnpaired: new Counter({ name: 'vigia_ingest_unpaired_total', help: 'KServe CloudEvent halves whose partner had not arrived within VIGIA_INGEST_PAIR_TIMEOUT; kept in the cloudevents table, and paired if it still comes.', registers }),
    ingestWaitingHalves: new Gauge({ name: 'vigia_ingest_waiting_halves', help: 'KServe CloudEvent halves committed and waiting for their partner, at the last expiry sweep.', registers }),
    ingestQueueRows: new Gauge({ name: 'vigia_ingest_queue_rows', help: 'Ingested rows admitted and not yet committed (bounded by VIGIA_INGEST_QUEUE_ROWS).', registers }),
    auditCommitFailures: new Counter({
      name: 'vigia_audit_commit_failures_total',
      help: 'Audit-log group commits that failed; their predictions were answered 503, not scored as done.',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** The bucket boundaries the HTTP semantic conventions advise for http.server.request.duration (s). */
export const OTEL_HTTP_DURATION_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.25, 0.5, 0.75, 1, 2.5, 5, 7.5, 10];
/** The methods the conventions name; any other is recorded as `_OTHER`, so the label stays bounded. */
const KNOWN_METHODS = new Set(['CONNECT', 'DELETE', 'GET', 'HEAD', 'OPTIONS', 'PATCH', 'POST', 'PUT', 'TRACE']);

/**
 * OpenTelemetry's `http.server.request.duration` (unit s, with `http.request.method`,
 * `http.route`, `http.response.status_code`, `url.scheme`, `network.protocol.version`, and
 * `error.type` on a 5xx; `network.protocol.name` is left out, as the conventions allow for
 * http), recorded through the OTel SDK on its own
 * MeterProvider. Its PrometheusExporter starts no server: `exposition()` collects and
 * serializes it, and `GET /metrics` appends that to prom-client's text, so one scrape has
 * both (as `http_server_request_duration_seconds`). It lives here, beside the prom-client
 * metrics, so this file stays the one place that creates metrics.
 */
function createOtelHttpMetrics() {
  const exporter = new PrometheusExporter({ preventServerStart: true });
  const provider = new MeterProvider({ readers: [exporter] });
  const duration: OtelHistogram = provider.getMeter('vigia').createHistogram('http.server.request.duration', {
    unit: 's',
    description: 'Duration of HTTP server requests.',
    advice: { explicitBucketBoundaries: OTEL_HTTP_DURATION_BUCKETS },
  });
  // Target identity comes from Prometheus (job, instance); the SDK's default resource would say unknown_service.
  const serializer = new PrometheusSerializer(undefined, false, undefined, true);
  // One attribute object per (route, method, status), built once: the hot path only looks it up.
  const attributes = new Map<string, Attributes>();
  const attributesOf = (route: string, method: string, status: number): Attributes => {
    const key = `${route} ${method} ${status}`;
    let attrs = attributes.get(key);
    if (attrs === undefined) {
      attrs = {
        'http.request.method': KNOWN_METHODS.has(method) ? method : '_OTHER',
        'http.route': route,
        'http.response.status_code': status,
        'url.scheme': 'http',
        'network.protocol.version': '1.1',
        ...(status >= 500 ? { 'error.type': String(status) } : {}),
      };
      attributes.set(key, attrs);
    }
    return attrs;
  };
  return {
    /** Records one finished request (seconds from arrival to the end of the response). */
    recordRequest: (route: string, method: string, status: number, seconds: number): void => duration.record(seconds, attributesOf(route, method, status)),
    /** The OTel metrics in the Prometheus text format, for `GET /metrics`. */
    exposition: async (): Promise<string> => serializer.serialize((await exporter.collect()).resourceMetrics),
    close: (): Promise<void> => provider.shutdown(),
  };
}

/** Records one audit-log commit: rows committed, its duration, whether a group failed. */
export function auditCommitRecorder(metrics: Metrics): (rows: number, seconds: number, failed: boolean) => void {
  return (rows, seconds, failed) => {
    metrics.auditCommitDuration.observe(seconds);
    if (failed) metrics.auditCommitFailures.inc();
    metrics.auditRows.inc(rows);
  };
}

/**
 * Records each WAL checkpoint pass, and logs a failure once when passes start failing and
 * once when they succeed again (a pass runs every second: a line per pass would flood).
 */
export function checkpointRecorder(metrics: Metrics, log: Logger): (pass: CheckpointPass) => void {
  let failing = false;
  return (pass) => {
    if (pass.ok) {
      metrics.auditWalPendingPages.set(pass.pending);
      if (failing) log.info('the WAL checkpoints succeed again');
      failing = false;
      return;
    }
    metrics.auditWalCheckpointFailures.inc();
    if (!failing) log.warn('a WAL checkpoint failed: the write-ahead log grows until one succeeds (nothing is lost)', { error: pass.error });
    failing = true;
  };
}

/**
 * prom-client's default metrics that break Prometheus naming (gauges ending in `_total`,
 * which `promtool check metrics` rejects); their per-type twins without the suffix stay.
 */
const MISNAMED_DEFAULT_METRICS = ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total'];

/** Node's default process metrics (process_*, nodejs_*), unprefixed as every exporter has them. */
export function collectProcessMetrics(registry: Registry): void {
  collectDefaultMetrics({ register: registry });
  for (const name of MISNAMED_DEFAULT_METRICS) registry.removeSingleMetric(name);
}
