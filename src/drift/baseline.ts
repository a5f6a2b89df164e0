import { categoricalBins, countCategorical, countNumeric, numericBins, type Category, type CategoricalBins, type NumericBins } from './bins.js';

/**
 * The frozen reference a window is compared with, built once from a bundle's reference
 * sample and the model's scores on it. Plain JSON: a baseline is stored and read back as is.
 */

/** The risk bands of the automatic diagnosis (design: < 0.1, 0.1–0.3, 0.3–0.7, ≥ 0.7). */
export const RISK_BAND_EDGES = [0.1, 0.3, 0.7] as const;
export const RISK_BAND_LABELS = ['<0.1', '0.1-0.3', '0.3-0.7', '>=0.7'] as const;

export interface NumericSummary {
  readonly n: number;
  readonly missing: number;
  readonly mean: number;
  readonly std: number;
  readonly min: number;
  readonly q1: number;
  readonly median: number;
  readonly q3: number;
  readonly max: number;
}

export interface NumericFeatureBaseline {
  readonly name: string;
  readonly kind: 'numeric';
  readonly monitored: boolean;
  readonly bins: NumericBins;
  readonly refCounts: readonly number[];
  readonly summary: NumericSummary;
  /** The non-missing reference values, sorted: the KS reference sample. */
  readonly sample: readonly number[];
}

export interface CategoricalFeatureBaseline {
  readonly name: string;
  readonly kind: 'categorical';
  readonly monitored: boolean;
  readonly bins: CategoricalBins;
  readonly refCounts: readonly number[];
  readonly summary: { readonly n: number; readonly missing: number; readonly distinct: number };
}

export type FeatureBaseline = NumericFeatureBaseline | CategoricalFeatureBaseline;

export interface ScoreBaseline {
  readonly bins: NumericBins;
  readonly refCounts: readonly number[];
  readonly mean: number;
  /** Share of reference rows scored at or above the model's threshold. */
  readonly positiveRate: number;
  /** Share of reference rows in each decision band of the model. */
  readonly bandShares: Readonly<Record<string, number>>;
  /** Share in the diagnosis risk bands, in the order of RISK_BAND_LABELS. */
  readonly riskBandShares: readonly number[];
  /** The reference scores, sorted: the KS reference sample of the score. */
  readonly sample: readonly number[];
}

export interface Baseline {
  readonly schemaVersion: 1;
  readonly model: string;
  readonly modelVersion: string;
  readonly builtAt: string;
  readonly referenceRows: number;
  readonly quantiles: number;
  readonly topK: number;
  readonly threshold: number;
  readonly features: readonly FeatureBaseline[];
  readonly score: ScoreBaseline;
  /** Observed positive rate of the reference labels, when the sample has them. */
  readonly labelPositiveRate: number | undefined;
}

export interface BaselineFeatureSpec {
  readonly name: string;
  readonly kind: 'numeric' | 'categorical' | 'binary';
  readonly monitor: boolean;
}

/**
 * The values of one feature: numbers (NaN for missing), or, for a categorical feature only,
 * strings (null for missing) — a file read without a model schema keeps its categories as text.
 */
export type FeatureColumn = Float64Array | readonly (string | null)[];

export interface BuildBaselineInput {
  readonly model: string;
  readonly modelVersion: string;
  readonly features: readonly BaselineFeatureSpec[];
  /** One column per feature, all of the same length (see FeatureColumn). */
  readonly columns: ReadonlyMap<string, FeatureColumn>;
  /** The model's probability for each reference row. */
  readonly scores: Float64Array;
  readonly threshold: number;
  readonly bands: readonly { readonly name: string; readonly minProbability: number }[];
  readonly labels?: Float64Array;
  readonly quantiles?: number;
  readonly topK?: number;
  readonly builtAt: Date;
}

/** Sorted copy of the non-missing values. */
export function sortedFinite(values: ArrayLike<number>): Float64Array {
  const out = new Float64Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (v === v) out[n++] = v;
  }
  return out.subarray(0, n).sort();
}

/** numpy-style linear quantile of sorted values. */
export function quantileSorted(sorted: ArrayLike<number>, q: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const h = (n - 1) * q;
  const j = Math.floor(h);
  const a = sorted[j]!;
  const b = sorted[Math.min(j + 1, n - 1)]!;
  return a + (b - a) * (h - j);
}

export function summarize(values: ArrayLike<number>): NumericSummary {
  const sorted = sortedFinite(values);
  const n = sorted.length;
  let sum = 0;
  for (let i = 0; i < n; i++) sum += sorted[i]!;
  const mean = n === 0 ? NaN : sum / n;
  let ss = 0;
  for (let i = 0; i < n; i++) ss += (sorted[i]! - mean) ** 2;
  return {
    n,
    missing: values.length - n,
    mean,
    std: n > 1 ? Math.sqrt(ss / (n - 1)) : NaN,
    min: n === 0 ? NaN : sorted[0]!,
    q1: quantileSorted(sorted, 0.25),
    median: quantileSorted(sorted, 0.5),
    q3: quantileSorted(sorted, 0.75),
    max: n === 0 ? NaN : sorted[n - 1]!,
  };
}

/** The categories of a column: codes with NaN as null (missing), or the strings as they are. */
export const categoryCodes = (values: FeatureColumn): readonly (Category | null)[] =>
  values instanceof Float64Array ? Array.from(values, (v) => (v === v ? v : null)) : values;

/** Shares of scores in the decision bands (highest band first, as the manifest sorts them). */
export function bandShares(scores: ArrayLike<number>, bands: BuildBaselineInput['bands']): Record<string, number> {
  const counts: Record<string, number> = Object.fromEntries(bands.map((b) => [b.name, 0]));
  for (let i = 0; i < scores.length; i++) {
    const p = scores[i]!;
    const band = bands.find((b) => p >= b.minProbability) ?? bands[bands.length - 1]!;
    counts[band.name]! += 1;
  }
  for (const k of Object.keys(counts)) counts[k] = scores.length === 0 ? NaN : counts[k]! / scores.length;
  return counts;
}

/** Shares of scores in the diagnosis risk bands. */
export function riskBandShares(scores: ArrayLike<number>): number[] {
  const counts = [0, 0, 0, 0];
  for (let i = 0; i < scores.length; i++) {
    const p = scores[i]!;
    counts[p < RISK_BAND_EDGES[0] ? 0 : p < RISK_BAND_EDGES[1] ? 1 : p < RISK_BAND_EDGES[2] ? 2 : 3]! += 1;
  }
  return counts.map((c) => (scores.length === 0 ? NaN : c / scores.length));
}

export function mean(values: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < values.length; i++) s += values[i]!;
  return values.length === 0 ? NaN : s / values.length;
}

/** Builds the frozen baseline. Pure: the caller reads the reference and scores it. */
export function buildBaseline(input: BuildBaselineInput): Baseline {
  const quantiles = input.quantiles ?? 10;
  const topK = input.topK ?? 20;
  const rows = input.scores.length;
  const features = input.features.map((spec): FeatureBaseline => {
    const column = input.columns.get(spec.name);
    if (column === undefined) throw new RangeError(`the reference has no column ${JSON.stringify(spec.name)}`);
    if (column.length !== rows) throw new RangeError(`column ${spec.name} has ${column.length} values for ${rows} scored rows`);
    if (spec.kind === 'numeric') {
      if (!(column instanceof Float64Array)) throw new RangeError(`column ${spec.name} is numeric but holds text`);
      const bins = numericBins(column, { quantiles });
      return { name: spec.name, kind: 'numeric', monitored: spec.monitor, bins, refCounts: Array.from(countNumeric(bins, column)), summary: summarize(column), sample: Array.from(sortedFinite(column)) };
    }
    const codes = categoryCodes(column);
    const bins = categoricalBins(codes, { topK });
    const missing = codes.filter((c) => c === null).length;
    return { name: spec.name, kind: 'categorical', monitored: spec.monitor, bins, refCounts: Array.from(countCategorical(bins, codes)), summary: { n: rows - missing, missing, distinct: bins.categories.length + bins.other.length } };
  });
  const scoreBins = numericBins(input.scores, { quantiles });
  let positives = 0;
  for (let i = 0; i < rows; i++) if (input.scores[i]! >= input.threshold) positives++;
  return {
    schemaVersion: 1,
    model: input.model,
    modelVersion: input.modelVersion,
    builtAt: input.builtAt.toISOString(),
    referenceRows: rows,
    quantiles,
    topK,
    threshold: input.threshold,
    features,
    score: {
      bins: scoreBins,
      refCounts: Array.from(countNumeric(scoreBins, input.scores)),
      mean: mean(input.scores),
      positiveRate: rows === 0 ? NaN : positives / rows,
      bandShares: bandShares(input.scores, input.bands),
      riskBandShares: riskBandShares(input.scores),
      sample: Array.from(sortedFinite(input.scores)),
    },
    labelPositiveRate: input.labels === undefined ? undefined : mean(sortedFinite(input.labels)),
  };
}
