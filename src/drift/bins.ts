/**
 * Reference bins, frozen when the baseline is built. A window is counted into the bins of
 * its baseline; edges never move with the current window. Bins are plain objects, so a
 * baseline stores them as JSON and reads them back unchanged.
 *
 * Numeric bins. The edges are the reference's quantiles at levels q_i = i / Q
 * (i = 0..Q, Q = `quantiles`, 10 by default), using numpy's default 'linear' rule
 * (Hyndman & Fan type 7): over the n sorted non-missing values x_0..x_{n-1}, h = (n - 1)·q_i,
 * j = floor(h), g = h - j, and the quantile is x_j + (x_{j+1} - x_j)·g when g < 0.5 and
 * x_{j+1} - (x_{j+1} - x_j)·(1 - g) otherwise, exactly as numpy 1.24's `_lerp`, so
 * `np.quantile(x, np.arange(Q + 1) / Q)` gives the same doubles. The first edge is the
 * reference minimum and the last its maximum. Duplicate edges (heavy ties: a feature that
 * is 0 for 60 % of rows gives seven edges at 0) are collapsed, keeping an edge only if it is
 * strictly greater than the last one kept, so no interior bin has zero width and none is
 * empty in the reference. The m kept edges e_0 < … < e_{m-1} make m - 1 interior bins,
 * left-closed and right-open, [e_k, e_{k+1}), except the last, which is closed at the
 * reference maximum, [e_{m-2}, e_{m-1}] (numpy.histogram's convention). A constant reference
 * keeps one edge and one interior bin, [c, c]. Around them: `missing` (NaN), `below_min`
 * (x < e_0) and `above_max` (x > e_{m-1}); the last two are empty in the reference by
 * construction. NaN in the reference is not used for the edges, only counted in `missing`.
 * A reference with at most Q distinct values (2 ≤ m ≤ Q) gets one bin per value instead:
 * edges v_1 < … < v_m followed by v_m again, so the bins are [v_1, v_2), …, [v_{m-1}, v_m)
 * and the point bin [v_m, v_m]. Without this a 0/1 flag would collapse into the single bin
 * [0, 1] and its PSI would always be 0.
 *
 * Categorical bins. Reference categories are ranked by count, descending; equal counts are
 * ordered by value — numbers ascending before strings, strings by UTF-16 code units — so the
 * ranking does not depend on row order. The first `topK` (20 by default) get a bin each; the
 * rest of the reference categories are kept in `other` and share the `__other__` bin. Values
 * never seen in the reference land in `__unseen__`, and null, undefined and NaN in `missing`.
 * Categories compare as values (1 and '1' differ). A kept category whose label would repeat
 * another label (for example the string 'missing') is refused.
 */

export const MISSING = 'missing';
export const BELOW_MIN = 'below_min';
export const ABOVE_MAX = 'above_max';
export const OTHER = '__other__';
export const UNSEEN = '__unseen__';

export type Category = number | string;

export interface NumericBins {
  readonly kind: 'numeric';
  /** The number of quantile intervals asked for (before ties were collapsed). */
  readonly quantiles: number;
  /** Strictly increasing; the first is the reference minimum, the last its maximum. */
  readonly edges: readonly number[];
  /** `missing`, `below_min`, one label per interior bin, `above_max`: the order of the counts. */
  readonly labels: readonly string[];
}

export interface CategoricalBins {
  readonly kind: 'categorical';
  readonly topK: number;
  /** The kept reference categories, most frequent first: one bin each. */
  readonly categories: readonly Category[];
  /** The other reference categories, in the same ranking: they share the `__other__` bin. */
  readonly other: readonly Category[];
  /** `missing`, one label per kept category, `__other__`, `__unseen__`: the order of the counts. */
  readonly labels: readonly string[];
}

export type Bins = NumericBins | CategoricalBins;

const DEFAULT_QUANTILES = 10;
const DEFAULT_TOP_K = 20;

/** Frozen numeric bins from the reference's quantiles; see the module comment for the rules. */
export function numericBins(reference: ArrayLike<number>, opts: { quantiles?: number } = {}): NumericBins {
  const quantiles = opts.quantiles ?? DEFAULT_QUANTILES;
  if (!Number.isInteger(quantiles) || quantiles < 1) {
    throw new RangeError(`quantiles must be a positive integer, got ${String(quantiles)}`);
  }
  const sorted = new Float64Array(reference.length);
  let n = 0;
  for (let i = 0; i < reference.length; i++) {
    const x = reference[i]!;
    if (Number.isNaN(x)) continue;
    if (!Number.isFinite(x)) throw new RangeError(`reference value ${String(x)} at index ${i} is not finite`);
    sorted[n++] = x;
  }
  if (n === 0) throw new RangeError('reference has no non-missing values: numeric bins need at least one');
  const values = sorted.subarray(0, n).sort();
  const distinct = distinctSorted(values, quantiles + 1);
  if (distinct.length >= 2 && distinct.length <= quantiles) {
    const edges = [...distinct.map((v) => v + 0), distinct[distinct.length - 1]! + 0];
    return { kind: 'numeric', quantiles, edges, labels: numericLabels(edges) };
  }
  const edges: number[] = [];
  for (let i = 0; i <= quantiles; i++) {
    const edge = linearQuantile(values, i / quantiles);
    // `+ 0` turns -0 into 0, which JSON would do anyway.
    if (edges.length === 0 || edge > edges[edges.length - 1]!) edges.push(edge + 0);
  }
  return { kind: 'numeric', quantiles, edges, labels: numericLabels(edges) };
}

/** The distinct values of sorted data, stopping once there are more than `limit`. */
function distinctSorted(sorted: Float64Array, limit: number): number[] {
  const out: number[] = [];
  for (let i = 0; i < sorted.length && out.length <= limit; i++) {
    if (out.length === 0 || sorted[i]! !== out[out.length - 1]) out.push(sorted[i]!);
  }
  return out;
}

/**
 * numpy's default 'linear' quantile of sorted values (no NaN), with numpy 1.24's arithmetic:
 * virtual index (n - 1)·q, and a lerp that is exact at both ends.
 */
function linearQuantile(sorted: Float64Array, q: number): number {
  const n = sorted.length;
  const h = (n - 1) * q;
  if (h >= n - 1) return sorted[n - 1]!;
  if (h <= 0) return sorted[0]!;
  const j = Math.floor(h);
  const g = h - j;
  const a = sorted[j]!;
  const b = sorted[j + 1]!;
  const diff = b - a;
  return g >= 0.5 ? b - diff * (1 - g) : a + diff * g;
}

function numericLabels(edges: readonly number[]): string[] {
  const interior: string[] = [];
  if (edges.length === 1) interior.push(`[${String(edges[0])}, ${String(edges[0])}]`);
  for (let k = 0; k + 1 < edges.length; k++) {
    const close = k + 2 === edges.length ? ']' : ')';
    interior.push(`[${String(edges[k])}, ${String(edges[k + 1])}${close}`);
  }
  return [MISSING, BELOW_MIN, ...interior, ABOVE_MAX];
}

/** Counts per bin, in the order of `bins.labels`. Binary search over the frozen edges. */
export function countNumeric(bins: NumericBins, values: ArrayLike<number>): Float64Array {
  const edges = Float64Array.from(bins.edges);
  const interior = Math.max(edges.length - 1, 1);
  const counts = new Float64Array(interior + 3);
  const lo = edges[0]!;
  const hi = edges[edges.length - 1]!;
  let missing = 0;
  let below = 0;
  let above = 0;
  const last = interior - 1;
  for (let i = 0; i < values.length; i++) {
    const x = values[i]!;
    if (x !== x) missing++;
    else if (x < lo) below++;
    else if (x > hi) above++;
    else counts[2 + interiorBin(edges, last, x)]! += 1;
  }
  counts[0] = missing;
  counts[1] = below;
  counts[interior + 2] = above;
  return counts;
}

/** The largest k in [0, last] with edges[k] <= x (x within [edges[0], edges[last + 1]]): x == max falls in the last bin. */
function interiorBin(edges: Float64Array, last: number, x: number): number {
  let a = 0;
  let b = last;
  while (a < b) {
    const mid = (a + b + 1) >> 1;
    if (edges[mid]! <= x) a = mid;
    else b = mid - 1;
  }
  return a;
}

/**
 * The index, in the order of `bins.labels`, of one value's bin, for edges already turned
 * into a Float64Array (the window aggregate folds rows one at a time): as `countNumeric`.
 */
export function numericBinOf(edges: Float64Array, x: number): number {
  const interior = Math.max(edges.length - 1, 1);
  if (x !== x) return 0;
  if (x < edges[0]!) return 1;
  if (x > edges[edges.length - 1]!) return interior + 2;
  return 2 + interiorBin(edges, interior - 1, x);
}

/** Frozen categorical bins: the reference's top K categories, `__other__`, `missing`, `__unseen__`. */
export function categoricalBins(
  reference: ArrayLike<Category | null | undefined>,
  opts: { topK?: number } = {},
): CategoricalBins {
  const topK = opts.topK ?? DEFAULT_TOP_K;
  if (!Number.isInteger(topK) || topK < 1) throw new RangeError(`topK must be a positive integer, got ${String(topK)}`);
  const seen = new Map<Category, number>();
  for (let i = 0; i < reference.length; i++) {
    const v = reference[i];
    if (isMissing(v)) continue;
    if (!isCategory(v)) throw new RangeError(`reference value ${String(v)} at index ${i} is neither a finite number nor a string`);
    seen.set(v, (seen.get(v) ?? 0) + 1);
  }
  const ranked = [...seen.keys()].sort((a, b) => seen.get(b)! - seen.get(a)! || compareCategories(a, b));
  const categories = ranked.slice(0, topK);
  return { kind: 'categorical', topK, categories, other: ranked.slice(topK), labels: categoricalLabels(categories) };
}

function isMissing(v: Category | null | undefined): v is null | undefined {
  return v === null || v === undefined || (typeof v === 'number' && Number.isNaN(v));
}

function isCategory(v: unknown): v is Category {
  return typeof v === 'string' || (typeof v === 'number' && Number.isFinite(v));
}

/** Numbers ascending before strings; strings by UTF-16 code units (not locale). */
function compareCategories(a: Category, b: Category): number {
  if (typeof a === 'number') return typeof b === 'number' ? a - b : -1;
  if (typeof b === 'number') return 1;
  return a < b ? -1 : a > b ? 1 : 0;
}

function categoricalLabels(categories: readonly Category[]): string[] {
  const labels = [MISSING, ...categories.map(String), OTHER, UNSEEN];
  const taken = new Set<string>();
  for (const label of labels) {
    if (taken.has(label)) throw new RangeError(`category label ${JSON.stringify(label)} is used twice; rename the category`);
    taken.add(label);
  }
  return labels;
}

/** Counts per bin, in the order of `bins.labels`. */
export function countCategorical(bins: CategoricalBins, values: ArrayLike<Category | null | undefined>): Float64Array {
  const binOf = categoricalBinOf(bins);
  const counts = new Float64Array(bins.categories.length + 3);
  for (let i = 0; i < values.length; i++) counts[binOf(values[i])]! += 1;
  return counts;
}

/** The bin index (order of `bins.labels`) of one value, as `countCategorical` counts it. */
export function categoricalBinOf(bins: CategoricalBins): (v: Category | null | undefined) => number {
  const k = bins.categories.length;
  const otherIndex = k + 1;
  const unseenIndex = k + 2;
  const index = new Map<Category, number>();
  bins.categories.forEach((c, i) => index.set(c, i + 1));
  for (const c of bins.other) index.set(c, otherIndex);
  return (v) => (isMissing(v) ? 0 : (index.get(v) ?? unseenIndex));
}

/**
 * Checks a parsed JSON value is bins as this module builds them (labels included) and
 * returns it typed; throws a RangeError naming the first problem.
 */
export function parseBins(value: unknown): Bins {
  const fail = (why: string): never => {
    throw new RangeError(`invalid bins: ${why}`);
  };
  if (typeof value !== 'object' || value === null) return fail('not an object');
  const v = value as Record<string, unknown>;
  const labels = v['labels'];
  if (!Array.isArray(labels) || !labels.every((l) => typeof l === 'string')) return fail('labels must be an array of strings');
  const sameLabels = (expected: readonly string[]) =>
    expected.length === labels.length && expected.every((l, i) => l === labels[i]);
  if (v['kind'] === 'numeric') {
    const { quantiles, edges } = v;
    if (!Number.isInteger(quantiles) || (quantiles as number) < 1) return fail('quantiles must be a positive integer');
    if (!Array.isArray(edges) || edges.length === 0) return fail('edges must be a non-empty array');
    edges.forEach((e: unknown, i) => {
      if (typeof e !== 'number' || !Number.isFinite(e)) fail(`edges[${i}] is not a finite number`);
      // Only the point bin of per-value bins, [v_m, v_m], may repeat the edge before it.
      const pointBin = i >= 2 && i === edges.length - 1 && e === edges[i - 1];
      if (i > 0 && !pointBin && !((e as number) > (edges[i - 1] as number))) fail(`edges[${i}] is not above edges[${i - 1}]`);
    });
    if (!sameLabels(numericLabels(edges as number[]))) return fail('labels do not match the edges');
    return { kind: 'numeric', quantiles: quantiles as number, edges: edges as number[], labels: labels as string[] };
  }
  if (v['kind'] === 'categorical') {
    const { topK, categories, other } = v;
    if (!Number.isInteger(topK) || (topK as number) < 1) return fail('topK must be a positive integer');
    if (!Array.isArray(categories) || !Array.isArray(other)) return fail('categories and other must be arrays');
    if (categories.length > (topK as number)) return fail('more categories than topK');
    const all = new Set<Category>();
    for (const c of [...categories, ...other] as unknown[]) {
      if (!isCategory(c)) return fail(`category ${String(c)} is neither a finite number nor a string`);
      if (all.has(c)) return fail(`category ${JSON.stringify(c)} appears twice`);
      all.add(c);
    }
    if (!sameLabels(categoricalLabels(categories as Category[]))) return fail('labels do not match the categories');
    return {
      kind: 'categorical',
      topK: topK as number,
      categories: categories as Category[],
      other: other as Category[],
      labels: labels as string[],
    };
  }
  return fail(`kind must be 'numeric' or 'categorical', got ${JSON.stringify(v['kind'])}`);
}
