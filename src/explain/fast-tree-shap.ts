import { goesTrue, type Link, type TreeEnsemble } from './onnx-trees.js';
import { TreeShap, type Attribution } from './tree-shap.js';

/** How much memory the leaf tables may take. */
export interface LeafTableLimits {
  /**
   * Table entries one leaf may have (k · 2^k for k distinct features on its path; a twig's
   * table, for two leaves, k · 2^(k+1)); a tree with a bigger table keeps Algorithm 2.
   */
  readonly maxLeafEntries: number;
  /** Bytes all tables may take together; trees are given tables in order until the next would pass it. */
  readonly maxTotalBytes: number;
}

/** 4,096 entries per table (k ≤ 8 distinct features on a path) and 64 MiB in all. */
export const DEFAULT_LEAF_TABLE_LIMITS: LeafTableLimits = { maxLeafEntries: 4096, maxTotalBytes: 64 * 1024 * 1024 };

/** What the precomputation built, for the documentation and the benchmark (`ModelExplainer.tables`). */
export interface LeafTableStats {
  readonly trees: number;
  /** Trees explained by Algorithm 2 because a leaf's table or the total would pass the limits. */
  readonly fallbackTrees: number;
  /** Leaves of the tabled trees (one or two per table; leaves worth 0 need none). */
  readonly leaves: number;
  /** The most distinct features on one root-to-leaf path among the tabled trees. */
  readonly maxPathFeatures: number;
  readonly bytes: number;
  /** Wall time of the precomputation, in milliseconds. */
  readonly buildMs: number;
}

const BYTES_PER_ENTRY = 8;

/**
 * Exact path-dependent TreeSHAP by per-leaf tables (the idea of Yang 2021, "Fast TreeSHAP:
 * Accelerating SHAP Value Computation for Trees", v2), giving the values of Algorithm 2
 * (`TreeShap`) up to rounding.
 *
 * A leaf of value v whose path splits on the k distinct features U contributes to the
 * expectation given a subset S: v · Π_{j∈S} o_j · Π_{j∈U∖S} z_j, where z_j is the product of
 * the cover fractions of the path's edges on feature j and o_j is 1 when the row takes every
 * one of those edges, else 0. Its Shapley value for feature i therefore depends only on the
 * mask m of features the row satisfies. Writing P(m) = Π_{j∉m} z_j and
 * Q(m) = Σ_{S⊆m} |S|!(k−|S|−1)!/k! · Π_{j∈m∖S} z_j:
 *
 *   i ∈ m:  φ_i = v · (1 − z_i) · P(m) · Q(m ∖ {i})
 *   i ∉ m:  φ_i = −v · P(m) · Q(m)
 *
 * These k · 2^k numbers are computed per leaf once at construction (Q by the elementary
 * symmetric polynomials of the z's, each mask from its mask minus the lowest bit). Per row,
 * one pass over each tree's branches in pre-order builds every node's mask of failed
 * features (the features whose edge the row did not take on the way there), then each leaf
 * adds its k table entries for its mask into the row's values: O(nodes + Σ_leaves k) per
 * tree instead of O(leaves · depth²). A twig (a branch whose children are both leaves) has
 * one table for its two leaves, indexed by its mask and the row's direction there: half the
 * lookups, and its branch leaves the pass over the branches.
 *
 * A tree with a leaf whose table would pass `maxLeafEntries`, or that would take the tables
 * past `maxTotalBytes`, is explained by Algorithm 2. Pure and allocation-free per row.
 */
export class FastTreeShap {
  readonly base: number;
  readonly width: number;
  readonly link: Link;
  readonly stats: LeafTableStats;
  private readonly reference: TreeShap;
  /** Per tree: 1 when it is explained by Algorithm 2. */
  private readonly fallback: Uint8Array;
  /**
   * Branches of the tabled trees in pre-order (parents before children), tree t's at
   * [branchStart[t], branchStart[t + 1]); twigs are not among them.
   */
  private readonly branches: Int32Array;
  private readonly branchStart: Int32Array;
  /**
   * What carries a table: a leaf whose sibling is a branch, or a twig (a branch whose two
   * children are leaves; one table for both, indexed by its mask and the row's direction
   * there). Tree t's at [endStart[t], endStart[t + 1]).
   */
  private readonly ends: Int32Array;
  private readonly endStart: Int32Array;
  /** Per end (by position in `ends`): 1 for a twig; its distinct path features k; where its features and table begin. */
  private readonly endIsTwig: Uint8Array;
  private readonly endK: Int32Array;
  private readonly endFeatureAt: Int32Array;
  private readonly endTableAt: Int32Array;
  private readonly endFeatures: Int32Array;
  private readonly tables: Float64Array;
  /** Per node: the bit of its split feature in the masks of its subtree. */
  private readonly bit: Int32Array;
  /** Per node, per row: the features whose edge the row did not take on the way to it. */
  private readonly failed: Int32Array;

  constructor(
    private readonly e: TreeEnsemble,
    covers: Float64Array,
    /** Input columns (at least the ensemble's width). */
    width = e.width,
    limits: LeafTableLimits = DEFAULT_LEAF_TABLE_LIMITS,
  ) {
    const began = performance.now();
    this.reference = new TreeShap(e, covers, width);
    this.base = this.reference.base;
    this.width = this.reference.width;
    this.link = e.link;
    const trees = e.roots.length;
    this.bit = new Int32Array(e.nodeCount);
    this.failed = new Int32Array(e.nodeCount);
    this.fallback = new Uint8Array(trees);

    // Pass 1: each tree's layout (pre-order branches, ends, bits) and its table size.
    const branches: number[] = [];
    const ends: number[] = [];
    const endK: number[] = [];
    const branchStart = [0];
    const endStart = [0];
    let totalEntries = 0;
    let featureCount = 0;
    let maxPathFeatures = 0;
    let leafCount = 0;
    const limitEntries = Math.floor(limits.maxTotalBytes / BYTES_PER_ENTRY);
    for (let t = 0; t < trees; t++) {
      const layout = this.layOut(e.roots[t]!, limits.maxLeafEntries);
      if (layout === undefined || totalEntries + layout.entries > limitEntries) {
        this.fallback[t] = 1;
      } else {
        branches.push(...layout.branches);
        ends.push(...layout.ends);
        endK.push(...layout.endK);
        totalEntries += layout.entries;
        leafCount += layout.leaves;
        for (const k of layout.endK) {
          featureCount += k;
          maxPathFeatures = Math.max(maxPathFeatures, k);
        }
      }
      branchStart.push(branches.length);
      endStart.push(ends.length);
    }
    this.branches = Int32Array.from(branches);
    this.branchStart = Int32Array.from(branchStart);
    this.ends = Int32Array.from(ends);
    this.endStart = Int32Array.from(endStart);
    this.endK = Int32Array.from(endK);
    this.endIsTwig = Uint8Array.from(ends, (n) => (e.trueChild[n]! >= 0 ? 1 : 0));
    this.endFeatureAt = new Int32Array(ends.length);
    this.endTableAt = new Int32Array(ends.length);
    this.endFeatures = new Int32Array(featureCount);
    this.tables = new Float64Array(totalEntries);

    // Pass 2: the tables.
    const scratch = new TableScratch(maxPathFeatures);
    let featureAt = 0;
    let tableAt = 0;
    for (let t = 0; t < trees; t++) {
      if (this.fallback[t] === 1) continue;
      const pathOf = new Map<number, LeafPath>();
      this.collectPaths(e.roots[t]!, [], [], pathOf);
      for (let q = this.endStart[t]!; q < this.endStart[t + 1]!; q++) {
        const k = this.endK[q]!;
        this.endFeatureAt[q] = featureAt;
        this.endTableAt[q] = tableAt;
        if (k === 0) continue;
        const node = this.ends[q]!;
        const twig = this.endIsTwig[q] === 1;
        const path = pathOf.get(twig ? e.trueChild[node]! : node)!;
        for (let i = 0; i < k; i++) this.endFeatures[featureAt + i] = path.features[i]!;
        if (twig) {
          const falsePath = pathOf.get(e.falseChild[node]!)!;
          fillTwigTable(this.tables, tableAt, this.bit[node]!, this.reference.leafValue[e.trueChild[node]!]!, path.z, this.reference.leafValue[e.falseChild[node]!]!, falsePath.z, scratch);
        } else {
          fillLeafTable(this.tables, tableAt, this.reference.leafValue[node]!, path.z, scratch);
        }
        featureAt += k;
        tableAt += twig ? k << (k + 1) : k << k;
      }
    }
    let fallbackTrees = 0;
    for (let t = 0; t < trees; t++) fallbackTrees += this.fallback[t]!;
    this.stats = {
      trees,
      fallbackTrees,
      leaves: leafCount,
      maxPathFeatures,
      bytes: totalEntries * BYTES_PER_ENTRY + this.branches.length * 4 + this.ends.length * 13 + featureCount * 4 + e.nodeCount * 8,
      buildMs: performance.now() - began,
    };
  }

  /**
   * The tree's branches in pre-order and its ends (twigs and the other leaves), each end's
   * number of distinct path features (0 when its leaves are worth 0: no table), the bits of
   * its branches, and its table entries; undefined when an end's table would have more
   * than `maxLeafEntries` entries.
   */
  private layOut(root: number, maxLeafEntries: number): { branches: number[]; ends: number[]; endK: number[]; entries: number; leaves: number } | undefined {
    const e = this.e;
    const value = this.reference.leafValue;
    const branches: number[] = [];
    const ends: number[] = [];
    const endK: number[] = [];
    let entries = 0;
    let leaves = 0;
    let tooBig = false;
    const end = (node: number, k: number, entriesOf: number): void => {
      if (k > 29 || entriesOf > maxLeafEntries) tooBig = true;
      ends.push(node);
      endK.push(k);
      entries += entriesOf;
    };
    const visit = (node: number, features: number[]): void => {
      if (tooBig) return;
      const tc = e.trueChild[node]!;
      if (tc < 0) {
        const k = value[node] === 0 ? 0 : features.length;
        leaves += 1;
        end(node, k, k * 2 ** k);
        return;
      }
      const fc = e.falseChild[node]!;
      const f = e.feature[node]!;
      let b = features.indexOf(f);
      const fresh = b < 0;
      if (fresh) b = features.push(f) - 1;
      this.bit[node] = b < 30 ? 1 << b : 0;
      if (e.trueChild[tc]! < 0 && e.trueChild[fc]! < 0) {
        const k = value[tc] === 0 && value[fc] === 0 ? 0 : features.length;
        leaves += 2;
        end(node, k, k * 2 ** (k + 1));
      } else {
        branches.push(node);
        visit(tc, features);
        visit(fc, features);
      }
      if (fresh) features.pop();
    };
    visit(root, []);
    return tooBig ? undefined : { branches, ends, endK, entries, leaves };
  }

  /** Each leaf's distinct path features in bit order, and the product of the cover fractions of its edges on each. */
  private collectPaths(node: number, features: number[], z: number[], out: Map<number, LeafPath>): void {
    const e = this.e;
    const tc = e.trueChild[node]!;
    if (tc < 0) {
      out.set(node, { features: [...features], z: [...z] });
      return;
    }
    const f = e.feature[node]!;
    let b = features.indexOf(f);
    const fresh = b < 0;
    if (fresh) {
      b = features.push(f) - 1;
      z.push(1);
    }
    const before = z[b]!;
    z[b] = before * this.reference.trueFraction[node]!;
    this.collectPaths(tc, features, z, out);
    z[b] = before * this.reference.falseFraction[node]!;
    this.collectPaths(e.falseChild[node]!, features, z, out);
    z[b] = before;
    if (fresh) {
      features.pop();
      z.pop();
    }
  }

  /**
   * Explains the row at `row[offset .. offset + width)` (float32 values, NaN for missing),
   * adding its SHAP values into `out` (zeroed first) and returning its margin.
   */
  explainInto(row: Float32Array, offset: number, out: Float64Array): number {
    out.fill(0);
    const e = this.e;
    const { feature, threshold, mode, missingTrue, trueChild, falseChild } = e;
    const bit = this.bit;
    const failed = this.failed;
    const branches = this.branches;
    const ends = this.ends;
    const endIsTwig = this.endIsTwig;
    const endK = this.endK;
    const endFeatureAt = this.endFeatureAt;
    const endTableAt = this.endTableAt;
    const endFeatures = this.endFeatures;
    const tables = this.tables;
    const leafValue = this.reference.leafValue;
    const roots = e.roots;
    const fallback = this.fallback;
    const branchStart = this.branchStart;
    const endStart = this.endStart;
    let margin = e.base;
    for (let t = 0; t < roots.length; t++) {
      if (fallback[t] === 1) {
        margin += this.reference.addTree(t, row, offset, out);
        continue;
      }
      failed[roots[t]!] = 0;
      for (let p = branchStart[t]!, stop = branchStart[t + 1]!; p < stop; p++) {
        const node = branches[p]!;
        const f = failed[node]!;
        // Branch-free: the row's direction is unpredictable, a mispredicted jump costs more than the arithmetic.
        const toTrue = -Number(goesTrue(mode[node]!, row[offset + feature[node]!]!, threshold[node]!, missingTrue[node]!));
        const b = bit[node]!;
        failed[trueChild[node]!] = f | (b & ~toTrue);
        failed[falseChild[node]!] = f | (b & toTrue);
      }
      for (let q = endStart[t]!, stop = endStart[t + 1]!; q < stop; q++) {
        const node = ends[q]!;
        const k = endK[q]!;
        const satisfied = ((1 << k) - 1) & ~failed[node]!;
        let index = satisfied;
        if (endIsTwig[q] === 1) {
          const toTrue = Number(goesTrue(mode[node]!, row[offset + feature[node]!]!, threshold[node]!, missingTrue[node]!));
          if (failed[node] === 0) margin += leafValue[toTrue === 1 ? trueChild[node]! : falseChild[node]!]!;
          index = (satisfied << 1) | toTrue;
        } else if (failed[node] === 0) {
          margin += leafValue[node]!;
        }
        if (k === 0) continue;
        const fa = endFeatureAt[q]!;
        const at = endTableAt[q]! + index * k;
        for (let i = 0; i < k; i++) out[endFeatures[fa + i]!]! += tables[at + i]!;
      }
    }
    return margin;
  }

  /** Explains one row (allocates the result). */
  explain(row: Float32Array, offset = 0): Attribution {
    const contributions = new Float64Array(this.width);
    const margin = this.explainInto(row, offset, contributions);
    return { base: this.base, contributions, margin };
  }
}

interface LeafPath {
  readonly features: number[];
  readonly z: number[];
}

/** Work arrays of `fillLeafTable`, sized for the longest path. */
class TableScratch {
  /** Elementary symmetric polynomials e_0 … e_k of the z's in each mask, k + 1 per mask. */
  readonly elementary: Float64Array;
  readonly q: Float64Array;
  /** The two leaf tables of a twig. */
  readonly trueTable: Float64Array;
  readonly falseTable: Float64Array;
  /** |S|!(k − |S| − 1)!/k! for |S| = 0 … k − 1. */
  readonly weight: Float64Array;

  constructor(maxK: number) {
    this.elementary = new Float64Array((maxK + 1) << maxK);
    this.q = new Float64Array(1 << maxK);
    this.trueTable = new Float64Array(maxK << maxK);
    this.falseTable = new Float64Array(maxK << maxK);
    this.weight = new Float64Array(maxK + 1);
  }
}

/**
 * Writes one leaf's k · 2^k entries at `tables[at ..]`: for mask m (bit i set when the row
 * takes all the path's edges on feature i), entry `at + m·k + i` is feature i's SHAP value.
 */
function fillLeafTable(tables: Float64Array, at: number, v: number, z: readonly number[], s: TableScratch): void {
  const k = z.length;
  const full = (1 << k) - 1;
  const stride = k + 1;
  const E = s.elementary;
  // weight[t] = t!(k−t−1)!/k! = 1 / (k · C(k−1, t))
  let binomial = 1;
  for (let t = 0; t < k; t++) {
    s.weight[t] = 1 / (k * binomial);
    binomial = (binomial * (k - 1 - t)) / (t + 1);
  }
  E.fill(0, 0, stride << k);
  E[0] = 1;
  for (let m = 1; m <= full; m++) {
    const low = m & -m;
    const zi = z[31 - Math.clz32(low)]!;
    const from = (m ^ low) * stride;
    const to = m * stride;
    E[to] = 1;
    for (let r = 1; r <= k; r++) E[to + r] = E[from + r]! + zi * E[from + r - 1]!;
  }
  for (let m = 0; m < full; m++) {
    const size = popcount(m);
    let q = 0;
    for (let r = 0; r <= size; r++) q += s.weight[size - r]! * E[m * stride + r]!;
    s.q[m] = q;
  }
  for (let m = 0; m <= full; m++) {
    const rest = full ^ m;
    const p = E[rest * stride + popcount(rest)]!; // Π_{j∉m} z_j
    const out = at + m * k;
    for (let i = 0; i < k; i++) {
      const b = 1 << i;
      tables[out + i] = (m & b) !== 0 ? v * (1 - z[i]!) * p * s.q[m ^ b]! : -v * p * s.q[m]!;
    }
  }
}

/**
 * Writes a twig's k · 2^(k+1) entries at `tables[at ..]`: entry `at + (2m + d)·k + i` is
 * the sum of its two leaves' values for feature i when the row satisfies the mask m at the
 * twig (its split feature's bit included) and goes to the true leaf (d = 1) or the false one.
 */
function fillTwigTable(tables: Float64Array, at: number, bit: number, trueValue: number, trueZ: readonly number[], falseValue: number, falseZ: readonly number[], s: TableScratch): void {
  const k = trueZ.length;
  fillLeafTable(s.trueTable, 0, trueValue, trueZ, s);
  fillLeafTable(s.falseTable, 0, falseValue, falseZ, s);
  for (let m = 0; m < 1 << k; m++) {
    for (let d = 0; d < 2; d++) {
      const mt = (d === 1 ? m : m & ~bit) * k;
      const mf = (d === 1 ? m & ~bit : m) * k;
      const out = at + ((m << 1) | d) * k;
      for (let i = 0; i < k; i++) tables[out + i] = s.trueTable[mt + i]! + s.falseTable[mf + i]!;
    }
  }
}

function popcount(x: number): number {
  let n = 0;
  for (let y = x; y !== 0; y &= y - 1) n++;
  return n;
}
