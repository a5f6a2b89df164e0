import { ks2sampFromStatistic } from './ks.js';

/**
 * A mergeable sketch of a window's distribution for the two-sample KS test against a
 * reference that is known in full (the baseline keeps its sorted sample).
 *
 * Cells. The edges e_0 < … < e_{E-1} are reference values: every distinct reference value
 * when there are at most `resolution` + 1 of them, otherwise the order statistics at ranks
 * floor(i·(n − 1) / resolution), i = 0..resolution, deduplicated. The 2E + 1 cells are, in
 * order: (−∞, e_0), [e_0], (e_0, e_1), [e_1], …, [e_{E-1}], (e_{E-1}, +∞). A value lands in
 * exactly one cell (binary search), so a window's sketch is a vector of counts, and two
 * sketches of the same layout merge exactly by adding them: the order in which rows or
 * replicas are folded in does not matter.
 *
 * Statistic. Both empirical CDFs are known exactly at every cell boundary: at each edge
 * (after its point cell) and just below it (after the open cell before it). D_sketch is
 * the largest |F_ref − F_cur| over those boundaries, the same convention as scipy (CDFs count
 * the values ≤ x). Inside an open cell k, F_ref rises by at most its reference share r_k and
 * F_cur by at most its window share c_k, so the true D of the rows satisfies
 *
 *     D_sketch ≤ D ≤ D_sketch + ε,   ε = max over open cells of min(r_k, c_k).
 *
 * (At x inside cell k, F_ref(x) − F_cur(x) = d_k + R(x) − C(x) with d_k the difference at
 * the left boundary, 0 ≤ R ≤ r_k, 0 ≤ C ≤ c_k; the right boundary gives d_k + r_k − c_k, and
 * the distance from the evaluated extremes to the possible ones is min(r_k, c_k).) Because
 * the edges are reference quantiles, r_k < 1/resolution, so ε < 1/resolution whatever the
 * window: 0.001 at the default 1024. When every distinct reference value is an edge the
 * open cells hold no reference mass and ε = 0: D is exact.
 *
 * p-value. For fixed sample sizes the KS p-value falls as D rises, so the p-value of the
 * rows lies in [p(D_sketch + ε), p(D_sketch)]; both ends are reported. The verdict uses
 * p(D_sketch), the p-value of the statistic actually measured.
 */

export const DEFAULT_KS_RESOLUTION = 1024;

export interface KsSketchLayout {
  /** Strictly increasing reference values. */
  readonly edges: Float64Array;
  /** Reference values per cell (2·edges + 1 cells), and the reference's size. */
  readonly refCounts: Float64Array;
  readonly refN: number;
}

/** The cell layout of a sorted reference sample (no NaN). */
export function ksSketchLayout(sortedReference: ArrayLike<number>, resolution = DEFAULT_KS_RESOLUTION): KsSketchLayout {
  const n = sortedReference.length;
  if (n === 0) throw new RangeError('ks sketch: the reference sample is empty');
  if (!Number.isInteger(resolution) || resolution < 1) throw new RangeError(`ks sketch: resolution must be a positive integer, got ${String(resolution)}`);
  const distinct: number[] = [];
  for (let i = 0; i < n && distinct.length <= resolution + 1; i++) {
    const v = sortedReference[i]!;
    if (distinct.length === 0 || v !== distinct[distinct.length - 1]) distinct.push(v);
  }
  let edges: number[];
  if (distinct.length <= resolution + 1) edges = distinct;
  else {
    edges = [];
    for (let i = 0; i <= resolution; i++) {
      const v = sortedReference[Math.floor((i * (n - 1)) / resolution)]!;
      if (edges.length === 0 || v > edges[edges.length - 1]!) edges.push(v);
    }
  }
  const layout = { edges: Float64Array.from(edges), refCounts: new Float64Array(2 * edges.length + 1), refN: n };
  for (let i = 0; i < n; i++) layout.refCounts[ksCell(layout.edges, sortedReference[i]!)]! += 1;
  return layout;
}

/** The cell of a value (not NaN): 2k + 1 for the edge e_k, 2k for the open cell below it. */
export function ksCell(edges: Float64Array, v: number): number {
  let lo = 0;
  let hi = edges.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (edges[mid]! < v) lo = mid + 1;
    else hi = mid;
  }
  return lo < edges.length && edges[lo] === v ? 2 * lo + 1 : 2 * lo;
}

export interface KsSketchResult {
  /** D_sketch: a lower bound of the rows' D, at most `statisticError` below it. */
  readonly statistic: number;
  readonly statisticError: number;
  /** p(D_sketch): an upper bound of the rows' p-value. */
  readonly pValue: number;
  /** p(D_sketch + ε): a lower bound of the rows' p-value. */
  readonly pValueLower: number;
  readonly method: 'exact' | 'asymp';
  readonly n: number;
}

/** KS of the window's cell counts against the reference (see the module comment); null for an empty window. */
export function ksOfSketch(layout: KsSketchLayout, counts: ArrayLike<number>, offset = 0): KsSketchResult | null {
  const cells = layout.refCounts.length;
  let n2 = 0;
  for (let c = 0; c < cells; c++) n2 += counts[offset + c]!;
  if (n2 === 0) return null;
  const n1 = layout.refN;
  let ref = 0;
  let cur = 0;
  let maxS = -Infinity;
  let minDiff = Infinity;
  let error = 0;
  for (let c = 0; c < cells; c++) {
    const r = layout.refCounts[c]!;
    const w = counts[offset + c]!;
    ref += r;
    cur += w;
    if (c % 2 === 0) {
      const within = Math.min(r / n1, w / n2);
      if (within > error) error = within;
    }
    const diff = ref / n1 - cur / n2;
    if (diff > maxS) maxS = diff;
    if (diff < minDiff) minDiff = diff;
  }
  const minS = Math.min(Math.max(-minDiff, 0), 1);
  const d = minS > maxS ? minS : maxS;
  const at = ks2sampFromStatistic(d, n1, n2);
  const upper = ks2sampFromStatistic(Math.min(d + error, 1), n1, n2);
  return { statistic: at.statistic, statisticError: error, pValue: at.pValue, pValueLower: Math.min(upper.pValue, at.pValue), method: at.method, n: n2 };
}
