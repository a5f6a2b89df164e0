/**
 * Attribution drift: which features drive the decisions, against which drove them on the
 * reference sample. Each feature's share of the mean absolute SHAP value, on each sample;
 * the shift is the total variation distance between the two share vectors,
 * ½ Σ |window share − reference share|, from 0 (the same features weigh the same) to 1
 * (entirely different features). Input drift statistics see each feature alone; this sees
 * the model's use of them, so a shift in a feature the model leans on shows even when its
 * PSI is modest, and a large PSI on a feature the model ignores does not.
 */

/** What a TreeSHAP explainer must offer here (src/explain/tree-shap.ts). */
export interface RowExplainer {
  readonly width: number;
  explainInto(rows: Float32Array, offset: number, out: Float64Array): number;
}

/** Rows of the window explained per evaluation at most (see docs/explanations.md). */
export const ATTRIBUTION_SAMPLE_ROWS = 2000;

/** Defaults of the shift's verdict (no seed table covers this signal; set per model in `thresholds`). */
export const ATTRIBUTION_SHIFT_WARNING = 0.1;
export const ATTRIBUTION_SHIFT_CRITICAL = 0.25;

/**
 * `count` indexes spread evenly over `n` rows (all of them when n ≤ count), so a sample of
 * the window covers all of it, deterministically.
 */
export function evenSample(n: number, count: number): Int32Array {
  if (n <= count) return Int32Array.from({ length: n }, (_, i) => i);
  return Int32Array.from({ length: count }, (_, i) => Math.floor(((i + 0.5) * n) / count));
}

/** Mean |SHAP value| per feature over the given rows (float32, row-major). */
export function meanAbsoluteAttribution(explainer: RowExplainer, rows: Float32Array, count: number): Float64Array {
  const w = explainer.width;
  const sums = new Float64Array(w);
  const phi = new Float64Array(w);
  for (let i = 0; i < count; i++) {
    explainer.explainInto(rows, i * w, phi);
    for (let j = 0; j < w; j++) sums[j]! += Math.abs(phi[j]!);
  }
  if (count > 0) for (let j = 0; j < w; j++) sums[j]! /= count;
  return sums;
}

/**
 * The mean |SHAP value| per feature of rows named by `keys`, each weighing `weights[i]` (a
 * bucket-sample row standing for several positions of the even sample) (the hash of their
 * prediction id), explaining only the rows `known` lacks. A logged row never changes, so
 * its attribution under one explainer never does: the bucket samples of a large window
 * change little between evaluations (mostly the current hour's), and a warm evaluation
 * explains only the rows new to the draw. Returns the mean, the attributions of this
 * draw's rows (the next call's `known`: bounded by the draw) and how many were explained.
 */
export function meanAbsoluteAttributionByKey(
  explainer: RowExplainer,
  rows: { readonly rows: Float32Array; readonly count: number; readonly weights: Float64Array; readonly keys: Float64Array },
  known: ReadonlyMap<number, Float64Array>,
): { mean: Float64Array; known: Map<number, Float64Array>; explained: number } {
  const w = explainer.width;
  const sums = new Float64Array(w);
  const next = new Map<number, Float64Array>();
  let explained = 0;
  let total = 0;
  for (let i = 0; i < rows.count; i++) {
    const key = rows.keys[i]!;
    let abs = known.get(key) ?? next.get(key);
    if (abs === undefined) {
      abs = new Float64Array(w);
      explainer.explainInto(rows.rows, i * w, abs);
      for (let j = 0; j < w; j++) abs[j] = Math.abs(abs[j]!);
      explained++;
    }
    next.set(key, abs);
    const weight = rows.weights[i]!;
    total += weight;
    for (let j = 0; j < w; j++) sums[j]! += weight * abs[j]!;
  }
  if (total > 0) for (let j = 0; j < w; j++) sums[j]! /= total;
  return { mean: sums, known: next, explained };
}

/** Each value's share of their sum (all zeros when the sum is 0). */
export function shares(values: Float64Array): Float64Array {
  let total = 0;
  for (const v of values) total += v;
  return values.map((v) => (total > 0 ? v / total : 0));
}

/** Total variation distance between two share vectors: ½ Σ |a − b|. */
export function attributionShift(reference: Float64Array, current: Float64Array): number {
  let d = 0;
  for (let j = 0; j < reference.length; j++) d += Math.abs(current[j]! - reference[j]!);
  return d / 2;
}

/** The attribution section of a model report. */
export interface AttributionReport {
  /** Rows in the window, and how many of them the shares were taken over (a sample). */
  readonly window_rows: number;
  readonly rows_explained: number;
  /** Where the explained rows came from: the window's rows, or the samples kept with its hourly aggregates. */
  readonly sampled_from: 'rows' | 'hourly_samples';
  readonly reference_rows_explained: number;
  /** ½ Σ |window share − reference share|; null below the minimum window. */
  readonly shift: number | null;
  readonly severity: 'ok' | 'warning' | 'critical' | 'insufficient_data';
  /** Every feature, by its share on the window, largest first. */
  readonly features: readonly { readonly feature: string; readonly window_share: number; readonly reference_share: number }[];
}

/** The attribution section from the two share vectors. Pure. */
export function attributionReport(
  names: readonly string[],
  reference: { readonly shares: Float64Array; readonly rows: number },
  window: { readonly shares: Float64Array; readonly rows: number; readonly explained: number; readonly sampledFrom: AttributionReport['sampled_from'] },
  minWindow: number,
): AttributionReport {
  const enough = window.explained >= minWindow;
  const shift = enough ? attributionShift(reference.shares, window.shares) : null;
  const severity = shift === null ? 'insufficient_data' : shift >= ATTRIBUTION_SHIFT_CRITICAL ? 'critical' : shift >= ATTRIBUTION_SHIFT_WARNING ? 'warning' : 'ok';
  const features = names
    .map((feature, j) => ({ feature, window_share: window.shares[j]!, reference_share: reference.shares[j]! }))
    .sort((a, b) => b.window_share - a.window_share || a.feature.localeCompare(b.feature));
  return { window_rows: window.rows, rows_explained: window.explained, sampled_from: window.sampledFrom, reference_rows_explained: reference.rows, shift, severity, features };
}
