import {
  ONNX, ONNX_FLOAT, ProtoError, bytesField, concatBytes, firstMessage, firstString, readFields, stringField, strings, varintField,
  type ProtoField,
} from './onnx-proto.js';

export type OutputKind = 'tensor' | 'sequence' | 'map' | 'unknown';

export interface GraphOutput {
  readonly name: string;
  readonly kind: OutputKind;
}

export interface GraphSummary {
  readonly inputs: readonly string[];
  readonly outputs: readonly GraphOutput[];
}

interface ParsedGraph {
  readonly modelFields: ProtoField[];
  readonly graphFields: ProtoField[];
}

function parseGraph(model: Uint8Array): ParsedGraph {
  const modelFields = readFields(model);
  const graph = modelFields.find((f) => f.no === ONNX.model.graph);
  if (graph === undefined) throw new ProtoError('the file has no graph (is it an ONNX model?)');
  return { modelFields, graphFields: readFields(graph.body) };
}

function outputKind(valueInfo: ProtoField[]): OutputKind {
  const type = firstMessage(valueInfo, ONNX.valueInfo.type);
  if (type === undefined) return 'unknown';
  if (type.some((f) => f.no === ONNX.type.tensor)) return 'tensor';
  if (type.some((f) => f.no === ONNX.type.sequence)) return 'sequence';
  if (type.some((f) => f.no === ONNX.type.map)) return 'map';
  return 'unknown';
}

const valueInfoName = (f: ProtoField): string => firstString(readFields(f.body), ONNX.valueInfo.name) ?? '';

/** The graph's input names and its outputs with their type kind (tensor, sequence, map). */
export function describeGraph(model: Uint8Array): GraphSummary {
  const { graphFields } = parseGraph(model);
  const inputs = graphFields.filter((f) => f.no === ONNX.graph.input).map(valueInfoName);
  const outputs = graphFields
    .filter((f) => f.no === ONNX.graph.output)
    .map((f) => {
      const vi = readFields(f.body);
      return { name: firstString(vi, ONNX.valueInfo.name) ?? '', kind: outputKind(vi) };
    });
  return { inputs, outputs };
}

export interface UnwrappedModel {
  /** The rewritten model bytes. */
  readonly model: Uint8Array;
  /** The float tensor output that replaced the ZipMap's output. */
  readonly output: string;
}

/**
 * skl2onnx and onnxmltools end a classifier's probability output in a ZipMap node
 * (`seq(map(int64, float))`), which onnxruntime-node cannot return. This removes the
 * ZipMap that produces `output` and makes the float[N, classes] tensor that fed it a graph
 * output in its place (same position); every other node and output is kept byte for byte.
 */
export function unwrapZipMap(model: Uint8Array, output: string): UnwrappedModel {
  const { modelFields, graphFields } = parseGraph(model);
  const nodeFields = graphFields.filter((f) => f.no === ONNX.graph.node);
  const zipMap = nodeFields.find((f) => {
    const node = readFields(f.body);
    return strings(node, ONNX.node.output).includes(output);
  });
  if (zipMap === undefined) throw new ProtoError(`no node produces the output "${output}"`);
  const node = readFields(zipMap.body);
  const opType = firstString(node, ONNX.node.opType);
  if (opType !== 'ZipMap') {
    throw new ProtoError(`the output "${output}" is produced by a ${opType ?? 'nameless'} node, not a ZipMap, and is not a tensor`);
  }
  const tensorName = strings(node, ONNX.node.input)[0];
  if (tensorName === undefined) throw new ProtoError(`the ZipMap producing "${output}" has no input`);

  // A float tensor of unknown shape: onnxruntime infers [N, classes] from the node.
  const tensorType = bytesField(ONNX.type.tensor, varintField(ONNX.tensorType.elemType, ONNX_FLOAT));
  const newOutput = bytesField(
    ONNX.graph.output,
    concatBytes([stringField(ONNX.valueInfo.name, tensorName), bytesField(ONNX.valueInfo.type, tensorType)]),
  );
  const newGraph = concatBytes(
    graphFields
      .filter((f) => f !== zipMap)
      .map((f) => (f.no === ONNX.graph.output && valueInfoName(f) === output ? newOutput : f.raw)),
  );
  const newModel = concatBytes(modelFields.map((f) => (f.no === ONNX.model.graph ? bytesField(ONNX.model.graph, newGraph) : f.raw)));
  return { model: newModel, output: tensorName };
}
