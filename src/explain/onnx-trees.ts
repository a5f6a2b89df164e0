import { ONNX, ProtoError, WIRE_BYTES, WIRE_FIXED32, WIRE_VARINT, firstString, readFields, strings, type ProtoField } from '../model/onnx-proto.js';

/** How a node routes a row: the comparison of the row's value with the node's threshold. */
export const SplitMode = { Leaf: 0, Leq: 1, Lt: 2, Gte: 3, Gt: 4, Eq: 5, Neq: 6 } as const;
export type SplitMode = (typeof SplitMode)[keyof typeof SplitMode];

const MODES: Readonly<Record<string, SplitMode>> = {
  LEAF: SplitMode.Leaf,
  BRANCH_LEQ: SplitMode.Leq,
  BRANCH_LT: SplitMode.Lt,
  BRANCH_GTE: SplitMode.Gte,
  BRANCH_GT: SplitMode.Gt,
  BRANCH_EQ: SplitMode.Eq,
  BRANCH_NEQ: SplitMode.Neq,
};

/** How the explained score becomes the served output. */
export type Link = 'identity' | 'logistic';

/**
 * One tree ensemble, flattened: node `i` of every tree lives at index `i` of each array,
 * trees one after the other (`roots[t]` is tree t's first node). Children are global
 * indexes. `value` is the leaf's contribution to the explained score (0 on branches);
 * `cover` is filled by `withCovers`.
 */
export interface TreeEnsemble {
  readonly nodeCount: number;
  readonly roots: Int32Array;
  readonly feature: Int32Array;
  /** Thresholds as float32 values (onnxruntime compares float32 inputs with float32 thresholds). */
  readonly threshold: Float64Array;
  readonly mode: Uint8Array;
  readonly trueChild: Int32Array;
  readonly falseChild: Int32Array;
  /** 1 where a missing value (NaN) takes the true branch. */
  readonly missingTrue: Uint8Array;
  readonly value: Float64Array;
  /** `nodes_hitrates` as written, when present (converters often write 1.0 everywhere). */
  readonly hitrates: Float64Array | undefined;
  /** Added to the sum of the trees' leaves: the matching `base_values` entry. */
  readonly base: number;
  /** Leaves are averaged over the trees (aggregate_function AVERAGE), not summed. */
  readonly average: boolean;
  /** What the served probability is, given the explained score (margin). */
  readonly link: Link;
  /** The deepest root-to-leaf path, in edges. */
  readonly maxDepth: number;
  /** The model's input width (highest feature id + 1). */
  readonly width: number;
  /** Which ONNX operator and attributes it came from, for messages and documentation. */
  readonly source: string;
}

/** Why a model cannot be explained: the message a client is given. */
export class NotExplainableError extends Error {
  override readonly name = 'NotExplainableError';
}

/** ONNX AttributeProto and TensorProto field numbers. */
const ATTR = { name: 1, f: 2, i: 3, s: 4, t: 5, floats: 7, ints: 8, strings: 9 } as const;
const TENSOR = { dataType: 2, floatData: 4, rawData: 9, doubleData: 10 } as const;
const TENSOR_FLOAT = 1;
const TENSOR_DOUBLE = 11;

/** Operators that may sit between the ensemble and the probability output without changing it. */
const PASS_THROUGH = new Set(['Identity', 'ZipMap', 'Cast']);

type Attrs = Map<string, ProtoField[]>;

function readVarintsPacked(body: Uint8Array): number[] {
  const out: number[] = [];
  let pos = 0;
  while (pos < body.length) {
    let value = 0;
    let scale = 1;
    for (;;) {
      const byte = body[pos++]!;
      value += (byte & 0x7f) * scale;
      if ((byte & 0x80) === 0) break;
      scale *= 128;
    }
    out.push(value >= 2 ** 63 ? value - 2 ** 64 : value);
  }
  return out;
}

function floatsOf(view: DataView, count: number, size: 4 | 8): number[] {
  const out = new Array<number>(count);
  for (let i = 0; i < count; i++) out[i] = size === 4 ? view.getFloat32(i * 4, true) : view.getFloat64(i * 8, true);
  return out;
}

const viewOf = (b: Uint8Array): DataView => new DataView(b.buffer, b.byteOffset, b.byteLength);

function attrInts(fields: ProtoField[]): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== ATTR.ints) continue;
    if (f.wire === WIRE_BYTES) out.push(...readVarintsPacked(f.body));
    else if (f.wire === WIRE_VARINT) out.push(f.varint >= 2 ** 63 ? f.varint - 2 ** 64 : f.varint);
  }
  return out;
}

function attrFloats(fields: ProtoField[]): number[] {
  const out: number[] = [];
  for (const f of fields) {
    if (f.no !== ATTR.floats) continue;
    if (f.wire === WIRE_BYTES) out.push(...floatsOf(viewOf(f.body), f.body.length / 4, 4));
    else if (f.wire === WIRE_FIXED32) out.push(viewOf(f.raw).getFloat32(f.raw.length - 4, true));
  }
  return out;
}

/** A float or double tensor attribute (`*_as_tensor`), flattened. */
function attrTensor(fields: ProtoField[]): number[] {
  const t = fields.find((f) => f.no === ATTR.t && f.wire === WIRE_BYTES);
  if (t === undefined) return [];
  const tf = readFields(t.body);
  const type = tf.find((f) => f.no === TENSOR.dataType)?.varint ?? 0;
  const raw = tf.find((f) => f.no === TENSOR.rawData);
  if (raw !== undefined) {
    if (type === TENSOR_FLOAT) return floatsOf(viewOf(raw.body), raw.body.length / 4, 4);
    if (type === TENSOR_DOUBLE) return floatsOf(viewOf(raw.body), raw.body.length / 8, 8);
  }
  const out: number[] = [];
  for (const f of tf) {
    if (f.no === TENSOR.floatData) out.push(...(f.wire === WIRE_BYTES ? floatsOf(viewOf(f.body), f.body.length / 4, 4) : [viewOf(f.raw).getFloat32(f.raw.length - 4, true)]));
    if (f.no === TENSOR.doubleData) out.push(...(f.wire === WIRE_BYTES ? floatsOf(viewOf(f.body), f.body.length / 8, 8) : [viewOf(f.raw).getFloat64(f.raw.length - 8, true)]));
  }
  return out;
}

class AttributeReader {
  constructor(private readonly attrs: Attrs) {}

  has(name: string): boolean {
    return this.attrs.has(name) || this.attrs.has(`${name}_as_tensor`);
  }

  ints(name: string): number[] {
    return attrInts(this.attrs.get(name) ?? []);
  }

  floats(name: string): number[] {
    const plain = this.attrs.get(name);
    if (plain !== undefined) return attrFloats(plain);
    const tensor = this.attrs.get(`${name}_as_tensor`);
    return tensor === undefined ? [] : attrTensor(tensor);
  }

  strings(name: string): string[] {
    return strings(this.attrs.get(name) ?? [], ATTR.strings);
  }

  string(name: string, fallback: string): string {
    return firstString(this.attrs.get(name) ?? [], ATTR.s) ?? fallback;
  }
}

interface GraphNode {
  readonly opType: string;
  readonly inputs: string[];
  readonly outputs: string[];
  readonly attrs: AttributeReader;
}

function readNodes(model: Uint8Array): GraphNode[] {
  const modelFields = readFields(model);
  const graph = modelFields.find((f) => f.no === ONNX.model.graph);
  if (graph === undefined) throw new ProtoError('the file has no graph (is it an ONNX model?)');
  return readFields(graph.body)
    .filter((f) => f.no === ONNX.graph.node)
    .map((f) => {
      const node = readFields(f.body);
      const attrs: Attrs = new Map();
      for (const a of node.filter((x) => x.no === 5 && x.wire === WIRE_BYTES)) {
        const af = readFields(a.body);
        attrs.set(firstString(af, ATTR.name) ?? '', af);
      }
      return {
        opType: firstString(node, ONNX.node.opType) ?? '',
        inputs: strings(node, ONNX.node.input),
        outputs: strings(node, ONNX.node.output),
        attrs: new AttributeReader(attrs),
      };
    });
}

export interface ReadEnsembleOptions {
  /** The graph output served as the probability (the manifest's `model.probability_output`). */
  readonly probabilityOutput: string;
  /** Its column of the positive class (the manifest's `model.positive_class_index`). */
  readonly positiveClassIndex: number;
}

/**
 * Reads the tree ensemble that computes a model's probability output, as the score to
 * explain (the margin) and the link that maps it to the probability. Throws
 * `NotExplainableError` saying why when the model is not one tree ensemble whose output
 * reaches the probability unchanged (a linear model, a network, a pipeline with
 * preprocessing nodes, MIN/MAX aggregation, multi-class SOFTMAX).
 */
export function readTreeEnsemble(model: Uint8Array, opts: ReadEnsembleOptions): TreeEnsemble {
  const nodes = readNodes(model);
  const trees = nodes.filter((n) => n.opType === 'TreeEnsembleClassifier' || n.opType === 'TreeEnsembleRegressor');
  if (trees.length !== 1) {
    const ops = [...new Set(nodes.map((n) => n.opType))].join(', ');
    throw new NotExplainableError(`explanations need a model that is one ONNX tree ensemble (TreeEnsembleClassifier or TreeEnsembleRegressor); this model's operators are ${ops}`);
  }
  const ensemble = trees[0]!;
  const others = nodes.filter((n) => n !== ensemble && !PASS_THROUGH.has(n.opType));
  if (others.length > 0) {
    throw new NotExplainableError(`explanations need the tree ensemble's score to reach the output unchanged; this model also runs ${[...new Set(others.map((n) => n.opType))].join(', ')}`);
  }
  const reached = new Set(ensemble.outputs);
  for (let grew = true; grew; ) {
    grew = false;
    for (const n of nodes) {
      if (n !== ensemble && n.inputs.some((i) => reached.has(i)) && n.outputs.some((o) => !reached.has(o))) {
        n.outputs.forEach((o) => reached.add(o));
        grew = true;
      }
    }
  }
  if (!reached.has(opts.probabilityOutput)) {
    throw new NotExplainableError(`the probability output ${JSON.stringify(opts.probabilityOutput)} does not come from the tree ensemble`);
  }
  return flatten(ensemble.opType === 'TreeEnsembleClassifier' ? 'class' : 'target', ensemble.attrs, ensemble.opType, opts.positiveClassIndex);
}

function flatten(prefix: 'class' | 'target', a: AttributeReader, opType: string, positiveClassIndex: number): TreeEnsemble {
  const treeIds = a.ints('nodes_treeids');
  const nodeIds = a.ints('nodes_nodeids');
  const n = treeIds.length;
  const featureIds = a.ints('nodes_featureids');
  const values = a.floats('nodes_values');
  const modes = a.strings('nodes_modes');
  const trues = a.ints('nodes_truenodeids');
  const falses = a.ints('nodes_falsenodeids');
  const tracks = a.ints('nodes_missing_value_tracks_true');
  const hitrates = a.floats('nodes_hitrates');
  for (const [name, arr] of [['nodes_nodeids', nodeIds], ['nodes_featureids', featureIds], ['nodes_values', values], ['nodes_modes', modes], ['nodes_truenodeids', trues], ['nodes_falsenodeids', falses]] as const) {
    if (arr.length !== n) throw new NotExplainableError(`the tree ensemble's ${name} has ${arr.length} entries, nodes_treeids ${n}`);
  }

  // Which score is explained, and how it becomes the probability.
  const postTransform = a.string('post_transform', 'NONE');
  if (postTransform !== 'NONE' && postTransform !== 'LOGISTIC' && postTransform !== 'SOFTMAX') {
    throw new NotExplainableError(`post_transform ${postTransform} is not supported for explanations (NONE, LOGISTIC, or SOFTMAX on two classes)`);
  }
  const aggregate = a.string('aggregate_function', 'SUM');
  if (aggregate !== 'SUM' && aggregate !== 'AVERAGE') {
    throw new NotExplainableError(`aggregate_function ${aggregate} is not additive and cannot be explained`);
  }
  const weightTrees = a.ints(`${prefix}_treeids`);
  const weightNodes = a.ints(`${prefix}_nodeids`);
  const weightIds = a.ints(`${prefix}_ids`);
  const weights = a.floats(`${prefix}_weights`);
  const baseValues = a.floats('base_values');
  const classCount = prefix === 'class' ? Math.max(a.ints('classlabels_int64s').length, a.strings('classlabels_strings').length) : 1;
  const distinctIds = new Set(weightIds);
  /** weight multipliers per class id: the explained score is Σ coef[id] · weight. */
  const coef = new Map<number, number>();
  let base: number;
  if (prefix === 'target') {
    if (distinctIds.size > 1) throw new NotExplainableError('a TreeEnsembleRegressor with several targets cannot be explained as one score');
    coef.set([...distinctIds][0] ?? 0, 1);
    base = baseValues[0] ?? 0;
  } else if (classCount === 2 && distinctIds.size <= 1) {
    // onnxruntime's binary case: one class's weights give the score of the positive class (column 1).
    if (positiveClassIndex !== 1) throw new NotExplainableError('a binary classifier storing one class\'s weights is explained for the positive class in column 1 only (model.positive_class_index 1)');
    coef.set([...distinctIds][0] ?? 0, 1);
    base = baseValues.length === 2 ? baseValues[1]! : (baseValues[0] ?? 0);
  } else if (postTransform === 'SOFTMAX') {
    if (classCount !== 2) throw new NotExplainableError(`SOFTMAX over ${classCount} classes has no single margin to explain`);
    // softmax(s0, s1)[1] = logistic(s1 − s0)
    coef.set(positiveClassIndex, 1);
    coef.set(1 - positiveClassIndex, -1);
    base = (baseValues[positiveClassIndex] ?? 0) - (baseValues[1 - positiveClassIndex] ?? 0);
  } else {
    coef.set(positiveClassIndex, 1);
    base = baseValues[positiveClassIndex] ?? 0;
  }
  const link: Link = postTransform === 'NONE' ? 'identity' : 'logistic';

  // Global index of every (tree, node id).
  const treeOrder: number[] = [];
  const index = new Map<string, number>();
  const order = [...Array(n).keys()].sort((i, j) => treeIds[i]! - treeIds[j]! || nodeIds[i]! - nodeIds[j]!);
  order.forEach((src, dst) => index.set(`${treeIds[src]}:${nodeIds[src]}`, dst));
  const feature = new Int32Array(n);
  const threshold = new Float64Array(n);
  const mode = new Uint8Array(n);
  const trueChild = new Int32Array(n).fill(-1);
  const falseChild = new Int32Array(n).fill(-1);
  const missingTrue = new Uint8Array(n);
  const value = new Float64Array(n);
  const hit = hitrates.length === n ? new Float64Array(n) : undefined;
  const rootList: number[] = [];
  let width = 0;
  order.forEach((src, dst) => {
    const tree = treeIds[src]!;
    if (treeOrder.at(-1) !== tree) {
      treeOrder.push(tree);
      rootList.push(dst);
    }
    const m = MODES[modes[src]!];
    if (m === undefined) throw new NotExplainableError(`node mode ${JSON.stringify(modes[src])} is not an ONNX tree node mode`);
    mode[dst] = m;
    feature[dst] = featureIds[src]!;
    threshold[dst] = Math.fround(values[src]!);
    missingTrue[dst] = tracks[src] === 1 ? 1 : 0;
    if (hit !== undefined) hit[dst] = hitrates[src]!;
    if (m !== SplitMode.Leaf) {
      width = Math.max(width, featureIds[src]! + 1);
      const t = index.get(`${tree}:${trues[src]}`);
      const f = index.get(`${tree}:${falses[src]}`);
      if (t === undefined || f === undefined) throw new NotExplainableError(`tree ${tree} node ${nodeIds[src]} points at a node that does not exist`);
      trueChild[dst] = t;
      falseChild[dst] = f;
    }
  });
  for (let k = 0; k < weights.length; k++) {
    const c = coef.get(weightIds[k] ?? 0);
    if (c === undefined) continue;
    const at = index.get(`${weightTrees[k]}:${weightNodes[k]}`);
    if (at === undefined || mode[at] !== SplitMode.Leaf) throw new NotExplainableError(`a ${prefix} weight names tree ${weightTrees[k]} node ${weightNodes[k]}, which is not a leaf`);
    value[at]! += c * Math.fround(weights[k]!);
  }
  const roots = Int32Array.from(rootList);
  return {
    nodeCount: n,
    roots,
    feature,
    threshold,
    mode,
    trueChild,
    falseChild,
    missingTrue,
    value,
    hitrates: hit,
    base,
    average: aggregate === 'AVERAGE',
    link,
    maxDepth: maxDepthOf(roots, trueChild, falseChild),
    width,
    source: `${opType} (post_transform ${postTransform}, aggregate ${aggregate}, ${roots.length} trees, ${n} nodes${hit === undefined ? '' : ', nodes_hitrates'})`,
  };
}

function maxDepthOf(roots: Int32Array, trueChild: Int32Array, falseChild: Int32Array): number {
  let max = 0;
  const stack: number[] = [];
  for (const r of roots) {
    stack.push(r, 0);
    while (stack.length > 0) {
      const depth = stack.pop()!;
      const node = stack.pop()!;
      if (trueChild[node]! < 0) {
        max = Math.max(max, depth);
        continue;
      }
      stack.push(trueChild[node]!, depth + 1, falseChild[node]!, depth + 1);
    }
  }
  return max;
}

/** True when the row's value `x` (float32) at this node goes to the true branch, as onnxruntime routes it. */
export function goesTrue(mode: number, x: number, threshold: number, missingTrue: number): boolean {
  if (x !== x) {
    if (missingTrue === 1) return true;
  }
  switch (mode) {
    case SplitMode.Leq: return x <= threshold;
    case SplitMode.Lt: return x < threshold;
    case SplitMode.Gte: return x >= threshold;
    case SplitMode.Gt: return x > threshold;
    case SplitMode.Eq: return x === threshold;
    default: return x !== threshold;
  }
}
