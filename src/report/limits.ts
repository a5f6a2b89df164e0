import { DEFAULT_DRIFT_THRESHOLDS, driftThresholds, type DriftThresholds } from '../drift/severity.js';
import type { ModelReport } from './model-report.js';
import { DEFAULT_PERFORMANCE_THRESHOLDS, performanceThresholds, type PerformanceThresholds } from '../performance/thresholds.js';

/**
 * The limits a report is read against: the model's drift and performance thresholds, its
 * decision threshold and bands, and the design's service limits (latency, error ratios).
 */
export interface ReportLimits {
  readonly drift: DriftThresholds;
  readonly performance: PerformanceThresholds;
  readonly decisionThreshold: number;
  /** Highest first, as in the manifest. */
  readonly bands: readonly { readonly name: string; readonly minProbability: number; readonly action: string }[];
}

/**
 * The service-wide limits, one set for everyone: the edges at which the alerts of
 * prometheus/rules/service.rules.yml fire (test/stack/rules.test.ts holds the rules to these
 * numbers), which the status page, the weekly report and the Service health dashboard show.
 * Latency in ms over the predict routes; error ratios 0–1 of API requests.
 */
export const SERVICE_LIMITS = {
  latencyWarningMs: { p50: 150, p95: 200 },
  latencyCriticalMs: { p95: 300, p99: 1000 },
  ratio4xx: { warning: 0.05 },
  ratio5xx: { critical: 0.01 },
  errorRatio: { critical: 0.05 },
} as const;

/** A report as `GET /v1/models/{model}/report` serves it; `performance` is absent from services that predate it. */
export type ServedReport = Omit<ModelReport, 'performance' | 'drift_summary' | 'thresholds'> & {
  readonly thresholds?: ModelReport['thresholds'];
  readonly performance?: ModelReport['performance'];
  readonly drift_summary?: ModelReport['drift_summary'];
  readonly operational: ModelReport['operational'] & {
    readonly since_start?: { readonly requests: number; readonly ratio_4xx: number | null; readonly ratio_5xx: number | null };
  };
};

/**
 * The limits of a model as `GET /v1/models` describes it, with the thresholds its report was
 * judged against when the report carries them (service-wide settings such as
 * VIGIA_MIN_WINDOW included); otherwise the design defaults with the bundle's overrides.
 */
export function limitsFromDescription(model: {
  readonly threshold: number;
  readonly bands: readonly { readonly name: string; readonly min_probability: number; readonly action: string }[];
  readonly thresholds?: Readonly<Record<string, unknown>>;
}, report?: ServedReport): ReportLimits {
  const overrides = model.thresholds ?? {};
  return {
    drift: report?.thresholds?.drift ?? driftThresholds(overrides, DEFAULT_DRIFT_THRESHOLDS),
    performance: report?.thresholds?.performance ?? performanceThresholds(overrides, DEFAULT_PERFORMANCE_THRESHOLDS),
    decisionThreshold: model.threshold,
    bands: model.bands.map((b) => ({ name: b.name, minProbability: b.min_probability, action: b.action })),
  };
}
