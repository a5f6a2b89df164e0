import ort from 'onnxruntime-node';
import { describeGraph, unwrapZipMap } from '../../src/model/onnx-graph.js';
import { ONNX, bytesField, concatBytes, firstString, readFields, stringField, varintField } from '../../src/model/onnx-proto.js';

/** AttributeProto: name 1, s 4, type 20 (STRING = 3). */
const postTransformNone = bytesField(5, concatBytes([stringField(1, 'post_transform'), bytesField(4, new TextEncoder().encode('NONE')), varintField(20, 3)]));

/**
 * The model with its tree ensemble's `post_transform` set to NONE, so onnxruntime returns
 * the margin (the score before the logistic link) in the probability column.
 */
export function withoutPostTransform(model: Uint8Array): Uint8Array {
  const modelFields = readFields(model);
  const rewriteNode = (body: Uint8Array): Uint8Array => {
    const fields = readFields(body);
    if (!(firstString(fields, ONNX.node.opType) ?? '').startsWith('TreeEnsemble')) return body;
    const kept = fields.filter((f) => !(f.no === 5 && firstString(readFields(f.body), 1) === 'post_transform'));
    return concatBytes([...kept.map((f) => f.raw), postTransformNone]);
  };
  const graph = modelFields.find((f) => f.no === ONNX.model.graph)!;
  const newGraph = concatBytes(readFields(graph.body).map((f) => (f.no === ONNX.graph.node ? bytesField(ONNX.graph.node, rewriteNode(f.body)) : f.raw)));
  return concatBytes(modelFields.map((f) => (f.no === ONNX.model.graph ? bytesField(ONNX.model.graph, newGraph) : f.raw)));
}

/** The margins onnxruntime computes for `rows` (float32, row-major), read from column `column` of `output` (a ZipMap output is unwrapped first). */
export async function onnxMargins(model: Uint8Array, input: string, output: string, rows: Float32Array, width: number, column = 1): Promise<Float64Array> {
  let bytes = withoutPostTransform(model);
  const out = describeGraph(bytes).outputs.find((o) => o.name === output);
  if (out !== undefined && out.kind !== 'tensor') ({ model: bytes, output } = unwrapZipMap(bytes, output));
  const session = await ort.InferenceSession.create(bytes);
  try {
    const count = rows.length / width;
    const result = await session.run({ [input]: new ort.Tensor('float32', rows, [count, width]) }, [output]);
    const t = result[output]!;
    const cols = t.dims.length === 2 ? t.dims[1]! : 1;
    const data = t.data as Float32Array;
    return Float64Array.from({ length: count }, (_, i) => data[i * cols + column]!);
  } finally {
    await session.release();
  }
}
