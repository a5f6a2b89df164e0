import { goesTrue, type TreeEnsemble } from './onnx-trees.js';

/**
 * Weight given to a leaf no reference row reaches, in rows: small enough not to move the
 * expectation, large enough that every branch keeps a defined share of its parent.
 */
export const UNREACHED_LEAF_WEIGHT = 1e-3;

/** Where a tree ensemble's node covers came from. */
export type CoverSource = 'nodes_hitrates' | 'reference_sample';

/**
 * `nodes_hitrates` carry covers when they are present, positive, and not all equal
 * (converters write 1.0 everywhere when they have none), and every branch's value is the
 * sum of its children's, as a cover must be (within 1e-6 relative).
 */
export function hitratesAreCovers(e: TreeEnsemble): boolean {
  const h = e.hitrates;
  if (h === undefined) return false;
  let allSame = true;
  for (let i = 0; i < e.nodeCount; i++) {
    if (!(h[i]! >= 0) || !Number.isFinite(h[i]!)) return false;
    if (h[i] !== h[0]) allSame = false;
    const t = e.trueChild[i]!;
    if (t >= 0) {
      const sum = h[t]! + h[e.falseChild[i]!]!;
      if (Math.abs(sum - h[i]!) > 1e-6 * Math.max(1, h[i]!)) return false;
    }
  }
  return !allSame;
}

/**
 * Node covers from a sample: how many of its rows (float32, row-major, `width` wide) pass
 * through each node, routed as onnxruntime routes them (missing values included). Each
 * leaf gets `UNREACHED_LEAF_WEIGHT` more, and each branch is the sum of its children, so
 * every node has a positive cover. This is what path-dependent TreeSHAP calls the
 * training distribution: the expectations are over this sample.
 */
export function coversFromSample(e: TreeEnsemble, rows: Float32Array, count: number, width: number): Float64Array {
  const visits = new Float64Array(e.nodeCount);
  for (let r = 0; r < count; r++) {
    const off = r * width;
    for (let t = 0; t < e.roots.length; t++) {
      let node = e.roots[t]!;
      for (;;) {
        visits[node]! += 1;
        const tc = e.trueChild[node]!;
        if (tc < 0) break;
        node = goesTrue(e.mode[node]!, rows[off + e.feature[node]!]!, e.threshold[node]!, e.missingTrue[node]!) ? tc : e.falseChild[node]!;
      }
    }
  }
  return sumUp(e, (leaf) => visits[leaf]! + UNREACHED_LEAF_WEIGHT);
}

/** Covers with each branch the sum of its children, leaves given by `leafCover`. */
function sumUp(e: TreeEnsemble, leafCover: (leaf: number) => number): Float64Array {
  const cover = new Float64Array(e.nodeCount);
  const fill = (node: number): number => {
    const t = e.trueChild[node]!;
    cover[node] = t < 0 ? leafCover(node) : fill(t) + fill(e.falseChild[node]!);
    return cover[node]!;
  };
  for (const r of e.roots) fill(r);
  return cover;
}
