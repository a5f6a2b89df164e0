import { join } from 'node:path';
import { buildModelReference } from '../drift/reference.js';
import { DEFAULT_DRIFT_THRESHOLDS, DRIFT_MANIFEST_KEYS, driftThresholds, type DriftThresholds } from '../drift/severity.js';
import { BundleError } from '../errors.js';
import type { LoadedModel } from '../model/bundle.js';
import { MANIFEST_FILE } from '../model/manifest.js';
import { BUSINESS_MANIFEST_KEYS, PERFORMANCE_MANIFEST_KEYS, businessThresholds, performanceThresholds, referenceBusinessThresholds, type BusinessThresholds, type ReferenceBusinessRates } from '../performance/thresholds.js';
import type { PerformanceContext } from '../performance/report.js';
import { HIGH_RISK_PROBABILITY } from '../predict/service.js';
import type { ModelContext } from './model-report.js';
import { FAIRNESS_MANIFEST_KEYS, fairnessThresholds } from '../fairness/thresholds.js';

const DAY_MS = 86_400_000;

export interface ModelContextOptions {
  readonly quantiles: number;
  readonly topK: number;
  readonly now: Date;
  /** Service-wide defaults of the drift guards (VIGIA_MIN_WINDOW, VIGIA_KS_MIN_STATISTIC). */
  readonly minWindow?: number;
  readonly ksMinStatistic?: number;
  /** VIGIA_PVALUE_CORRECTION: the service-wide default of thresholds.pvalue_correction. */
  readonly pValueCorrection?: DriftThresholds['correction'];
  /** VIGIA_LABEL_DELAY: overrides the bundle's label.delay_days when given. */
  readonly labelDelayMs?: number;
}

/** A model's context with its business thresholds, which only the exported threshold table uses. */
export interface ModelContextWithBusiness extends ModelContext {
  readonly performance: PerformanceContext;
  readonly business: BusinessThresholds;
}

const KNOWN_KEYS = new Set([...Object.keys(DRIFT_MANIFEST_KEYS), ...Object.keys(PERFORMANCE_MANIFEST_KEYS), ...Object.keys(BUSINESS_MANIFEST_KEYS), ...Object.keys(FAIRNESS_MANIFEST_KEYS)]);

/** The business rates of a model's reference scores (sorted or not) at its decision threshold. */
export function referenceRates(scores: readonly number[], threshold: number): ReferenceBusinessRates {
  let approved = 0;
  let highRisk = 0;
  let sum = 0;
  for (const s of scores) {
    if (s < threshold) approved++;
    if (s >= HIGH_RISK_PROBABILITY) highRisk++;
    sum += s;
  }
  const n = scores.length;
  return n === 0 ? { approvalRate: NaN, highRiskShare: NaN, meanScore: NaN } : { approvalRate: approved / n, highRiskShare: highRisk / n, meanScore: sum / n };
}

/**
 * Everything the monitor needs about one loaded model: the frozen baseline, the score
 * calibration, and every threshold (defaults with the manifest's overrides). An unknown or
 * malformed `thresholds` key is a bundle error naming the file, the key and the value.
 */
export async function buildModelContext(m: LoadedModel, opts: ModelContextOptions): Promise<ModelContextWithBusiness> {
  const file = join(m.dir, MANIFEST_FILE);
  const overrides = m.manifest.thresholds;
  for (const key of Object.keys(overrides)) {
    if (!KNOWN_KEYS.has(key)) throw new BundleError(file, `thresholds.${key}`, `is not a known threshold; known: ${[...KNOWN_KEYS].join(', ')}`);
  }
  let drift: DriftThresholds;
  let business: BusinessThresholds;
  let performance;
  let fairness;
  try {
    fairness = fairnessThresholds(overrides);
    drift = driftThresholds(overrides, { ...DEFAULT_DRIFT_THRESHOLDS, minWindow: opts.minWindow ?? DEFAULT_DRIFT_THRESHOLDS.minWindow, ksMinStatistic: opts.ksMinStatistic ?? DEFAULT_DRIFT_THRESHOLDS.ksMinStatistic, correction: opts.pValueCorrection ?? DEFAULT_DRIFT_THRESHOLDS.correction });
    performance = performanceThresholds(overrides);
  } catch (err) {
    throw new BundleError(file, undefined, (err as Error).message);
  }
  const { baseline, calibrator } = await buildModelReference(m, { quantiles: opts.quantiles, topK: opts.topK, now: opts.now });
  try {
    business = businessThresholds(overrides, referenceBusinessThresholds(referenceRates(baseline.score.sample, m.manifest.threshold)));
  } catch (err) {
    throw new BundleError(file, undefined, (err as Error).message);
  }
  return {
    baseline,
    bands: m.manifest.bands,
    ...(m.explainer.available ? { attribution: { dir: m.dir, manifest: m.manifest } } : {}),
    thresholds: drift,
    business,
    performance: {
      threshold: m.manifest.threshold,
      costs: m.manifest.costs,
      thresholds: performance,
      labelDelayMs: opts.labelDelayMs ?? m.manifest.labelDelayDays * DAY_MS,
      windowMs: m.manifest.performanceWindowDays * DAY_MS,
      calibrator,
    },
    ...(m.manifest.fairness === undefined ? {} : { fairness: { spec: m.manifest.fairness, thresholds: fairness } }),
  };
}
