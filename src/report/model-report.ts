import { statusOf, type DriftEvaluation } from '../drift/evaluate.js';
import type { DriftReport, ModelDriftContext } from '../drift/report.js';
import type { DriftThresholds } from '../drift/severity.js';
import type { PerformanceContext, PerformanceReport } from '../performance/report.js';
import type { PerformanceThresholds } from '../performance/thresholds.js';
import type { FairnessSpec } from '../fairness/groups.js';
import type { FairnessThresholds } from '../fairness/metrics.js';
import type { FairnessReport } from '../fairness/report.js';

/** What the evaluation of one model version needs: its drift context and, when it has one, its performance context. */
export interface ModelContext extends ModelDriftContext {
  readonly performance?: PerformanceContext;
  /** The group attributes and thresholds of fairness, when the manifest names attributes. */
  readonly fairness?: { readonly spec: FairnessSpec; readonly thresholds: FairnessThresholds };
}

/**
 * The report of one model version (`GET /v1/models/{model}/report`): the drift report, its
 * performance section, and a summary over both by the seed's rule (any critical →
 * CRITICAL, more than three warnings → ATTENTION). `drift_summary` keeps the drift verdicts
 * alone, as `vigia_drift_status` exports them.
 */
export interface ModelReport extends DriftReport {
  readonly performance: PerformanceReport | null;
  /** Why the performance section is missing, when its evaluation failed (drift is unaffected). */
  readonly performance_error?: string;
  readonly drift_summary: DriftEvaluation['summary'];
  /** The thresholds the verdicts were judged against (service defaults, service config and bundle overrides). */
  readonly thresholds: { readonly drift: DriftThresholds; readonly performance: PerformanceThresholds | null };
  /** Fairness by group (selection rates over the window, TPR/FPR on the matured cohort), when the manifest names attributes. */
  readonly fairness?: FairnessReport;
  readonly fairness_error?: string;
}

/** Joins a drift report and its performance section. Pure. */
export function buildModelReport(drift: DriftReport, performance: PerformanceReport | null, thresholds: ModelReport['thresholds'], performanceError?: string): ModelReport {
  const critical = [...drift.summary.critical, ...(performance?.critical ?? []).map((r) => `performance: ${r}`)];
  const warnings = [...drift.summary.warnings, ...(performance?.warnings ?? []).map((r) => `performance: ${r}`)];
  return {
    ...drift,
    summary: { critical, warnings, status: statusOf(critical.length, warnings.length, drift.summary.status !== 'NO_VERDICT') },
    drift_summary: drift.summary,
    performance,
    thresholds,
    ...(performanceError === undefined ? {} : { performance_error: performanceError }),
  };
}
