import { buildReport } from '../../src/drift/report.js';
import { diagnose } from '../../src/drift/diagnosis.js';
import { DEFAULT_DRIFT_THRESHOLDS } from '../../src/drift/severity.js';
import { DEFAULT_COSTS } from '../../src/performance/cost.js';
import { buildPerformanceReport } from '../../src/performance/report.js';
import { DEFAULT_PERFORMANCE_THRESHOLDS } from '../../src/performance/thresholds.js';
import type { ModelRegistry } from '../../src/model/registry.js';
import type { ReportLimits, ServedReport } from '../../src/report/limits.js';
import { buildModelReport } from '../../src/report/model-report.js';
import { columnsOf, demoBaseline, resample } from './demo-baseline.js';
import { holdoutRows } from './demo-rows.js';

const DAY = 86_400_000;
export const NOW = new Date('2026-12-01T12:00:00Z');

/** The demo model's limits as the service reads them (design defaults, the bundle's overrides). */
export function demoLimits(registry: ModelRegistry): ReportLimits {
  const m = registry.get('credit-default')!.manifest;
  return { drift: DEFAULT_DRIFT_THRESHOLDS, performance: DEFAULT_PERFORMANCE_THRESHOLDS, decisionThreshold: m.threshold, bands: m.bands };
}

/**
 * A report of the demo model as the service serves it, built by the real evaluation on a
 * window of reference rows (changed by `edit`), with a performance section on `labelled`
 * held-out predictions when asked.
 */
export async function demoReport(registry: ModelRegistry, opts: { rows?: number; edit?: (r: Record<string, number>) => Record<string, number>; labelled?: number } = {}): Promise<ServedReport> {
  const m = registry.get('credit-default')!.manifest;
  const baseline = await demoBaseline(registry);
  const window = await columnsOf(registry, resample(opts.rows ?? 2000).map(opts.edit ?? ((r) => r)));
  const ctx = { baseline, bands: m.bands, thresholds: DEFAULT_DRIFT_THRESHOLDS };
  const drift = buildReport(ctx, window, { fromMs: NOW.getTime() - 7 * DAY, toMs: NOW.getTime() }, NOW, diagnose);
  let performance = null;
  if (opts.labelled !== undefined) {
    const holdout = holdoutRows().slice(0, opts.labelled);
    const scored = await columnsOf(registry, holdout.map((h) => h.features));
    performance = buildPerformanceReport(
      { threshold: m.threshold, costs: DEFAULT_COSTS, thresholds: DEFAULT_PERFORMANCE_THRESHOLDS, labelDelayMs: 0, windowMs: 30 * DAY, calibrator: null },
      { fromMs: NOW.getTime() - 30 * DAY, toMs: NOW.getTime(), matured: opts.labelled * 2, labels: holdout.map((h) => h.label), probabilities: scored.scores },
      window.scores,
    );
  }
  const report = buildModelReport(drift, performance, { drift: DEFAULT_DRIFT_THRESHOLDS, performance: DEFAULT_PERFORMANCE_THRESHOLDS });
  return { ...report, operational: { ...report.operational, since_start: { requests: 2000, ratio_4xx: 0.002, ratio_5xx: 0 } } };
}
