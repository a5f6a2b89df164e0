import { createHash } from 'node:crypto';
import { RISK_BAND_EDGES, type Baseline } from './baseline.js';
import { categoricalBinOf, numericBinOf, type Category } from './bins.js';
import { assembleEvaluation, failedFeature, judgeCategoricalFeature, judgeNumericFeature, judgePrediction, type DriftEvaluation } from './evaluate.js';
import { DEFAULT_KS_RESOLUTION, ksCell, ksOfSketch, ksSketchLayout, type KsSketchLayout } from './ks-sketch.js';
import type { DriftThresholds } from './severity.js';

/**
 * A window of predictions kept as counts and sums instead of rows, so that its size depends
 * on the baseline (features × cells), not on the traffic. One aggregate is a flat
 * Float64Array laid out by the baseline:
 *
 * - n, the sum of the scores, the scores at or above the threshold, the rows per decision
 *   band and per diagnosis risk band;
 * - per feature, its counts in the frozen reference bins (PSI, chi-square, missing,
 *   out-of-range and unseen rates: exactly what the rows give), and for a numeric feature
 *   a KS sketch (ks-sketch.ts: cells on reference quantiles, D within a stated error);
 * - the score's frozen-bin counts and KS sketch;
 * - the latency in logarithmic cells (γ = 1.02: a percentile within 1 % of a row's value).
 *
 * Every entry is a count or a sum, so two aggregates of the same layout merge exactly by
 * adding them element-wise (`mergeInto`): the buckets of an hour, of a week, of several
 * replicas. Counts are integers below 2^53, so their sums are exact; the score sum is a
 * float sum whose rounding depends on the order of the additions (relative 1e-16 per add).
 * The layout's `hash` names the bins and cells, so aggregates of another baseline are
 * never merged by mistake. Pure: no I/O.
 */

export const LATENCY_GAMMA = 1.02;
const LATENCY_MIN_MS = 0.001;
const LATENCY_CELLS = 1100; // up to 0.001·1.02^1099 ≈ 2.8e6 ms
const LN_GAMMA = Math.log(LATENCY_GAMMA);

const N = 0;
const SUM = 1;
const POSITIVES = 2;
const BANDS = 3;

interface FeatureSlot {
  readonly index: number;
  readonly name: string;
  readonly offset: number;
  readonly bins: number;
  readonly binOf: (v: number) => number;
  readonly ks: { readonly layout: KsSketchLayout; readonly offset: number } | null;
}

export interface WindowAggregateLayout {
  readonly baseline: Baseline;
  readonly bands: readonly { readonly name: string; readonly minProbability: number }[];
  /** Float64 entries of one aggregate. */
  readonly size: number;
  /** Names the layout: equal hashes, equal bins and cells. */
  readonly hash: string;
  readonly features: readonly FeatureSlot[];
  readonly risk: number;
  readonly score: { readonly offset: number; readonly bins: number; readonly edges: Float64Array; readonly ks: { readonly layout: KsSketchLayout; readonly offset: number } | null };
  readonly latency: number;
}

/** The layout of a baseline's aggregates; `ksResolution` sets the KS sketch's cells (error < 1/resolution). */
export function windowAggregateLayout(baseline: Baseline, bands: WindowAggregateLayout['bands'], ksResolution = DEFAULT_KS_RESOLUTION): WindowAggregateLayout {
  let size = BANDS + bands.length;
  const risk = size;
  size += RISK_BAND_EDGES.length + 1;
  const ksSlot = (sample: readonly number[]) => {
    if (sample.length === 0) return null;
    const layout = ksSketchLayout(sample, ksResolution);
    const slot = { layout, offset: size };
    size += layout.refCounts.length;
    return slot;
  };
  const features = baseline.features.map((f, index): FeatureSlot => {
    const offset = size;
    size += f.bins.labels.length;
    if (f.kind === 'numeric') {
      const edges = Float64Array.from(f.bins.edges);
      return { index, name: f.name, offset, bins: f.bins.labels.length, binOf: (v) => numericBinOf(edges, v), ks: ksSlot(f.sample) };
    }
    const of = categoricalBinOf(f.bins);
    return { index, name: f.name, offset, bins: f.bins.labels.length, binOf: (v) => of(v === v ? (v as Category) : null), ks: null };
  });
  const scoreOffset = size;
  size += baseline.score.bins.labels.length;
  const score = { offset: scoreOffset, bins: baseline.score.bins.labels.length, edges: Float64Array.from(baseline.score.bins.edges), ks: ksSlot(baseline.score.sample) };
  const latency = size;
  size += LATENCY_CELLS;
  // The hash covers what decides where a row lands, not when the baseline was built, so a
  // restart that rebuilds the same baseline finds its buckets again.
  const digest = createHash('sha256').update(JSON.stringify({ v: 1, ksResolution, threshold: baseline.threshold, bands, features: baseline.features.map((f) => [f.name, f.kind, f.bins]), score: baseline.score.bins }));
  for (const k of [...features.map((f) => f.ks), score.ks]) {
    if (k === null) digest.update('-');
    else digest.update(new Uint8Array(k.layout.edges.buffer)).update(new Uint8Array(k.layout.refCounts.buffer));
  }
  const hash = digest.digest('hex').slice(0, 16);
  return { baseline, bands, size, hash, features, risk, score, latency };
}

export const emptyAggregate = (layout: WindowAggregateLayout): Float64Array => new Float64Array(layout.size);

const latencyCell = (ms: number): number => (ms <= LATENCY_MIN_MS ? 0 : Math.min(LATENCY_CELLS - 1, Math.ceil(Math.log(ms / LATENCY_MIN_MS) / LN_GAMMA)));

/**
 * Adds one prediction to an aggregate: `value(j)` is feature j's value (NaN when missing),
 * in the order of the layout's features.
 */
export function foldPrediction(layout: WindowAggregateLayout, agg: Float64Array, value: (j: number) => number, probability: number, latencyMs: number): void {
  agg[N]! += 1;
  agg[SUM]! += probability;
  if (probability >= layout.baseline.threshold) agg[POSITIVES]! += 1;
  const bands = layout.bands;
  let band = bands.length - 1;
  for (let b = 0; b < bands.length; b++) {
    if (probability >= bands[b]!.minProbability) {
      band = b;
      break;
    }
  }
  agg[BANDS + band]! += 1;
  agg[layout.risk + (probability < RISK_BAND_EDGES[0] ? 0 : probability < RISK_BAND_EDGES[1] ? 1 : probability < RISK_BAND_EDGES[2] ? 2 : 3)]! += 1;
  for (const f of layout.features) {
    const v = value(f.index);
    agg[f.offset + f.binOf(v)]! += 1;
    if (f.ks !== null && v === v) agg[f.ks.offset + ksCell(f.ks.layout.edges, v)]! += 1;
  }
  const s = layout.score;
  agg[s.offset + numericBinOf(s.edges, probability)]! += 1;
  if (s.ks !== null && probability === probability) agg[s.ks.offset + ksCell(s.ks.layout.edges, probability)]! += 1;
  agg[layout.latency + latencyCell(latencyMs)]! += 1;
}

/** Adds `from` into `into`, element-wise: the merge of two aggregates of one layout. */
export function mergeInto(into: Float64Array, from: Float64Array): void {
  if (into.length !== from.length) throw new RangeError(`cannot merge aggregates of ${from.length} and ${into.length} entries: different layouts`);
  for (let i = 0; i < into.length; i++) into[i]! += from[i]!;
}

export const aggregateCount = (agg: Float64Array): number => agg[N]!;

/** The latency percentile q (0–1) of an aggregate, within 1 % (relative) of the rows' nearest-rank value; NaN when empty. */
export function latencyQuantile(layout: WindowAggregateLayout, agg: Float64Array, q: number): number {
  const n = agg[N]!;
  if (n === 0) return NaN;
  const rank = Math.floor((n - 1) * q);
  let seen = 0;
  for (let k = 0; k < LATENCY_CELLS; k++) {
    seen += agg[layout.latency + k]!;
    if (seen > rank) return k === 0 ? LATENCY_MIN_MS : (2 * LATENCY_MIN_MS * LATENCY_GAMMA ** k) / (LATENCY_GAMMA + 1);
  }
  return NaN;
}

/** Shares of the window in the diagnosis risk bands (NaN when empty). */
export function aggregateRiskBandShares(layout: WindowAggregateLayout, agg: Float64Array): number[] {
  const n = agg[N]!;
  return Array.from({ length: RISK_BAND_EDGES.length + 1 }, (_, i) => (n === 0 ? NaN : agg[layout.risk + i]! / n));
}

/** Every drift statistic of an aggregate window against its baseline, as `evaluateDrift` gives for rows. Pure. */
export function evaluateAggregate(layout: WindowAggregateLayout, agg: Float64Array, t: DriftThresholds): DriftEvaluation {
  const { baseline } = layout;
  const n = agg[N]!;
  const features = layout.features.map((slot) => {
    const f = baseline.features[slot.index]!;
    try {
      const counts = agg.subarray(slot.offset, slot.offset + slot.bins);
      if (f.kind === 'categorical') return judgeCategoricalFeature(f, counts, t);
      const ks = slot.ks === null ? null : ksOfSketch(slot.ks.layout, agg, slot.ks.offset);
      return judgeNumericFeature(f, counts, ks, t);
    } catch (err) {
      return failedFeature(f, n, err);
    }
  });
  const s = layout.score;
  const bandShares = Object.fromEntries(layout.bands.map((b, i) => [b.name, n === 0 ? NaN : agg[BANDS + i]! / n]));
  const prediction = judgePrediction(baseline, {
    n, counts: agg.subarray(s.offset, s.offset + s.bins), sum: agg[SUM]!, positives: agg[POSITIVES]!, bandShares,
    riskBandShares: aggregateRiskBandShares(layout, agg),
    ks: s.ks === null || n === 0 ? null : ksOfSketch(s.ks.layout, agg, s.ks.offset),
  }, t);
  return assembleEvaluation(baseline, features, prediction, t);
}
