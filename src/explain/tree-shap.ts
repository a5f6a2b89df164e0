import { goesTrue, type Link, type TreeEnsemble } from './onnx-trees.js';

/** SHAP values of one row: `base + Σ contributions = margin`. */
export interface Attribution {
  /** The expected margin over the covers' distribution (plus the ensemble's base value). */
  readonly base: number;
  /** One value per input column, on the margin scale. */
  readonly contributions: Float64Array;
  /** The row's margin, computed by walking the trees (what the model scores before its link). */
  readonly margin: number;
}

/**
 * Exact path-dependent TreeSHAP (Lundberg, Erion & Lee 2018, "Consistent individualized
 * feature attribution for tree ensembles", Algorithm 2) on a flattened ONNX tree ensemble.
 * The expectation of a tree given a subset S of features follows the row where a node
 * splits on a feature in S and weighs both children by their covers otherwise; the
 * algorithm gets every feature's Shapley value of that set function in O(leaves · depth²)
 * per tree by carrying, along each root-to-leaf path, the proportion of subsets of each
 * size that reach it (EXTEND), and removing a feature again (UNWIND) when it is split on
 * twice or when its contribution at a leaf is read off.
 *
 * Pure and allocation-free per row after construction: the child fractions, the leaf
 * values (averaged when the ensemble averages) and the expected value are precomputed.
 */
export class TreeShap {
  readonly base: number;
  readonly width: number;
  readonly link: Link;
  /** Each leaf's value as it enters the sum (divided by the tree count when the ensemble averages). */
  readonly leafValue: Float64Array;
  /** cover(true child) / cover(node) and the same for the false child (read by `FastTreeShap`'s tables). */
  readonly trueFraction: Float64Array;
  readonly falseFraction: Float64Array;
  // The path buffers: one segment per depth, each a copy of its parent's extended by one.
  private readonly pathFeature: Int32Array;
  private readonly pathZero: Float64Array;
  private readonly pathOne: Float64Array;
  private readonly pathWeight: Float64Array;
  /** 1 / k for k = 0 … maxDepth + 2 (recip[0] unused): the path updates multiply, never divide. */
  private readonly recip: Float64Array;
  private phi: Float64Array = new Float64Array(0);
  private row: Float32Array = new Float32Array(0);
  private rowOffset = 0;

  constructor(
    private readonly e: TreeEnsemble,
    covers: Float64Array,
    /** Input columns (at least the ensemble's width). */
    width = e.width,
  ) {
    this.width = Math.max(width, e.width);
    this.link = e.link;
    const scale = e.average ? 1 / e.roots.length : 1;
    this.leafValue = e.value.map((v) => v * scale);
    this.trueFraction = new Float64Array(e.nodeCount);
    this.falseFraction = new Float64Array(e.nodeCount);
    for (let i = 0; i < e.nodeCount; i++) {
      const t = e.trueChild[i]!;
      if (t < 0) continue;
      const c = covers[i]!;
      if (!(c > 0)) {
        // A node no weight reaches: split evenly, so its subtree stays defined.
        this.trueFraction[i] = 0.5;
        this.falseFraction[i] = 0.5;
      } else {
        this.trueFraction[i] = covers[t]! / c;
        this.falseFraction[i] = covers[e.falseChild[i]!]! / c;
      }
    }
    let expected = 0;
    for (const r of e.roots) expected += this.expectation(r);
    this.base = e.base + expected;
    const d = e.maxDepth + 2;
    const size = (d * (d + 1)) / 2;
    this.pathFeature = new Int32Array(size);
    this.pathZero = new Float64Array(size);
    this.pathOne = new Float64Array(size);
    this.pathWeight = new Float64Array(size);
    this.recip = Float64Array.from({ length: d + 2 }, (_, k) => (k === 0 ? 0 : 1 / k));
  }

  private expectation(node: number): number {
    const t = this.e.trueChild[node]!;
    if (t < 0) return this.leafValue[node]!;
    return this.trueFraction[node]! * this.expectation(t) + this.falseFraction[node]! * this.expectation(this.e.falseChild[node]!);
  }

  /**
   * Explains the row at `row[offset .. offset + width)` (float32 values, NaN for missing),
   * adding its SHAP values into `out` (zeroed first) and returning its margin.
   */
  explainInto(row: Float32Array, offset: number, out: Float64Array): number {
    out.fill(0);
    const e = this.e;
    let margin = e.base;
    for (let t = 0; t < e.roots.length; t++) margin += this.addTree(t, row, offset, out);
    return margin;
  }

  /**
   * Adds tree `t`'s SHAP values of the row at `row[offset ..]` into `out` (not zeroed) and
   * returns the value of the leaf the row reaches in that tree.
   */
  addTree(t: number, row: Float32Array, offset: number, out: Float64Array): number {
    this.phi = out;
    this.row = row;
    this.rowOffset = offset;
    const root = this.e.roots[t]!;
    this.recurse(root, 0, 0, 1, 1, -1);
    let node = root;
    while (this.e.trueChild[node]! >= 0) node = this.hotChild(node);
    return this.leafValue[node]!;
  }

  /** Explains one row (allocates the result). */
  explain(row: Float32Array, offset = 0): Attribution {
    const contributions = new Float64Array(this.width);
    const margin = this.explainInto(row, offset, contributions);
    return { base: this.base, contributions, margin };
  }

  private hotChild(node: number): number {
    const e = this.e;
    const x = this.row[this.rowOffset + e.feature[node]!]!;
    return goesTrue(e.mode[node]!, x, e.threshold[node]!, e.missingTrue[node]!) ? e.trueChild[node]! : e.falseChild[node]!;
  }

  /**
   * `start` is where this node's path segment begins in the buffers; the parent's
   * `depth` elements are copied in and extended by the edge that led here.
   */
  private recurse(node: number, parentStart: number, depth: number, zeroFraction: number, oneFraction: number, feature: number): void {
    const e = this.e;
    const F = this.pathFeature;
    const Z = this.pathZero;
    const O = this.pathOne;
    const W = this.pathWeight;
    const start = depth === 0 ? 0 : parentStart + depth;
    // A loop, not copyWithin: paths are a few elements long and the call costs more than the copy.
    for (let i = 0; i < depth; i++) {
      F[start + i] = F[parentStart + i]!;
      Z[start + i] = Z[parentStart + i]!;
      O[start + i] = O[parentStart + i]!;
      W[start + i] = W[parentStart + i]!;
    }
    // EXTEND
    F[start + depth] = feature;
    Z[start + depth] = zeroFraction;
    O[start + depth] = oneFraction;
    W[start + depth] = depth === 0 ? 1 : 0;
    const per = this.recip[depth + 1]!;
    const oneStep = oneFraction * per;
    const zeroStep = zeroFraction * per;
    for (let i = depth - 1; i >= 0; i--) {
      const w = W[start + i]!;
      W[start + i + 1]! += oneStep * w * (i + 1);
      W[start + i] = zeroStep * w * (depth - i);
    }

    const tc = e.trueChild[node]!;
    if (tc < 0) {
      const v = this.leafValue[node]!;
      if (v === 0) return;
      for (let i = 1; i <= depth; i++) {
        const w = this.unwoundSum(start, depth, i);
        this.phi[F[start + i]!]! += w * (O[start + i]! - Z[start + i]!) * v;
      }
      return;
    }

    const split = e.feature[node]!;
    const hot = this.hotChild(node);
    const hotIsTrue = hot === tc;
    const hotFraction = hotIsTrue ? this.trueFraction[node]! : this.falseFraction[node]!;
    const coldFraction = hotIsTrue ? this.falseFraction[node]! : this.trueFraction[node]!;
    const cold = hotIsTrue ? e.falseChild[node]! : tc;
    let incomingZero = 1;
    let incomingOne = 1;
    let d = depth;
    let k = 0;
    while (k <= d && F[start + k] !== split) k++;
    if (k <= d) {
      incomingZero = Z[start + k]!;
      incomingOne = O[start + k]!;
      this.unwind(start, d, k);
      d -= 1;
    }
    this.recurse(hot, start, d + 1, hotFraction * incomingZero, incomingOne, split);
    this.recurse(cold, start, d + 1, coldFraction * incomingZero, 0, split);
  }

  /** UNWIND: removes element `k` from the path of length `depth + 1` at `start`. */
  private unwind(start: number, depth: number, k: number): void {
    const F = this.pathFeature;
    const Z = this.pathZero;
    const O = this.pathOne;
    const W = this.pathWeight;
    const R = this.recip;
    const one = O[start + k]!;
    const zero = Z[start + k]!;
    let next = W[start + depth]!;
    if (one !== 0) {
      const up = (depth + 1) / one;
      const down = zero * R[depth + 1]!;
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = W[start + i]!;
        const w = next * up * R[i + 1]!;
        W[start + i] = w;
        next = tmp - w * down * (depth - i);
      }
    } else {
      const up = (depth + 1) / zero;
      for (let i = depth - 1; i >= 0; i--) W[start + i] = W[start + i]! * up * R[depth - i]!;
    }
    for (let i = k; i < depth; i++) {
      F[start + i] = F[start + i + 1]!;
      Z[start + i] = Z[start + i + 1]!;
      O[start + i] = O[start + i + 1]!;
    }
  }

  /** The total weight of the path with element `k` unwound, without changing the path. */
  private unwoundSum(start: number, depth: number, k: number): number {
    const W = this.pathWeight;
    const R = this.recip;
    const one = this.pathOne[start + k]!;
    const zero = this.pathZero[start + k]!;
    let total = 0;
    // The divisions of Algorithm 2 are hoisted out (reciprocals of small integers from a
    // table): the loop's dependency chain through `next` is then multiplies and a subtract,
    // where a division each step made it latency-bound.
    if (one !== 0) {
      const up = (depth + 1) / one;
      const down = zero * R[depth + 1]!;
      let next = W[start + depth]!;
      for (let i = depth - 1; i >= 0; i--) {
        const tmp = next * up * R[i + 1]!;
        total += tmp;
        next = W[start + i]! - tmp * down * (depth - i);
      }
    } else {
      const up = (depth + 1) / zero;
      for (let i = depth - 1; i >= 0; i--) total += W[start + i]! * up * R[depth - i]!;
    }
    return total;
  }
}
