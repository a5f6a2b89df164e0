import { RISK_BAND_LABELS, mean, quantileSorted, riskBandShares, sortedFinite } from './baseline.js';
import type { DriftEvaluation } from './evaluate.js';
import type { ModelDriftContext, ReportWindow } from './report.js';

/**
 * The automatic diagnosis of the design, run when the mean probability moved more than the
 * critical change (50 % by default): where the scores went (risk bands against the
 * baseline), which features carry it (rows in a feature's top quartile scored markedly
 * differently from the rest), whether it is still moving (first against second half of the
 * window), and what to do.
 */
export interface Diagnosis {
  readonly relative_change: number;
  readonly risk_bands: readonly { readonly band: string; readonly baseline_share: number; readonly current_share: number }[];
  readonly features: readonly {
    readonly feature: string;
    /** The window's 75th percentile of the feature: rows above it are its top quartile. */
    readonly top_quartile_from: number;
    readonly mean_probability_top: number;
    readonly mean_probability_rest: number;
    readonly difference: number;
  }[];
  readonly trend: { readonly first_half_mean: number; readonly second_half_mean: number; readonly change: number; readonly direction: 'rising' | 'falling' | 'flat' };
  readonly conclusion: { readonly ratio_to_baseline: number; readonly recommendation: 'retrain now' | 'retrain within 30 days' | 'within expectation'; readonly text: string };
}

/** A top quartile "carries" the shift when its mean probability differs from the rest's by this much. */
export const MARKED_DIFFERENCE = 0.1;
/** A half-window trend smaller than this (relative) is flat. */
const FLAT_TREND = 0.05;

function featureContrasts(ctx: ModelDriftContext, window: ReportWindow): Diagnosis['features'] {
  const out: Diagnosis['features'][number][] = [];
  for (const f of ctx.baseline.features) {
    if (f.kind !== 'numeric' || !f.monitored) continue;
    const values = window.columns.get(f.name);
    if (values === undefined) continue;
    const sorted = sortedFinite(values);
    if (sorted.length < 8) continue;
    const q3 = quantileSorted(sorted, 0.75);
    let top = 0, topN = 0, rest = 0, restN = 0;
    for (let i = 0; i < values.length; i++) {
      const v = values[i]!;
      if (v !== v) continue;
      if (v > q3) { top += window.scores[i]!; topN++; } else { rest += window.scores[i]!; restN++; }
    }
    if (topN === 0 || restN === 0) continue;
    const difference = top / topN - rest / restN;
    if (Math.abs(difference) >= MARKED_DIFFERENCE) {
      out.push({ feature: f.name, top_quartile_from: q3, mean_probability_top: top / topN, mean_probability_rest: rest / restN, difference });
    }
  }
  return out.sort((a, b) => Math.abs(b.difference) - Math.abs(a.difference));
}

/** The diagnosis, or null when the mean probability did not move past the critical change. */
export function diagnose(ctx: ModelDriftContext, window: ReportWindow, evaluation: DriftEvaluation): Diagnosis | null {
  if (window.scores.length < ctx.thresholds.minWindow) return null;
  const half = Math.floor(window.scores.length / 2);
  return diagnosisOf(ctx, evaluation, {
    riskBandShares: riskBandShares(window.scores),
    firstHalfMean: mean(window.scores.subarray(0, half)),
    secondHalfMean: mean(window.scores.subarray(half)),
    features: () => featureContrasts(ctx, window),
  });
}

/** What the diagnosis reads from a window, whether rows or aggregates. */
export interface DiagnosisInput {
  readonly riskBandShares: readonly number[];
  readonly firstHalfMean: number;
  readonly secondHalfMean: number;
  /** The features that carry the shift (computed only when the diagnosis runs). */
  readonly features: () => Diagnosis['features'];
}

/** The diagnosis from a window's summary, or null when the mean probability did not move past the critical change. */
export function diagnosisOf(ctx: ModelDriftContext, evaluation: DriftEvaluation, input: DiagnosisInput): Diagnosis | null {
  const change = evaluation.prediction.relative_change;
  if (change === null || Math.abs(change) <= ctx.thresholds.meanChangeCritical || evaluation.n < ctx.thresholds.minWindow) return null;
  const current = input.riskBandShares;
  const first = input.firstHalfMean;
  const second = input.secondHalfMean;
  const trendChange = first === 0 ? 0 : (second - first) / first;
  const ratio = (evaluation.prediction.mean_probability ?? 0) / ctx.baseline.score.mean;
  const recommendation = ratio > 3 ? 'retrain now' : ratio > 1.5 ? 'retrain within 30 days' : 'within expectation';
  const features = input.features();
  const carriers = features.slice(0, 3).map((f) => f.feature).join(', ');
  return {
    relative_change: change,
    risk_bands: RISK_BAND_LABELS.map((band, i) => ({ band, baseline_share: ctx.baseline.score.riskBandShares[i]!, current_share: current[i]! })),
    features,
    trend: { first_half_mean: first, second_half_mean: second, change: trendChange, direction: trendChange > FLAT_TREND ? 'rising' : trendChange < -FLAT_TREND ? 'falling' : 'flat' },
    conclusion: {
      ratio_to_baseline: ratio,
      recommendation,
      text: `The mean probability is ${ratio.toFixed(2)}× the baseline (${(change * 100).toFixed(0)} %)${carriers === '' ? '' : `, carried by ${carriers}`}; ${recommendation}.`,
    },
  };
}
