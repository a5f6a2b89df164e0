import { Counter, Gauge, Histogram, collectDefaultMetrics, type Registry } from 'prom-client';

/** Latency buckets (seconds): every SLO edge of the design's table is a bucket boundary. */
export const HTTP_DURATION_BUCKETS = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.15, 0.2, 0.3, 0.5, 1, 2.5, 5];
/** Inference is sub-millisecond for tree ensembles; finer buckets at the low end. */
export const INFERENCE_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1];
export const COMMIT_DURATION_BUCKETS = [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5, 1];

/**
 * Every metric Vigia exports, in one place, registered on an injected registry.
 * The README's metric table documents this list; label values are bounded (routes from
 * the router, model names and bands from the bundles, reasons from a fixed list).
 */
export function createMetrics(registry: Registry) {
  const registers = [registry];
  return {
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
    inferenceDuration: new Histogram({
      name: 'vigia_inference_duration_seconds',
      help: 'Time of one ONNX inference call (a whole batch is one call), by model and version.',
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
      help: 'Model bundles that failed to load.',
      registers,
    }),
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
    auditCommitFailures: new Counter({
      name: 'vigia_audit_commit_failures_total',
      help: 'Audit-log group commits that failed; their predictions were answered 503, not scored as done.',
      registers,
    }),
  };
}

export type Metrics = ReturnType<typeof createMetrics>;

/** Records one audit-log commit: rows committed, its duration, whether a group failed. */
export function auditCommitRecorder(metrics: Metrics): (rows: number, seconds: number, failed: boolean) => void {
  return (rows, seconds, failed) => {
    metrics.auditCommitDuration.observe(seconds);
    if (failed) metrics.auditCommitFailures.inc();
    metrics.auditRows.inc(rows);
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
